// Small behaviour shared by every page. No framework: beamline networks are often closed.
"use strict";
// Forms that undo something ask first: <form data-confirm="Cancel this shipment?">.
document.addEventListener("submit", function (event) {
  const message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});

// A wide table scrolls sideways inside its .table-wrap: make that box reachable by keyboard (Tab, then the
// arrow keys scroll it) and name it for screen readers, wherever it is wider than the screen.
function markScrollingTables() {
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
    if (scrolls && !wrap.hasAttribute("tabindex")) {
      const heading = wrap.closest("section, .card")?.querySelector("h2, h3");
      const caption = wrap.querySelector("caption");
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", (caption || heading)?.textContent.trim() || "Table");
      wrap.dataset.scrolls = "";
    } else if (!scrolls && wrap.dataset.scrolls !== undefined) {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      delete wrap.dataset.scrolls;
    }
  }
}
markScrollingTables();
window.addEventListener("resize", markScrollingTables);

// A thumbnail whose file has gone from the data root: hide it rather than show a broken picture.
document.addEventListener(
  "error",
  function (event) {
    const target = event.target;
    if (target instanceof HTMLImageElement && target.classList.contains("thumb")) target.hidden = true;
  },
  true,
);
