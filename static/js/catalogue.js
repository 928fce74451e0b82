// The catalogue page: copy the view's link, tick every row of the page. No framework.
"use strict";
(function () {
  const copy = document.querySelector("[data-copy]");
  if (copy) {
    copy.addEventListener("click", function () {
      const field = document.querySelector(copy.getAttribute("data-copy"));
      const done = function () {
        copy.textContent = "Copied";
        window.setTimeout(function () { copy.textContent = "Copy link"; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
      } else {
        // Plain http on a beamline network: no clipboard API; select the link and use the old command.
        field.select();
        try { if (document.execCommand("copy")) done(); } catch (e) { /* the link stays selected */ }
      }
    });
  }
  const all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = all.checked; });
    });
  }
})();
