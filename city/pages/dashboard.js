// The city dashboard: every center's figures now (asked again every REFRESH_MS), sorted and
// filtered here, a center's drill-down, and the SLA report. Everything a hub sent (names,
// services, operators) goes into the page as text, never as markup.
"use strict";

const REFRESH_MS = 15000;
const $ = (id) => document.getElementById(id);
// skew: the server's clock less this browser's, so "how long ago" is counted on the city's clock.
const state = {centers: [], districts: [], sort: "name", down: false, detail: null, skew: 0};

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

async function api(path) {
  const reply = await fetch(path, {credentials: "same-origin"});
  if (reply.status === 401) {
    location.replace("/dashboard/sign-in");
    throw new Error("signed out");
  }
  if (!reply.ok) {
    const body = await reply.json().catch(() => ({}));
    throw new Error(typeof body.detail === "string" ? body.detail : `HTTP ${reply.status}`);
  }
  return reply.json();
}

const minutes = (s) => (s === null || s === undefined ? "—" : `${Math.floor(s / 60)} мин`);
const percent = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`);

function ago(iso) {
  if (!iso) return "никогда / never";
  const s = Math.max(0, (Date.now() + state.skew - Date.parse(iso)) / 1000);
  if (s < 90) return `${Math.round(s)} с назад / s ago`;
  if (s < 5400) return `${Math.round(s / 60)} мин назад / min ago`;
  return new Date(iso).toLocaleString("ru-RU");
}

function figure(label, value) {
  const box = el("div", null, "figure");
  box.append(el("b", value), el("span", label));
  return box;
}

function showTotals(total, where) {
  const box = $("totals");
  box.replaceChildren(
    figure(`${where}: центров (молчат) / centers (silent)`, `${total.centers} (${total.silent})`),
    figure("Ожидают / Waiting", total.waiting),
    figure("Дольше всех ждёт / Longest wait", minutes(total.longest_wait_s)),
    figure("Окон открыто (на паузе) / Windows open (paused)", `${total.windows_open} (${total.windows_paused})`),
    figure("Выдано сегодня / Issued today", total.issued_today),
    figure("Оценок (довольны) / Ratings (happy)", `${total.ratings_today} (${percent(total.happy_share)})`),
    figure("Устройств не в сети / Devices offline", total.devices_offline));
}

function sortValue(c, key) {
  const v = key === "name" ? (c.name || c.id) : c[key];
  return v === null || v === undefined ? null : v;
}

function compare(a, b) {
  const x = sortValue(a, state.sort), y = sortValue(b, state.sort);
  if (x === y) return (a.name || a.id).localeCompare(b.name || b.id, "ru");
  if (x === null) return 1;  // unknown figures (silent centers) last whichever the direction
  if (y === null) return -1;
  const order = typeof x === "string" ? x.localeCompare(y, "ru") : x - y;
  return state.down ? -order : order;
}

function centerRow(c) {
  const tr = el("tr");
  tr.dataset.center = c.id;
  tr.dataset.district = c.district;
  if (c.silent) tr.classList.add("silent");
  const name = el("td");
  name.append(el("span", c.name || c.id, "center-name"));
  name.querySelector(".center-name").addEventListener("click", () => openDetail(c.id));
  tr.append(name, el("td", c.district || "—"));
  if (c.silent) {
    const unknown = el("td", "нет связи с хабом — данные неизвестны / hub silent — figures unknown", "unknown");
    unknown.colSpan = 6;
    tr.append(unknown);
  } else {
    const late = c.longest_wait_s !== null && c.longest_wait_s > 15 * 60;
    tr.append(el("td", c.waiting, "num"), el("td", minutes(c.longest_wait_s), late ? "num late" : "num"),
      el("td", `${c.windows_open} (${c.windows_paused})`, "num"), el("td", percent(c.within_15_share), "num"),
      el("td", `${c.ratings_today} (${percent(c.happy_share)})`, "num"), el("td", c.devices_offline, "num"));
  }
  tr.append(el("td", ago(c.last_contact)));
  return tr;
}

function districtRow(d) {
  const tr = el("tr", null, "district-row");
  const name = el("td", `${d.district || "без района / no district"}: ${d.centers} центр(ов), молчат ${d.silent}`);
  name.colSpan = 2;
  tr.append(name, el("td", d.waiting, "num"), el("td", minutes(d.longest_wait_s), "num"),
    el("td", `${d.windows_open} (${d.windows_paused})`, "num"), el("td", ""),
    el("td", `${d.ratings_today} (${percent(d.happy_share)})`, "num"), el("td", d.devices_offline, "num"), el("td", ""));
  return tr;
}

function render() {
  const district = $("district").value;
  const shown = state.centers.filter((c) => !district || c.district === district).sort(compare);
  const body = $("centers").querySelector("tbody");
  body.replaceChildren();
  if ($("group").checked) {
    for (const d of state.districts.filter((x) => !district || x.district === district)) {
      body.append(districtRow(d), ...shown.filter((c) => c.district === d.district).map(centerRow));
    }
  } else {
    body.append(...shown.map(centerRow));
  }
  const total = district ? state.districts.find((d) => d.district === district) : state.total;
  if (total) showTotals(total, district || "Город / City");
  for (const th of document.querySelectorAll("#centers th[data-sort]")) {
    th.classList.toggle("sorted-up", th.dataset.sort === state.sort && !state.down);
    th.classList.toggle("sorted-down", th.dataset.sort === state.sort && state.down);
  }
}

function fillDistricts() {
  const select = $("district");
  const known = new Set([...select.options].map((o) => o.value));
  for (const d of state.districts) {
    if (!known.has(d.district)) select.append(new Option(d.district || "без района / no district", d.district));
  }
}

async function refresh() {
  try {
    const found = await api("/dashboard/api/centers");
    Object.assign(state, {centers: found.centers, districts: found.districts, total: found.total,
      skew: Date.parse(found.made_at) - Date.now()});
    fillDistricts();
    render();
    $("updated").textContent = `обновлено / updated ${new Date(found.made_at).toLocaleTimeString("ru-RU")}`;
    $("stale").classList.add("hidden");
    if (state.detail) await openDetail(state.detail, true);
  } catch (e) {
    if (e.message !== "signed out") $("stale").classList.remove("hidden");
  }
}

function showHours(hours) {
  const most = Math.max(1, ...hours.map((h) => Math.max(h.issued, h.served)));
  const box = $("detail-hours");
  box.replaceChildren();
  for (const h of hours.filter((x) => x.hour >= 7 && x.hour <= 21)) {
    const hour = el("div", null, "hour");
    hour.title = `${h.hour}:00 — выдано / issued ${h.issued}, обслужено / served ${h.served}`;
    const issued = el("div", null, "issued"), served = el("div", null, "served");
    issued.style.height = `${(100 * h.issued) / most}%`;  // CSSOM: allowed by the page's policy
    served.style.height = `${(100 * h.served) / most}%`;
    hour.append(issued, served, el("span", h.hour));
    box.append(hour);
  }
}

async function openDetail(id, quiet) {
  let found;
  try {
    found = await api(`/dashboard/api/centers/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!quiet) alert(e.message);
    return;
  }
  state.detail = id;
  const c = found.center;
  $("detail").dataset.center = id;
  $("detail-title").textContent = `${c.name || c.id} (${c.district || "—"})`;
  $("detail-silent").classList.toggle("hidden", !found.silent);
  $("detail-figures").replaceChildren(
    figure("Ожидают / Waiting", c.waiting ?? "—"), figure("Дольше всех ждёт / Longest wait", minutes(c.longest_wait_s)),
    figure("Окон открыто (на паузе) / Windows open (paused)",
      c.windows_open === null ? "—" : `${c.windows_open} (${c.windows_paused})`),
    figure("Вызваны за 15 мин / Within 15 min", percent(c.within_15_share)),
    figure("Выдано сегодня / Issued today", c.issued_today ?? "—"),
    figure("Оценки (довольны) / Ratings (happy)", c.ratings_today === null ? "—" : `${c.ratings_today} (${percent(c.happy_share)})`),
    figure("Связь с хабом / Hub last heard", ago(c.last_contact)));
  $("detail-windows").querySelector("tbody").replaceChildren(...found.windows.map((w) => {
    const tr = el("tr");
    tr.append(el("td", w.window), el("td", w.paused ? `пауза / paused ${w.pause_reason}` : "открыто / open"),
      el("td", w.operator || "—"), el("td", w.service_names.join(", ") || "все / all"));
    return tr;
  }));
  $("detail-devices").replaceChildren(...(found.devices_offline.length
    ? found.devices_offline.map((d) => el("li", `${d.id} (${d.role}) — ${d.since ? ago(d.since) : "?"}`))
    : [el("li", "все в сети / all online")]));
  $("detail-services").querySelector("tbody").replaceChildren(...found.waiting_by_service.map((s) => {
    const tr = el("tr");
    const name = el("td", s.name_ru);
    if (s.name_en !== s.name_ru) name.append(" ", el("span", s.name_en, "en"));
    tr.append(name, el("td", s.waiting, "num"), el("td", minutes(s.longest_wait_s), "num"));
    return tr;
  }));
  showHours(found.hours);
  $("detail").classList.remove("hidden");
  if (!quiet) $("detail").scrollIntoView({behavior: "smooth"});
}

// --- the report ---------------------------------------------------------------------------

const REPORT_COLUMNS = [
  ["issued", "Выдано / Issued"], ["served", "Обслужено / Served"], ["no_show", "Неявки / No-shows"],
  ["cancelled", "Отменено / Cancelled"], ["waiting", "Ожидают / Waiting"], ["expired", "Истекло / Expired"],
  ["mean_wait_minutes", "Ср. ожидание, мин / Mean wait"], ["p90_wait_minutes", "90% ожидания, мин / p90 wait"],
  ["over_15_share", "Ждали > 15 мин / Waited > 15 min"], ["mean_service_minutes", "Ср. обслуживание, мин / Mean service"],
  ["rated", "Оценок / Ratings"], ["happy_share", "Довольны / Happy"],
];

function reportQuery(format) {
  const q = new URLSearchParams({from: $("report-from").value, to: $("report-to").value, by: $("report-by").value,
    every: $("report-every").value, district: $("district").value, format});
  return `/dashboard/api/report?${q}`;
}

function reportCell(key, value) {
  if (value === null || value === undefined) return el("td", "—", "num");
  return el("td", key.endsWith("_share") ? percent(value) : value, "num");
}

async function showReport() {
  $("report-error").textContent = "";
  let found;
  try {
    found = await api(reportQuery("json"));
  } catch (e) {
    $("report-error").textContent = e.message;
    return;
  }
  const head = el("tr");
  if (found.every) head.append(el("th", "Период / Period"));
  head.append(el("th", found.by), ...REPORT_COLUMNS.map(([, caption]) => el("th", caption, "num")));
  $("report-table").querySelector("thead").replaceChildren(head);
  const line = (span, name, figures, cls) => {
    const tr = el("tr", null, cls);
    if (found.every) tr.append(el("td", span));
    tr.append(el("td", name), ...REPORT_COLUMNS.map(([key]) => reportCell(key, figures[key])));
    return tr;
  };
  const span = (x) => (x.from === x.to ? x.from : `${x.from}..${x.to}`);
  $("report-table").querySelector("tbody").replaceChildren(
    ...found.rows.map((r) => line(span(r), found.by === "center" ? `${r.name} (${r.center})` : r[found.by], r)),
    ...(found.periods || []).map((p) => line(span(p), "всего / total", p, "district-row")),
    line(span(found), "всего / total", found.total, "district-row"));
}

// --- accounts (admins only: the server refuses the others whatever the page shows) ----------

async function send(path, body) {
  const reply = await fetch(path, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: body === undefined ? undefined : JSON.stringify(body)});
  const found = await reply.json().catch(() => ({}));
  if (!reply.ok) {
    const said = typeof found.detail === "string" ? found.detail
      : Array.isArray(found.detail) ? found.detail.map((d) => d.msg).join("; ") : `HTTP ${reply.status}`;
    throw new Error(said);
  }
  return found;
}

async function showAccounts() {
  const found = await api("/dashboard/api/accounts");
  $("accounts-table").querySelector("tbody").replaceChildren(...found.accounts.map((a) => {
    const tr = el("tr");
    tr.dataset.login = a.login;
    const action = el("td");
    if (!a.disabled_at) {
      const button = el("button", "Отключить / Disable");
      button.type = "button";
      button.addEventListener("click", async () => {
        try {
          await send(`/dashboard/api/accounts/${encodeURIComponent(a.login)}/disable`);
          await showAccounts();
        } catch (e) {
          $("account-error").textContent = e.message;
        }
      });
      action.append(button);
    }
    tr.append(el("td", a.login), el("td", a.name), el("td", a.role),
      el("td", a.disabled_at ? "отключена / disabled" : "действует / active"), action);
    return tr;
  }));
  $("accounts").classList.remove("hidden");
}

async function addAccount(event) {
  event.preventDefault();
  $("account-error").textContent = "";
  try {
    await send("/dashboard/api/accounts", {login: $("account-login").value.trim(), name: $("account-name").value.trim(),
      role: $("account-role").value, password: $("account-password").value});
    $("account-form").reset();
    await showAccounts();
  } catch (e) {
    $("account-error").textContent = e.message;
  }
}

function start() {
  const today = new Date().toISOString().slice(0, 10);
  $("report-from").value = today.slice(0, 8) + "01";
  $("report-to").value = today;
  for (const th of document.querySelectorAll("#centers th[data-sort]")) {
    th.addEventListener("click", () => {
      state.down = state.sort === th.dataset.sort ? !state.down : false;
      state.sort = th.dataset.sort;
      render();
    });
  }
  $("district").addEventListener("change", render);
  $("group").addEventListener("change", render);
  $("detail-close").addEventListener("click", () => { state.detail = null; $("detail").classList.add("hidden"); });
  $("report-show").addEventListener("click", showReport);
  for (const format of ["csv", "xlsx"]) {
    $(`report-${format}`).addEventListener("click", (event) => { event.currentTarget.href = reportQuery(format); });
  }
  $("sign-out").addEventListener("click", async () => {
    await fetch("/dashboard/api/sign-out", {method: "POST", credentials: "same-origin"});
    location.replace("/dashboard/sign-in");
  });
  $("account-form").addEventListener("submit", addAccount);
  api("/dashboard/api/me").then((me) => {
    $("who").textContent = `${me.name || me.login} (${me.role})`;
    if (me.role === "admin") showAccounts();
  }).catch(() => {});
  refresh();
  setInterval(refresh, REFRESH_MS);
}

start();
