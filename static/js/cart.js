// The download cart: downloads being built show their progress, read from their status address every two
// seconds; when one is ready (or failed) the page reloads to show the link (or the error). Without this
// script the page shows the progress of the moment and a reload shows more.
"use strict";
(function () {
  const rows = Array.from(document.querySelectorAll("tr.download[data-status-url]"));
  if (!rows.length) return;
  const INTERVAL = 2000;

  function show(row, state) {
    const bar = row.querySelector("progress");
    bar.max = state.files_total || 1;
    bar.value = state.files_done;
    row.querySelector(".download-count").textContent = state.files_done + " / " + state.files_total;
    row.querySelector(".download-status").textContent = state.status_display;
    row.dataset.status = state.status;
  }

  function poll() {
    const pending = rows.filter((row) => row.dataset.status === "queued" || row.dataset.status === "building");
    if (!pending.length) return;
    Promise.all(
      pending.map((row) =>
        fetch(row.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then((response) => (response.ok ? response.json() : null))
          .then((state) => {
            if (!state) return false;
            show(row, state);
            return state.status === "ready" || state.status === "failed";
          })
          .catch(() => false),
      ),
    ).then((finished) => {
      if (finished.some(Boolean)) window.location.reload();
      else window.setTimeout(poll, INTERVAL);
    });
  }
  window.setTimeout(poll, INTERVAL);
})();
