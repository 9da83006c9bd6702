// The public waiting times of every center, drawn from the city's JSON answer
// (/city/v1/public/waits) and read again every minute. Russian first; ?lang=en for English.
// Texts from the answer are set as text, never as markup.
"use strict";

const API = "/city/v1/public/waits";
const REFRESH_MS = 60000;
const TEXTS = {
  ru: {
    title: "Очереди в центрах «Мои документы»",
    lead: "Сколько людей ждёт сейчас и сколько придётся подождать, если взять талон сейчас.",
    note: "Ожидание считается по людям в очереди, открытым окнам и средней длительности приёма. " +
          "«Лучшее время» — часы с самым коротким обычным ожиданием за последние недели.",
    other: "English", otherLang: "en", made: "Обновлено", failed: "Не удалось получить данные, попробуем снова через минуту.",
    open: "открыт", closed: "закрыт", unknown: "нет связи с центром", noData: "нет данных / no data",
    wait: "Ожидание", minutes: "мин", waiting: "В очереди", people: "чел.",
    groups: "По группам услуг", group: "Группа услуг", best: "Лучшее время прийти",
    noBest: "пока мало истории", bestLater: "считается, загляните через минуту", closedNow: "Сейчас окна не работают.",
    unknownNow: "Центр давно не выходил на связь, текущих данных нет.", lastContact: "Последняя связь",
    days: ["", "пн", "вт", "ср", "чт", "пт", "сб", "вс"], about: "около",
    orderLabel: "Порядок:", byDistrict: "по округам", byWait: "сначала короткое ожидание",
  },
  en: {
    title: "Waiting times at «My Documents» centers",
    lead: "How many people are waiting now and how long you would wait taking a ticket now.",
    note: "The wait is counted from the people in line, the windows open and the usual length of a visit. " +
          "\"Best time\" is the hours with the shortest usual wait over the last weeks.",
    other: "Русский", otherLang: "ru", made: "Updated", failed: "Could not get the data; trying again in a minute.",
    open: "open", closed: "closed", unknown: "no contact with the center", noData: "нет данных / no data",
    wait: "Wait", minutes: "min", waiting: "Waiting", people: "people",
    groups: "By service group", group: "Service group", best: "Best time to come",
    noBest: "not enough history yet", bestLater: "being worked out, look again in a minute", closedNow: "No window is open now.",
    unknownNow: "The center has not been in touch for a while: no current data.", lastContact: "Last contact",
    days: ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], about: "about",
    orderLabel: "Order:", byDistrict: "by district", byWait: "shortest wait first",
  },
};

const asked = new URLSearchParams(location.search);
const lang = asked.get("lang") === "en" ? "en" : "ru";
const byWait = asked.get("sort") === "wait";
const T = TEXTS[lang];
const STATE_ORDER = {open: 0, closed: 1, unknown: 2};

function address(params) {
  const query = new URLSearchParams(params).toString();
  return query ? `?${query}` : "?";
}

function ordered(centers) {
  const byName = (a, b) => (a.district || "").localeCompare(b.district || "", "ru") ||
                           (a.name || a.id).localeCompare(b.name || b.id, "ru");
  if (!byWait) return [...centers].sort(byName);
  // Open centers by their wait, then those closed, then those with no data: never "0" for unknown.
  return [...centers].sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
                                     (a.wait_minutes ?? 0) - (b.wait_minutes ?? 0) || byName(a, b));
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function clock(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(lang === "en" ? "en-GB" : "ru-RU",
    {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"});
}

function minutes(n) {
  return n === null || n === undefined ? T.noData : `${T.about} ${n} ${T.minutes}`;
}

function groupsTable(center) {
  const table = el("table");
  table.append(el("caption", T.groups));
  const head = el("tr");
  head.append(el("th", T.group), el("th", T.waiting, "num"), el("th", T.wait, "num"));
  for (const th of head.children) th.scope = "col";
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const body = el("tbody");
  for (const g of center.groups) {
    const row = el("tr");
    const name = el("th", lang === "en" ? g.name_en : g.name_ru);
    name.scope = "row";
    row.append(name, el("td", g.waiting, "num"), el("td", minutes(g.wait_minutes), "num"));
    body.append(row);
  }
  table.append(body);
  return table;
}

function bestTime(center) {
  const part = el("section");
  part.append(el("h3", T.best));
  if (!center.best_time || !center.best_time.length) {
    part.append(el("p", center.best_time ? T.noBest : T.bestLater));
    return part;
  }
  const list = el("ul", null, "best");
  for (const day of center.best_time) {
    const hours = day.hours.map((h) => `${h.from}–${h.to} (${h.wait_minutes} ${T.minutes})`).join(", ");
    const [, m, d] = day.date.split("-");
    list.append(el("li", `${T.days[day.weekday]} ${d}.${m}: ${hours}`));
  }
  part.append(list);
  return part;
}

function centerCard(center) {
  const card = el("article", null, `center state-${center.state}`);
  card.id = `center-${center.id}`;
  card.append(el("h2", center.name || center.id));
  if (center.district) card.append(el("p", center.district, "district"));
  const state = el("p", null, "state");
  state.append(el("span", T[center.state], "badge"));
  card.append(state);
  if (center.state === "unknown") {
    card.append(el("p", T.noData, "nodata now"), el("p", T.unknownNow));
  } else if (center.state === "closed") {
    card.append(el("p", T.closedNow, "now"));
  } else {
    const now = el("p", null, "now");
    now.append(`${T.wait}: `, el("strong", minutes(center.wait_minutes), "wait"),
               ` · ${T.waiting}: `, el("strong", `${center.waiting} ${T.people}`, "waiting"));
    card.append(now);
    if (center.groups.length) card.append(groupsTable(center));
  }
  card.append(bestTime(center));
  card.append(el("p", `${T.lastContact}: ${clock(center.last_contact)}`, "district"));
  return card;
}

async function load() {
  const made = document.getElementById("made");
  try {
    const answer = await fetch(API, {credentials: "omit"});
    if (!answer.ok) throw new Error(String(answer.status));
    const data = await answer.json();
    const list = document.getElementById("centers");
    list.replaceChildren(...ordered(data.centers).map(centerCard));
    made.textContent = `${T.made}: ${clock(data.made_at)}`;
    document.body.dataset.loaded = "yes";
  } catch (err) {
    made.textContent = T.failed;
  }
}

function start() {
  document.documentElement.lang = lang;
  document.title = T.title;
  for (const id of ["title", "lead", "note"]) document.getElementById(id).textContent = T[id];
  const other = document.getElementById("lang");
  other.textContent = T.other;
  other.href = address({...(T.otherLang === "en" ? {lang: "en"} : {}), ...(byWait ? {sort: "wait"} : {})});
  other.hreflang = T.otherLang;
  other.lang = T.otherLang;
  const langPart = lang === "en" ? {lang: "en"} : {};
  document.getElementById("order-label").textContent = T.orderLabel;
  const district = document.getElementById("by-district");
  const wait = document.getElementById("by-wait");
  district.textContent = T.byDistrict;
  district.href = address(langPart);
  wait.textContent = T.byWait;
  wait.href = address({...langPart, sort: "wait"});
  (byWait ? wait : district).setAttribute("aria-current", "true");
  load();
  setInterval(load, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", start);
