// The sample changer page: a keyboard-wedge scanner types a puck's code + Enter, then a position's label
// + Enter. The form works without this script (the server asks for the position after a puck alone);
// the script only keeps the focus where the next scan goes and chains the two scans into one submission.
"use strict";
(function () {
  const form = document.getElementById("assign-form");
  if (!form) return;
  const puck = form.elements.puck;
  const position = form.elements.position;
  const slot = form.elements.slot;
  const feedback = document.getElementById("assign-feedback");
  const prefix = form.dataset.beamline.toUpperCase() + ":";
  const ADDRESS = /^\d{1,3}(:\d{1,3})?$/;

  // The field the next scan goes into: the position once a puck is in, else the puck. Browsers ignore
  // autofocus when the address has a #fragment (after an assignment: #changer), so focus it here,
  // without scrolling away from the picture.
  let current = form.querySelector("[autofocus]") === position ? position : puck;
  current.focus({ preventScroll: true });

  const isPosition = (text) => text.toUpperCase().startsWith(prefix) || ADDRESS.test(text);
  function say(text) {
    feedback.textContent = text;
    feedback.dataset.state = "next";
  }
  function focusOn(field) {
    current = field;
    field.focus();
    field.select();
  }

  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || (event.target !== puck && event.target !== position)) return;
    const scanned = event.target.value.trim();
    if (event.target === puck && scanned && scanned.toUpperCase().startsWith(prefix)) {
      // A position scanned first: keep it and wait for the puck.
      event.preventDefault();
      position.value = scanned;
      puck.value = "";
      say("Position " + scanned + ": now scan the puck.");
      focusOn(puck);
      return;
    }
    if (event.target === position && scanned && !isPosition(scanned)) {
      // Not a position: another puck. It replaces the first one.
      puck.value = scanned;
      position.value = "";
    }
    if (!puck.value.trim()) {
      event.preventDefault();
      say("Scan a puck first.");
      focusOn(puck);
      return;
    }
    if (!position.value.trim() && !slot.value) {
      event.preventDefault();
      say("Puck " + puck.value.trim() + ": now scan the position's label.");
      focusOn(position);
      return;
    }
    // Both known: the form submits as it would without this script.
    feedback.textContent = "Putting " + puck.value.trim() + " in…";
  });

  // A click on a tile chooses its position; with a puck already scanned, that is the whole assignment.
  document.addEventListener("click", (event) => {
    const pick = event.target.closest("[data-pick]");
    if (!pick) return;
    event.preventDefault();
    slot.value = pick.dataset.pick;
    position.value = "";
    if (puck.value.trim()) {
      form.requestSubmit();
    } else {
      say("Position " + slot.options[slot.selectedIndex].text + " chosen: now scan the puck.");
      focusOn(puck);
    }
  });

  // Keep the focus on the scan field: a click on the page (not on a control or a link) gives it back.
  const control = (el) => el && el.closest && el.closest("a, button, select, textarea, input, summary, label");
  for (const field of [puck, position]) {
    field.addEventListener("focus", () => (current = field));
    field.addEventListener("blur", () =>
      setTimeout(() => {
        if (!control(document.activeElement)) current.focus();
      }, 0),
    );
  }
  document.addEventListener("click", (event) => {
    if (!control(event.target)) setTimeout(() => current.focus(), 0);
  });
})();
