// The buyers' page: upload the form, follow the job, then sort and filter the scored table.
// Cells are written with textContent only: a supplier named "<script>" stays text.
"use strict";

const POLL_MS = 400;
const DOWNLOAD_LABELS = {
  "scores.csv": "Scores (CSV)",
  "scores.xlsx": "Scores (XLSX)",
  "products.csv": "Products (CSV)",
  "products.xlsx": "Products (XLSX)",
  "report.html": "HTML report",
};
const table = { columns: [], numeric: new Set(), decimal: new Set(), rows: [], order: [], sortColumn: null, descending: false };

function element(id) { return document.getElementById(id); }

function showError(message) {
  const box = element("error");
  box.textContent = message;
  box.hidden = false;
}

async function answerOf(response) {
  try { return await response.json(); } catch (error) { return { error: `${response.status} ${response.statusText}` }; }
}

async function submitForm(event) {
  event.preventDefault();
  const form = event.target;
  element("error").hidden = true;
  for (const id of ["progress", "results", "table-section"]) element(id).hidden = true;
  element("stages").replaceChildren();
  element("score-button").disabled = true;
  try {
    const response = await fetch("/jobs", { method: "POST", body: new FormData(form) });
    const answer = await answerOf(response);
    if (!response.ok) {
      showError(answer.error);
      element("score-button").disabled = false;
      return;
    }
    element("progress").hidden = false;
    follow(answer.status);
  } catch (error) {
    showError(`the server could not be reached: ${error}`);
    element("score-button").disabled = false;
  }
}

async function follow(statusUrl) {
  let tableLoaded = false;
  for (;;) {
    const response = await fetch(statusUrl);
    const job = await answerOf(response);
    if (job.stages) showStages(job);
    if (job.state === "failed" || !response.ok) {
      showError(job.error);
      element("score-button").disabled = false;
      return;
    }
    if (job.table && !tableLoaded) {
      tableLoaded = true;
      await loadTable(`${statusUrl}/table`);
    }
    if (job.state === "done") {
      showResults(job, statusUrl);
      element("score-button").disabled = false;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function showStages(job) {
  const list = element("stages");
  list.replaceChildren(...job.stages.map((text, index) => {
    const item = document.createElement("li");
    item.textContent = text;
    const last = index === job.stages.length - 1;
    item.className = last && job.state !== "done" ? "running" : "done";
    return item;
  }));
  if (job.progress) {
    element("rows-progress").max = Math.max(job.progress.total, 1);
    element("rows-progress").value = job.progress.done;
    element("rows-text").textContent = `${job.progress.done.toLocaleString()} of ${job.progress.total.toLocaleString()} rows scored`;
  }
}

function showResults(job, statusUrl) {
  const summary = job.summary;
  let text = `${summary.rows} rows: ${summary.scored} scored, ${summary.rejected} rejected; ` +
    `as of ${summary.as_of}; model version ${summary.model_version}; reference ${summary.reference_fingerprint}.`;
  if (summary.products) text += ` BOM: ${summary.products}.`;
  element("summary").textContent = text;
  const notes = [...job.notes, ...(summary.problems || [])];
  element("notes").replaceChildren(...notes.map((note) => {
    const item = document.createElement("li");
    item.textContent = note;
    return item;
  }));
  element("downloads").replaceChildren(...job.files.map((name) => {
    const link = document.createElement("a");
    link.href = `${statusUrl}/files/${name}`;
    link.id = `download-${name.replace(".", "-")}`;
    link.textContent = DOWNLOAD_LABELS[name] || name;
    if (name.endsWith(".html")) link.target = "_blank";
    else link.setAttribute("download", "");
    return link;
  }));
  element("results").hidden = false;
}

async function loadTable(url) {
  const response = await fetch(url);
  const answer = await answerOf(response);
  if (!response.ok) { showError(answer.error); return; }
  table.columns = ["#", ...answer.columns];
  table.numeric = new Set(["#", ...answer.numeric]);
  table.decimal = new Set(answer.decimal);
  table.rows = answer.rows.map((cells, index) => [answer.row_numbers[index], ...cells]);
  table.sortColumn = null;
  table.total = answer.total;
  const head = document.createElement("tr");
  table.columns.forEach((name, index) => {
    const cell = document.createElement("th");
    cell.textContent = name;
    cell.dataset.column = name;
    cell.addEventListener("click", () => sortBy(index));
    head.appendChild(cell);
  });
  element("scores-table").tHead.replaceChildren(head);
  render();
  element("table-section").hidden = false;
}

function compare(left, right, numeric) {
  // Empty cells last, whichever the direction.
  if (left === null || left === "") return right === null || right === "" ? 0 : 1;
  if (right === null || right === "") return -1;
  return numeric ? left - right : String(left).localeCompare(String(right));
}

function sortBy(index) {
  const descending = table.sortColumn === index ? !table.descending : table.numeric.has(table.columns[index]);
  table.sortColumn = index;
  table.descending = descending;
  const numeric = table.numeric.has(table.columns[index]);
  // Array.prototype.sort is stable: equal cells keep their current order.
  table.rows.sort((left, right) => {
    const order = compare(left[index], right[index], numeric);
    const empty = left[index] === null || left[index] === "" || right[index] === null || right[index] === "";
    return descending && !empty ? -order : order;
  });
  for (const cell of element("scores-table").tHead.rows[0].cells) cell.removeAttribute("aria-sort");
  element("scores-table").tHead.rows[0].cells[index].setAttribute("aria-sort", descending ? "descending" : "ascending");
  render();
}

function shown(value, decimal) {
  if (value === null) return "";
  return decimal ? value.toFixed(3) : String(value);
}

function render() {
  const text = element("filter-text").value.trim().toLowerCase();
  const band = element("filter-band").value;
  const status = element("filter-status").value;
  const bandAt = table.columns.indexOf("risk_band");
  const statusAt = table.columns.indexOf("status");
  const visible = table.rows.filter((row) =>
    (!band || row[bandAt] === band) &&
    (!status || row[statusAt] === status) &&
    (!text || row.some((value) => value !== null && String(value).toLowerCase().includes(text))));
  const body = document.createElement("tbody");
  for (const row of visible) {
    const line = document.createElement("tr");
    if (statusAt >= 0 && row[statusAt] !== "scored") line.className = "rejected";
    row.forEach((value, index) => {
      const cell = document.createElement("td");
      const name = table.columns[index];
      const numeric = table.numeric.has(name);
      cell.textContent = shown(value, table.decimal.has(name));
      if (numeric) cell.className = "number";
      if (name === "drivers") cell.className = "drivers";
      if (name === "risk_band" && value) cell.className = `band-${value}`;
      line.appendChild(cell);
    });
    body.appendChild(line);
  }
  element("scores-table").tBodies[0].replaceWith(body);
  const of = table.total > table.rows.length
    ? `${table.rows.length.toLocaleString()} riskiest of ${table.total.toLocaleString()} rows (download for all)`
    : `${table.rows.length.toLocaleString()} rows`;
  element("table-count").textContent = `showing ${visible.length.toLocaleString()} of ${of}`;
}

document.addEventListener("DOMContentLoaded", () => {
  element("as_of").value = new Date().toISOString().slice(0, 10);
  element("upload-form").addEventListener("submit", submitForm);
  for (const id of ["filter-text", "filter-band", "filter-status"]) {
    element(id).addEventListener("input", render);
  }
});
