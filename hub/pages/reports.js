// The supervisor's report on the console (hub/reports.py, where each figure is defined): a period
// of service days per service or window, a table of the figures, a bar chart of the share that
// waited over 15 minutes, and the same report as CSV or XLSX to download. A file of its own beside
// console.js, whose `$`, `api`, `row`, `percent` and `serviceNames` it uses; console.js shows the
// section to supervisors only.
"use strict";
(() => {
  const NOT_CALLED = "не вызван / not called";
  let shown = false;

  function localDay(date) {
    return date.getFullYear() + "-" + String(date.getMonth() + 1).padStart(2, "0") + "-" +
      String(date.getDate()).padStart(2, "0");
  }

  function query(format) {
    return new URLSearchParams({from: $("report-from").value, to: $("report-to").value, by: $("report-by").value,
      format: format}).toString();
  }

  function label(by, key) {
    if (key === NOT_CALLED) { return "не вызваны"; }
    return by === "service" ? (serviceNames[key] || key) : "окно " + key;
  }

  function minutes(value) { return value === null ? "—" : String(value).replace(".", ",") + " мин"; }

  function cells(name, f) {
    return [[name, ""], [String(f.issued), "num"], [String(f.served), "num"], [String(f.no_show), "num"],
      [String(f.cancelled), "num"], [String(f.waiting), "num"], [minutes(f.mean_wait_minutes), "num"],
      [minutes(f.p90_wait_minutes), "num"], [percent(f.over_15_share), "num"],
      [minutes(f.mean_service_minutes), "num"], [percent(f.happy_share), "num"]];
  }

  function bar(name, share) {
    // Widths are set through the style object: the hub's Content-Security-Policy allows no style attributes.
    const line = document.createElement("div");
    line.className = "report-bar";
    const title = Object.assign(document.createElement("span"), {textContent: name});
    const track = Object.assign(document.createElement("span"), {className: "track"});
    const fill = Object.assign(document.createElement("span"), {className: "fill"});
    fill.style.width = Math.round((share || 0) * 100) + "%";
    track.append(fill);
    line.append(title, track, Object.assign(document.createElement("span"), {textContent: percent(share)}));
    return line;
  }

  function render(found) {
    const by = found.by;
    $("report-group").textContent = by === "service" ? "Услуга" : "Окно";
    const rows = found.rows.map((r) => row(cells(label(by, r[by]), r)));
    const total = row(cells("Всего", found.total));
    total.className = "total";
    $("report-rows").replaceChildren(...rows, total);
    $("report-chart").replaceChildren(...found.rows.map((r) => bar(label(by, r[by]), r.over_15_share)),
      bar("Всего", found.total.over_15_share));
    $("report-csv").href = "/console/api/report?" + query("csv");
    $("report-xlsx").href = "/console/api/report?" + query("xlsx");
  }

  async function show() {
    shown = true;
    $("report-message").textContent = "";
    try { render(await api("/console/api/report?" + query("json"))); } catch (error) {
      $("report-message").textContent = error.message;
    }
  }

  $("report-show").addEventListener("click", show);
  // This month so far, the first time a supervisor's console is shown, unless the supervisor has
  // already chosen a period: their choice is never overwritten.
  for (const id of ["report-from", "report-to", "report-by"]) {
    $(id).addEventListener("input", () => { shown = true; });
  }
  setInterval(() => {
    if (shown || $("reports").classList.contains("hidden")) { return; }
    const today = new Date();
    $("report-from").value = localDay(new Date(today.getFullYear(), today.getMonth(), 1));
    $("report-to").value = localDay(today);
    show();
  }, 1000);
})();
