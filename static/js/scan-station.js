// The scan station: one input that keeps the focus, for a keyboard-wedge scanner (it types the code and
// presses Enter) or a tablet. Every scan goes through the scan API, so the page obeys the same rules as a
// handheld scanner; whatever the API answers, its message is shown. No framework: closed networks.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("scan-config").textContent);
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const $ = (id) => document.getElementById(id);
  const input = $("scan-input");
  const feedback = $("scan-feedback");
  const card = $("scan-card");
  const nextButton = $("next-action");
  const dispatchForm = $("dispatch-form");
  const reasonForm = $("reason-form");
  const unloadOffer = $("unload-offer");
  const noteForm = $("note-form");
  const recentList = $("recent-scans");
  const soundBox = $("scan-sound");
  const SOUND_KEY = "scanStation.sound";

  let current = null; // {dewar, nextAction}
  let pendingReceive = null; // the scan body waiting for a "not sent" reason
  let pendingDispatch = null; // the dispatch refused because pucks are in a changer, to unload and redo
  let recent = [];

  // ---- focus: the scanner types wherever the focus is, so it must always be the scan input, except
  // while a small form (dispatch, reason, note) is being filled in.
  function inSubform(el) {
    return el && el.closest && el.closest(".scan-subform, .scan-more, .scan-toggle");
  }
  function refocus() {
    if (!inSubform(document.activeElement)) input.focus();
  }
  input.addEventListener("blur", () => setTimeout(refocus, 0));
  document.addEventListener("click", (event) => {
    if (!inSubform(event.target) && !event.target.closest("a")) setTimeout(refocus, 0);
  });

  // ---- sound: optional, remembered in this browser.
  let audio = null;
  soundBox.checked = localStorage.getItem(SOUND_KEY) === "on";
  soundBox.addEventListener("change", () => {
    localStorage.setItem(SOUND_KEY, soundBox.checked ? "on" : "off");
    if (soundBox.checked) beep("ok");
    setTimeout(() => input.focus(), 0);
  });
  function beep(kind) {
    if (!soundBox.checked || !(window.AudioContext || window.webkitAudioContext)) return;
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const tones = { ok: [[880, 0.12]], refused: [[220, 0.35]], unknown: [[440, 0.1], [440, 0.1]] }[kind] || [];
    let at = audio.currentTime;
    for (const [frequency, length] of tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = frequency;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + length);
      at += length + 0.08;
    }
  }

  // ---- feedback: green success, red refusal, amber unknown code, neutral information.
  function say(state, message) {
    feedback.dataset.state = state;
    feedback.textContent = message;
    if (state === "ok" || state === "refused" || state === "unknown") beep(state);
  }

  async function call(url, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json", "X-CSRFToken": csrf }, opts.headers);
    let response;
    try {
      response = await fetch(url, opts);
    } catch (error) {
      return { status: 0, data: { detail: "The server cannot be reached: " + error.message, code: "network" } };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = { detail: "The server answered " + response.status + " without a readable message.", code: "error" };
    }
    return { status: response.status, data: data || {} };
  }

  function postScan(body) {
    return call(config.scanUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  function fieldErrors(data) {
    const errors = data.errors && typeof data.errors === "object" ? data.errors : {};
    return Object.values(errors).flat().join(" ");
  }

  // ---- the dewar card
  function text(id, value) {
    $(id).textContent = value === null || value === undefined || value === "" ? "—" : value;
  }
  // Times as the rest of the site writes them: the facility's time zone, "2026-12-06 14:05".
  const clock = new Intl.DateTimeFormat("sv-SE", {
    timeZone: config.timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  const timeOnly = new Intl.DateTimeFormat("sv-SE", { timeZone: config.timeZone, hour: "2-digit", minute: "2-digit" });
  function when(iso) {
    return iso ? clock.format(new Date(iso)) : "";
  }
  function showCard(dewar, nextAction, nextLabel) {
    current = { dewar: dewar, nextAction: nextAction };
    card.hidden = false;
    text("card-barcode", dewar.barcode);
    text("card-name", dewar.name);
    text("card-status", dewar.status_display);
    $("card-status").dataset.status = dewar.status;
    text("card-proposal", dewar.proposal.name + (dewar.proposal.title ? " · " + dewar.proposal.title : ""));
    text("card-shipment", dewar.shipment.name);
    text("card-owner", dewar.owner);
    text("card-safety", dewar.safety_level_display || dewar.safety_level);
    $("card-safety").dataset.level = dewar.safety_level;
    text("card-delivery", dewar.delivery_location && dewar.delivery_location.name);
    text("card-location", dewar.location && dewar.location.name);
    text("card-session", dewar.session &&
      dewar.session.beamline + ", " + when(dewar.session.start) + " – " + when(dewar.session.end));
    text("card-expected", dewar.shipment.expected_arrival);
    $("card-link").href = dewar.url;
    nextButton.hidden = !nextAction;
    nextButton.dataset.action = nextAction || "";
    nextButton.textContent = nextAction ? nextLabel + " (Enter)" : "";
    hideSubforms();
  }
  function disarm() {
    current = null;
    card.hidden = true;
    nextButton.hidden = true;
    nextButton.dataset.action = "";
    hideSubforms();
  }
  function hideSubforms() {
    dispatchForm.hidden = true;
    reasonForm.hidden = true;
    unloadOffer.hidden = true;
    pendingReceive = null;
    pendingDispatch = null;
  }

  // ---- the list of recent scans
  function renderRecent() {
    recentList.textContent = "";
    for (const event of recent.slice(0, config.recentLimit)) {
      const li = document.createElement("li");
      const link = document.createElement("a");
      link.href = event.dewar_url;
      link.textContent = event.dewar_barcode;
      link.className = "mono";
      li.append(timeOnly.format(new Date(event.at)) + " ", link,
        " " + event.status_display + (event.location ? " · " + event.location.name : "") +
        (event.note ? " · " + event.note : ""));
      li.dataset.kind = event.kind;
      recentList.append(li);
    }
    $("recent-empty").hidden = recent.length > 0;
  }
  function remember(event, barcode, url) {
    if (!event) return;
    recent.unshift(Object.assign({ dewar_barcode: barcode, dewar_url: url,
      status_display: event.status_display || event.status.replace(/_/g, " ") }, event));
    recent = recent.slice(0, config.recentLimit);
    renderRecent();
  }

  // ---- scanning
  async function scanned(raw) {
    const code = raw.trim();
    if (!code) {
      if (current && current.nextAction) perform(current.nextAction);
      return;
    }
    say("busy", "Looking up " + code + "…");
    const { status, data } = await call(config.lookupUrl + "?barcode=" + encodeURIComponent(code));
    if (status === 200 && data.kind === "dewar") {
      showCard(data.dewar, data.next_action, data.next_action_label);
      say("info", data.dewar.barcode + ": " + data.dewar.status_display +
        (data.next_action ? ". Enter: " + data.next_action_label.toLowerCase() + ", or scan a location." : "."));
    } else if (status === 200 && data.kind === "location") {
      if (!current) {
        say("unknown", data.location.name + " is a location: scan a dewar first.");
        return;
      }
      await submit({ barcode: current.dewar.barcode, location: data.location.barcode });
    } else if (status === 404 || status === 400) {
      // An unknown code disarms the dewar scanned before: Enter must not then act on it.
      disarm();
      say("unknown", (data.detail || "Unknown code " + code + ".") + " Scan a dewar.");
    } else {
      say("refused", data.detail || "The scan failed (" + status + ").");
    }
  }

  function perform(action) {
    if (!current) return;
    if (action === "dispatch") {
      hideSubforms();
      dispatchForm.hidden = false;
      say("info", "Dispatch " + current.dewar.barcode + ": give the courier and the tracking number.");
      $("dispatch-courier").focus();
      return;
    }
    submit({ barcode: current.dewar.barcode, action: action });
  }

  async function submit(body) {
    say("busy", "Recording…");
    const { status, data } = await postScan(body);
    if (status === 201 || status === 200) {
      showCard(data.dewar, data.next_action, data.next_action_label);
      say(data.recorded ? "ok" : "info", data.message);
      remember(data.event, data.dewar.barcode, data.dewar.url);
    } else if (status === 409 && data.code === "not_sent") {
      hideSubforms();
      pendingReceive = Object.assign({ action: "receive" }, body);
      reasonForm.hidden = false;
      say("refused", data.detail);
      $("reason-text").focus();
      return;
    } else if (status === 409 && data.code === "pucks_in_changer") {
      hideSubforms();
      pendingDispatch = Object.assign({}, body, { action: "unload_dispatch" });
      unloadOffer.hidden = false;
      say("refused", data.detail);
      $("unload-dispatch").focus();
      return;
    } else if (status === 404 || (status === 400 && !body.action)) {
      say("unknown", data.detail || "Unknown code.");
    } else {
      const more = fieldErrors(data);
      say("refused", (data.detail || "Refused (" + status + ").") + (more && status === 400 ? " " + more : ""));
    }
    refocus();
  }

  document.getElementById("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = input.value;
    input.value = "";
    scanned(raw);
  });
  nextButton.addEventListener("click", () => perform(nextButton.dataset.action));
  dispatchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {
      barcode: current.dewar.barcode,
      action: "dispatch",
      courier: $("dispatch-courier").value,
      tracking_number: $("dispatch-tracking").value,
    };
    dispatchForm.hidden = true;
    input.focus();
    submit(body);
  });
  $("unload-dispatch").addEventListener("click", () => {
    const body = pendingDispatch;
    hideSubforms();
    input.focus();
    if (body) submit(body);
  });
  reasonForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = Object.assign({}, pendingReceive, { confirm_reason: $("reason-text").value });
    reasonForm.hidden = true;
    $("reason-text").value = "";
    input.focus();
    submit(body);
  });
  noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!current) return;
    const [kind, incident] = $("note-kind").value.split(":");
    const body = { barcode: current.dewar.barcode, action: kind, note: $("note-text").value };
    if (incident) body.incident = incident;
    $("note-text").value = "";
    input.focus();
    submit(body);
  });
  for (const button of document.querySelectorAll("[data-cancel]")) {
    button.addEventListener("click", () => {
      hideSubforms();
      say("info", "Cancelled.");
      input.focus();
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && (!dispatchForm.hidden || !reasonForm.hidden || !unloadOffer.hidden)) {
      hideSubforms();
      say("info", "Cancelled.");
      input.focus();
    }
  });

  // ---- a photo of a code: decoded by the server, then fed in as if scanned.
  const photo = $("scan-photo");
  $("scan-photo-button").addEventListener("click", () => photo.click());
  photo.addEventListener("change", async () => {
    const file = photo.files[0];
    photo.value = "";
    if (!file) return;
    say("busy", "Reading the photo…");
    const form = new FormData();
    form.append("image", file);
    const { status, data } = await call(config.decodeUrl, { method: "POST", body: form });
    input.focus();
    if (status !== 200) {
      say("unknown", data.detail || "The photo could not be read.");
      return;
    }
    if (!data.codes.length) {
      say("unknown", "No code found in the photo.");
      return;
    }
    // Codes in reading order: a dewar first, then a location moves it, as with the scanner.
    for (const found of data.codes) await scanned(found.text);
  });

  // ---- ready: focus only now that Enter is handled here (the template sets no autofocus).
  input.focus();
  document.body.dataset.scanReady = "true";

  // ---- on load: the last scans of this user, from the server.
  (async function () {
    const { status, data } = await call(config.scanUrl);
    if (status === 200 && Array.isArray(data)) {
      recent = data;
      renderRecent();
    }
    refocus();
  })();
})();
