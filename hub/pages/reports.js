// The supervisor's report on the console (hub/reports.py, where each figure is defined): a period
// of service days per service, window or operator, for the whole period or as a series of days,
// weeks or months; a table of the figures, a bar chart of the share that waited over 15 minutes
// (a bar per group, or per period of a series), the same report as CSV or XLSX to download, and
// the screens' proof of play (hub/report_plays.py) as CSV or XLSX. A file of its own beside
// console.js, whose `$`, `api`, `row`, `percent` and `serviceNames` it uses; console.js shows the
// section to supervisors only. The controls and columns added since the page's markup are made
// here, so that the report's page and its figures change together.
"use strict";
(() => {
  const NOT_CALLED = "не вызван / not called";
  const NO_OPERATOR = "не записан / not recorded";
  const COLUMNS = ["Выдано", "Без талона", "Обслужено", "Не явились", "Отказались", "Ждут", "Ср. ожидание",
    "90 % ждали не дольше", "Ждали > 15 мин", "Ср. обслуживание", "Исходы услуг", "Ошибка прогноза",
    "Прогноз ±5 мин", "Довольны"];
  const TITLES = {
    "Без талона": "обслужены без талона; в issued и served, но не в ожидании",
    "Ждали > 15 мин": "все посетители в очереди, вызванные и нет: истёкшие и ещё ждущие талоны тоже",
    "Исходы услуг": "услуги завершённых визитов: оказана · не хватает документов · отказ · только консультация",
    "Ошибка прогноза": "среднее |напечатанный прогноз − ожидание до первого вызова|",
    "Прогноз ±5 мин": "доля прогнозов, ошибшихся не больше чем на 5 минут"};
  let shown = false;

  function element(tag, props) { return Object.assign(document.createElement(tag), props || {}); }

  // The series choice, the operator grouping and the proof-of-play downloads, beside the markup's controls.
  const every = element("select", {id: "report-every"});
  every.append(new Option("за весь период", ""), new Option("по дням", "day"), new Option("по неделям", "week"),
    new Option("по месяцам", "month"));
  $("report-by").append(new Option("операторам", "operator"));
  $("report-by").after(element("label", {htmlFor: "report-every", textContent: "ряд"}), every);
  $("report-xlsx").after(element("a", {id: "plays-csv", textContent: "Показы CSV", download: ""}),
    element("a", {id: "plays-xlsx", textContent: "Показы XLSX", download: ""}));

  function header(series) {
    const cells = [element("th", {id: "report-group", textContent: "Услуга"})];
    if (series) { cells.unshift(element("th", {textContent: "Период"})); }
    for (const name of COLUMNS) {
      cells.push(element("th", {className: "num", textContent: name, title: TITLES[name] || ""}));
    }
    $("report-rows").closest("table").querySelector("thead tr").replaceChildren(...cells);
  }

  function localDay(date) {
    return date.getFullYear() + "-" + String(date.getMonth() + 1).padStart(2, "0") + "-" +
      String(date.getDate()).padStart(2, "0");
  }

  function query(format) {
    return new URLSearchParams({from: $("report-from").value, to: $("report-to").value, by: $("report-by").value,
      every: every.value, format: format}).toString();
  }

  function plays(format) {
    return "/console/api/plays?" + new URLSearchParams({from: $("report-from").value, to: $("report-to").value,
      format: format}).toString();
  }

  function label(by, r) {
    const key = r[by];
    if (key === NOT_CALLED) { return "не вызваны"; }
    if (key === NO_OPERATOR) { return "оператор не записан"; }
    if (by === "operator") { return r.name || key; }
    return by === "service" ? (serviceNames[key] || key) : "окно " + key;
  }

  function day(iso) { return iso.slice(8, 10) + "." + iso.slice(5, 7); }
  function span(p) { return p.from === p.to ? day(p.from) : day(p.from) + "–" + day(p.to); }
  function minutes(value) { return value === null ? "—" : String(value).replace(".", ",") + " мин"; }

  function cells(lead, f) {
    const outcomes = [f.outcome_done, f.outcome_documents_missing, f.outcome_refused, f.outcome_consultation];
    return [...lead.map((text) => [text, ""]), [String(f.issued), "num"], [String(f.walk_in), "num"],
      [String(f.served), "num"], [String(f.no_show), "num"], [String(f.cancelled), "num"],
      [String(f.waiting), "num"], [minutes(f.mean_wait_minutes), "num"], [minutes(f.p90_wait_minutes), "num"],
      [percent(f.over_15_share), "num"], [minutes(f.mean_service_minutes), "num"], [outcomes.join("\u00a0·\u00a0"), "num"],
      [minutes(f.estimate_error_minutes), "num"], [percent(f.estimate_within_5_share), "num"],
      [percent(f.happy_share), "num"]];
  }

  function bar(name, share) {
    // Widths are set through the style object: the hub's Content-Security-Policy allows no style attributes.
    const line = element("div", {className: "report-bar"});
    const track = element("span", {className: "track"});
    const fill = element("span", {className: "fill"});
    fill.style.width = Math.round((share || 0) * 100) + "%";
    track.append(fill);
    line.append(element("span", {textContent: name}), track, element("span", {textContent: percent(share)}));
    return line;
  }

  function render(found) {
    const by = found.by;
    const series = Boolean(found.every);
    header(series);
    $("report-group").textContent = {service: "Услуга", window: "Окно", operator: "Оператор"}[by];
    const rows = found.rows.map((r) => row(cells(series ? [span(r), label(by, r)] : [label(by, r)], r)));
    const totals = (found.periods || []).map((p) => {
      const line = row(cells([span(p), "Всего"], p));
      line.className = "total";
      return line;
    });
    const total = row(cells(series ? ["весь период", "Всего"] : ["Всего"], found.total));
    total.className = "total";
    $("report-rows").replaceChildren(...rows, ...totals, total);
    // A series is charted period by period (the center's total of each); otherwise group by group.
    const bars = series ? found.periods.map((p) => bar(span(p), p.over_15_share))
      : found.rows.map((r) => bar(label(by, r), r.over_15_share));
    $("report-chart").replaceChildren(...bars, bar("Всего", found.total.over_15_share));
    $("report-csv").href = "/console/api/report?" + query("csv");
    $("report-xlsx").href = "/console/api/report?" + query("xlsx");
    $("plays-csv").href = plays("csv");
    $("plays-xlsx").href = plays("xlsx");
  }

  async function show() {
    shown = true;
    $("report-message").textContent = "";
    try { render(await api("/console/api/report?" + query("json"))); } catch (error) {
      $("report-message").textContent = error.message;
    }
  }

  header(false);
  $("report-show").addEventListener("click", show);
  // This month so far, the first time a supervisor's console is shown, unless the supervisor has
  // already chosen a period: their choice is never overwritten.
  for (const id of ["report-from", "report-to", "report-by", "report-every"]) {
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
