// grbench site: sort a board by any column, filter by method family, switch seen/unseen queries.
// Reads only data-* attributes and text the generator wrote; inserts no HTML.
"use strict";

function sortValue(cell, kind) {
  if (kind === "num") {
    const raw = cell.getAttribute("data-sort");
    return raw === null || raw === "" ? null : Number(raw);
  }
  return cell.textContent.trim().toLowerCase();
}

function sortTable(table, column, kind, th) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const descending = th.getAttribute("aria-sort") !== "descending";
  rows.sort(function (a, b) {
    const x = sortValue(a.cells[column], kind);
    const y = sortValue(b.cells[column], kind);
    if (x === null && y === null) return 0;
    if (x === null) return 1;          // missing values last in either direction
    if (y === null) return -1;
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
  for (const header of table.tHead.rows[0].cells) header.setAttribute("aria-sort", "none");
  th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  for (const row of rows) body.appendChild(row);
}

function applyFilters() {
  const checked = new Set(Array.from(document.querySelectorAll('input[name="family"]'))
    .filter(function (box) { return box.checked; }).map(function (box) { return box.value; }));
  for (const row of document.querySelectorAll("table.board tbody tr")) {
    row.hidden = !checked.has(row.getAttribute("data-family"));
  }
  const view = document.querySelector('input[name="view"]:checked');
  for (const section of document.querySelectorAll("section.view")) {
    section.hidden = view !== null && section.getAttribute("data-view") !== view.value;
  }
}

document.addEventListener("DOMContentLoaded", function () {
  for (const table of document.querySelectorAll("table.board")) {
    const headers = table.tHead.rows[0].cells;
    for (let i = 0; i < headers.length; i++) {
      const button = headers[i].querySelector("button.sort");
      if (button === null) continue;
      button.addEventListener("click", function () {
        sortTable(table, i, button.getAttribute("data-kind"), headers[i]);
      });
    }
  }
  for (const input of document.querySelectorAll('input[name="family"], input[name="view"]')) {
    input.addEventListener("change", applyFilters);
  }
  applyFilters();
});
