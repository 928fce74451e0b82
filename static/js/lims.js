// Small behaviour shared by every page. No framework: beamline networks are often closed.
"use strict";
// Forms that undo something ask first: <form data-confirm="Cancel this shipment?">.
document.addEventListener("submit", function (event) {
  const message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
