// The shipment form: add and remove dewars and pucks, draw a puck's grid when its type or capacity
// changes, open a row's diffraction plan, show the "new card" fields when a new lab contact is chosen.
//
// Inputs are named "d-<dewar>-c-<puck>-s-<position>-<field>" (see shipping/forms.py). New blocks are
// cloned from the <template>s of the page with "__D__", "__C__" and "__S__" replaced; an index is never
// reused within the page, so the server can tell the blocks apart even after some were removed.
"use strict";
(function () {
  const form = document.getElementById("shipment-form");
  if (!form) return;
  const dewars = document.getElementById("dewars");
  const CAPACITY = { spine: 10, unipuck: 16 };

  function fromTemplate(id, replacements) {
    let html = document.getElementById(id).innerHTML;
    for (const [key, value] of Object.entries(replacements)) html = html.split(key).join(value);
    const holder = document.createElement(id === "tpl-row" ? "table" : "div");
    holder.innerHTML = id === "tpl-row" ? html.replace(/^\s*<table>|<\/table>\s*$/g, "") : html;
    return holder.querySelector(id === "tpl-row" ? "tbody" : "[data-dewar], [data-puck]");
  }

  function nextIndex(blocks, pattern) {
    let max = -1;
    blocks.forEach(function (block) {
      const match = pattern.exec(block);
      if (match) max = Math.max(max, parseInt(match[1], 10));
    });
    return max + 1;
  }

  function dewarIndex(dewar) {
    return /^d-(\d+)-$/.exec(dewar.dataset.dewar)[1];
  }

  function hasValues(block) {
    return Array.from(block.querySelectorAll("input[type=text], input[type=date], textarea")).some(function (el) {
      return el.value.trim() !== "" && !el.readOnly;
    });
  }

  function renumber() {
    dewars.querySelectorAll("[data-dewar]").forEach(function (dewar, i) {
      dewar.querySelector("[data-dewar-number]").textContent = String(i + 1);
      dewar.querySelectorAll("[data-puck]").forEach(function (puck, j) {
        puck.querySelector("[data-puck-number]").textContent = String(j + 1);
      });
    });
  }

  function addDewar() {
    const used = Array.from(dewars.querySelectorAll("[data-dewar]")).map((d) => d.dataset.dewar);
    const index = Math.max(nextIndex(used, /^d-(\d+)-$/), parseInt(dewars.dataset.next || "0", 10));
    dewars.dataset.next = String(index + 1);
    const dewar = fromTemplate("tpl-dewar", { __D__: String(index) });
    dewars.appendChild(dewar);
    addPuck(dewar);
    renumber();
    dewar.querySelector("input[type=text]").focus();
  }

  function addPuck(dewar) {
    const d = dewarIndex(dewar);
    const list = dewar.querySelector(".pucks");
    const used = Array.from(list.querySelectorAll("[data-puck]")).map((p) => p.dataset.puck);
    const index = Math.max(nextIndex(used, /-c-(\d+)-$/), parseInt(list.dataset.next || "0", 10));
    list.dataset.next = String(index + 1);
    const puck = fromTemplate("tpl-puck", { __D__: d, __C__: String(index) });
    list.appendChild(puck);
    syncCapacity(puck);
    renumber();
    return puck;
  }

  function field(block, name) {
    return block.querySelector('[name="' + block.dataset.puck + name + '"]');
  }

  // A SPINE puck has 10 positions and a UniPuck 16; "other" takes the capacity the user types.
  function syncCapacity(puck) {
    const type = field(puck, "container_type");
    const capacity = field(puck, "capacity");
    const fixed = CAPACITY[type.value];
    if (fixed) capacity.value = String(fixed);
    else if (capacity.readOnly) capacity.value = "";
    capacity.readOnly = Boolean(fixed);
    drawRows(puck);
  }

  // Rows 1..capacity exist; rows beyond it are dropped unless they hold something (the server then says
  // that the position does not exist, rather than the page silently losing a sample).
  function drawRows(puck) {
    const table = puck.querySelector("table.grid");
    const value = parseInt(field(puck, "capacity").value, 10);
    const capacity = Number.isFinite(value) && value > 0 ? Math.min(value, 100) : 0;
    if (!capacity) return;
    const rows = new Map();
    table.querySelectorAll("tbody.pos").forEach(function (row) {
      rows.set(parseInt(row.dataset.position, 10), row);
    });
    const match = /^d-(\d+)-c-(\d+)-$/.exec(puck.dataset.puck);
    for (let position = 1; position <= capacity; position++) {
      if (rows.has(position)) continue;
      const row = fromTemplate("tpl-row", { __D__: match[1], __C__: match[2], __S__: String(position) });
      rows.set(position, row);
    }
    Array.from(rows.keys())
      .sort((a, b) => a - b)
      .forEach(function (position) {
        const row = rows.get(position);
        if (position > capacity && !hasValues(row)) row.remove();
        else table.appendChild(row);
      });
  }

  function toggleMore(button) {
    const more = button.closest("tbody").querySelector(".more-row");
    more.hidden = !more.hidden;
    button.setAttribute("aria-expanded", String(!more.hidden));
  }

  function showCard(select) {
    const panel = form.querySelector('[data-card-for="' + select.name + '"]');
    if (panel) panel.hidden = select.value !== "new";
  }

  document.getElementById("add-dewar").addEventListener("click", addDewar);

  form.addEventListener("click", function (event) {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.hasAttribute("data-add-puck")) {
      const puck = addPuck(target.closest("[data-dewar]"));
      field(puck, "name").focus();
    } else if (target.hasAttribute("data-more")) {
      toggleMore(target);
    } else if (target.dataset.remove) {
      const block = target.closest(target.dataset.remove === "dewar" ? "[data-dewar]" : "[data-puck]");
      const what = target.dataset.remove === "dewar" ? "this dewar and its pucks" : "this puck and its samples";
      if (hasValues(block) && !window.confirm("Remove " + what + "? It is deleted when you save.")) return;
      block.remove();
      renumber();
    }
  });

  form.addEventListener("change", function (event) {
    const target = event.target;
    const puck = target.closest("[data-puck]");
    if (puck && target.name === puck.dataset.puck + "container_type") syncCapacity(puck);
    else if (puck && target.name === puck.dataset.puck + "capacity") drawRows(puck);
    else if (target.name === "sending_contact" || target.name === "return_contact") showCard(target);
  });

  // Empty positions are not sent: the server skips them anyway, and a big shipment stays a small POST.
  form.addEventListener("submit", function () {
    form.querySelectorAll("tbody.pos").forEach(function (row) {
      const filled = Array.from(row.querySelectorAll("input, select")).some(function (el) {
        // A select still showing what a new position starts with (data-idle) is not a value either.
        if (el.tagName === "SELECT") return el.value !== "Default" && el.value !== "" && el.value !== el.dataset.idle;
        return el.value.trim() !== "";
      });
      if (!filled) row.querySelectorAll("input, select").forEach((el) => (el.disabled = true));
    });
  });

  form.querySelectorAll("[data-puck]").forEach(function (puck) {
    field(puck, "capacity").readOnly = Boolean(CAPACITY[field(puck, "container_type").value]);
  });
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
