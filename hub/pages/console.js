// The operator console (console.html); a file of its own for the hub's Content-Security-Policy.
"use strict";
const $ = (id) => document.getElementById(id);
let serviceNames = {};
let windowOpen = false;
let outcomes = [];  // [id, name] of a service's outcome at the end of a visit

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {credentials: "same-origin"} : {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && !path.endsWith("sign-in")) { showSignIn(); }
  if (!response.ok) { throw new Error(typeof data.detail === "string" ? data.detail : "ошибка " + response.status); }
  return data;
}

function showSignIn() {
  $("console").classList.add("hidden"); $("sign-out").classList.add("hidden");
  $("sign-in-form").classList.remove("hidden"); $("who").textContent = "";
}

function minutes(seconds) { return Math.floor(seconds / 60) + " мин"; }
function when(iso) { return new Date(iso).toLocaleString("ru-RU", {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"}); }
function clock(iso) { return iso ? new Date(iso).toLocaleTimeString("ru-RU", {hour: "2-digit", minute: "2-digit"}) : ""; }

function row(cells) {
  const tr = document.createElement("tr");
  for (const [text, cls] of cells) {
    const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.append(td);
  }
  return tr;
}

// Fill a select with [value, text] pairs, keeping the operator's choice; untouched while the list stays the same.
function fillSelect(select, options, first) {
  const listed = JSON.stringify([first, options]);
  if (select.dataset.listed === listed) { return; }
  const kept = select.value;
  select.replaceChildren(...(first ? [new Option(first, "")] : []), ...options.map(([id, name]) => new Option(name, id)));
  if (options.some(([id]) => id === kept)) { select.value = kept; }
  select.dataset.listed = listed;
}

function render(state) {
  $("who").textContent = state.operator.name + " · центр " + state.operator.center;
  // The center's catalog changes when a kiosk bundle is published: the lists follow it, keeping ticks.
  const listed = state.services.map((s) => s.id + "\n" + s.name).join("\n");
  if (listed !== $("services").dataset.listed) {
    const ticked = new Set([...$("services").querySelectorAll("input:checked")].map((box) => box.value));
    serviceNames = {};
    $("services").replaceChildren();
    for (const s of state.services) {
      serviceNames[s.id] = s.name;
      const row = document.createElement("label");
      row.innerHTML = '<input type="checkbox">';
      row.firstChild.value = s.id;
      row.firstChild.checked = ticked.has(s.id);
      row.append(s.name);
      $("services").append(row);
    }
    $("services").dataset.listed = listed;
  }
  const services = state.services.map((s) => [s.id, s.name]);
  for (const id of ["transfer-to", "add-service-to", "walk-in-service"]) { fillSelect($(id), services); }
  fillSelect($("call-number-service"), services, "услуга — по букве номера");
  fillSelect($("transfer-window"), (state.open_windows || []).map((w) => [w, "окно " + w]));
  fillSelect($("transfer-operator"), (state.operators || []).map((o) => [o.login, o.name]));
  fillSelect($("pause-reason"), (state.pause_reasons || []).map((r) => [r.id, r.name]));
  outcomes = (state.outcomes || []).map((o) => [o.id, o.name]);
  const supervisor = state.operator.role === "supervisor";
  const othersWindow = !!state.window && !state.window.mine && !supervisor;
  windowOpen = !!state.window && !othersWindow;
  const boxes = [...$("services").querySelectorAll("input")];
  if (state.window && !boxes.some((box) => box.checked)) {  // after a reload: show what the window serves
    for (const box of boxes) { box.checked = state.window.services.includes(box.value); }
  }
  const current = state.current;
  const paused = windowOpen && state.window.paused;
  const pauseName = paused && ((state.pause_reasons || []).find((r) => r.id === paused.reason) || {name: paused.reason}).name;
  $("current").textContent = current ? current.number : "—";
  $("current-info").textContent = current
    ? (current.walk_in ? "без талона · " : "") +
      (current.printed && current.printed !== current.number ? "на талоне " + current.printed + " · " : "") +
      (serviceNames[current.service] || current.service) + (current.priority ? " · вне очереди" : "") +
      (current.slot_at ? " · по записи на " + clock(current.slot_at) : "") +
      (current.second_check_in ? " · повторная регистрация по записи: запись уже у другого талона" : "") +
      (current.state === "serving" ? " · обслуживается" : " · вызван")
    : othersWindow ? "Это окно открыто другим оператором"
    : paused ? "Окно на паузе: " + pauseName
    : (windowOpen ? "Нажмите «Вызвать следующего»" : "Откройте окно: номер и услуги слева");
  $("current-note").textContent = current && current.awaiting_event ? "Талон ещё не поступил от киоска" : "";
  renderVisitServices(current);
  $("pause-box").classList.toggle("hidden", !!paused);
  $("paused").classList.toggle("hidden", !paused);
  $("paused-text").textContent = paused ? pauseName + " · с " + clock(paused.since) : "";
  $("pause").disabled = !windowOpen;
  for (const id of ["call-next", "call-number-go", "walk-in"]) { $(id).disabled = !windowOpen || !!current; }
  $("close-window").disabled = !windowOpen || !!current;
  for (const id of ["recall", "start", "finish", "no-show", "hold", "add-service"]) { $(id).disabled = !current; }
  showTransferTarget();
  $("transfer").disabled = !current || !transferTarget().value;
  renderHeld(state.held || [], windowOpen && !current);
  const rows = Object.entries(state.waiting).sort((a, b) => b[1].longest_wait_s - a[1].longest_wait_s);
  $("waiting").replaceChildren(...rows.map(([service, w]) => {
    const tr = row([[serviceNames[service] || service, ""], [w.count, "num"], [minutes(w.longest_wait_s), "num"]]);
    if (w.longest_wait_s > 15 * 60) { tr.className = "late"; }
    return tr;
  }));
  $("calls").replaceChildren(...state.calls.map((c) => row([[c.number, ""], ["окно " + c.window, ""], [clock(c.at), "num"]])));
  $("hall").classList.toggle("hidden", !supervisor);
  $("notices").classList.toggle("hidden", !supervisor);  // notices.js fills it
  $("bookings").classList.toggle("hidden", !supervisor);  // bookings.js fills it
  $("reports").classList.toggle("hidden", !supervisor);  // reports.js fills it
}

// A select per service of the visit for its outcome, sent with «Завершить»; rebuilt only when
// the visit's services change, so a choice made survives the console's polling.
function renderVisitServices(current) {
  const box = $("visit-services");
  const services = current ? current.services || [] : [];
  const listed = JSON.stringify([current && current.number, services.map((s) => s.id), outcomes]);
  if (box.dataset.listed === listed) { return; }
  const chosen = Object.fromEntries([...box.querySelectorAll("select")].map((select) => [select.name, select.value]));
  box.replaceChildren(...services.map((s) => {
    const line = document.createElement("label");
    const select = document.createElement("select");
    select.name = s.id;
    select.append(...outcomes.map(([id, name]) => new Option(name, id)));
    select.value = chosen[s.id] || s.outcome || "done";
    line.append(s.name || serviceNames[s.id] || s.id, select);
    return line;
  }));
  box.dataset.listed = listed;
}

function visitOutcomes() {
  const selects = [...$("visit-services").querySelectorAll("select")];
  return selects.length ? {outcomes: Object.fromEntries(selects.map((select) => [select.name, select.value]))} : {};
}

// The visitors this window sent away for a while (to pay a fee, make a copy), each with «Вернуть»;
// redrawn only when it changes, so a button reached with the keyboard keeps its focus.
function renderHeld(held, mayReturn) {
  const listed = JSON.stringify([held, mayReturn]);
  if ($("held").dataset.listed === listed) { return; }
  $("held").dataset.listed = listed;
  $("held").replaceChildren(...(held.length ? held.map((h) => {
    const tr = row([[h.number, "number"], [[serviceNames[h.service] || h.service, h.reason, "с " + clock(h.held_at)]
                    .filter(Boolean).join(" · "), "held-info"], ["", ""]]);
    const back = document.createElement("button");
    back.textContent = "Вернуть"; back.disabled = !mayReturn;
    back.onclick = () => act("return", {number: h.number});
    tr.lastChild.append(back);
    return tr;
  }) : [row([["Никого", "none"]])]));
}

const TRANSFER_TARGETS = {service: "transfer-to", window: "transfer-window", operator: "transfer-operator"};

function transferTarget() { return $(TRANSFER_TARGETS[$("transfer-kind").value]); }

function showTransferTarget() {
  for (const id of Object.values(TRANSFER_TARGETS)) { $(id).classList.toggle("hidden", $(id) !== transferTarget()); }
}

function percent(share) { return share === null ? "—" : Math.round(share * 100) + " %"; }

function renderHall(hall) {
  $("hall-day").textContent = hall.today.day ? "· " + hall.today.day : "";
  $("hall-windows").replaceChildren(...hall.windows.map((w) => {
    const tr = row([[w.window, ""], [w.operator_name || "—", ""],
                    [w.current ? w.current.number + (w.current.state === "serving" ? " · обслуживается" : " · вызван") : "—", ""],
                    [clock(w.current ? w.current.since : w.open_since), "num"], ["", ""]]);
    const close = document.createElement("button");
    close.textContent = "Закрыть окно"; close.disabled = !!w.current;
    close.onclick = () => act("close-window", {window: w.window});
    tr.lastChild.append(close);
    return tr;
  }));
  const line = (name, f) => row([[name, ""], [f.issued, "num"], [f.served, "num"], [f.no_show, "num"], [f.cancelled, "num"],
    [f.waiting, "num"],
    [f.mean_wait_minutes === null ? "—" : f.mean_wait_minutes + " мин", "num"], [percent(f.within_standard), "num"]]);
  const total = line("Всего", hall.today.total); total.style.fontWeight = "600";
  $("hall-services").replaceChildren(...Object.entries(hall.today.services).map(([s, f]) => line((hall.service_names || {})[s] || serviceNames[s] || s, f)), total);
}

const PRINTER = {ok: "принтер в порядке", paper_near_end: "бумага заканчивается", paper_out: "нет бумаги",
  cover_open: "открыта крышка", offline: "принтер в ошибке", unreachable: "принтер недоступен",
  no_status: "принтер не сообщает состояние"};

function renderHelp(requests) {
  $("help").classList.toggle("hidden", !requests.length);
  $("help-requests").replaceChildren(...requests.map((r) => {
    const li = document.createElement("li"); li.className = r.state;
    const text = document.createElement("span");
    text.textContent = r.point + " · " + clock(r.requested_at) +
      (r.state === "acknowledged" ? " · идёт " + r.acknowledged_by : " · ждёт помощи");
    const go = document.createElement("button");
    go.textContent = r.state === "open" ? "Иду" : "Помощь оказана";
    go.onclick = () => helpAction(r.state === "open" ? "acknowledge" : "close", r.id);
    li.append(text, go);
    return li;
  }));
}

function renderRatings(ratings) {
  $("ratings-total").textContent = ratings.total.count ? "· довольны " + percent(ratings.total.happy_share) : "";
  $("ratings").replaceChildren(...Object.entries(ratings.windows).map(([w, r]) =>
    row([["окно " + w, ""], [r.count, "num"], [percent(r.happy_share), "num"]])));
}

const CHANNEL = {pilot: "пилот", stable: "основной"};

// The heartbeat's figures in a line (offline_cache/heartbeat.py); what a device cannot read is left out.
function beatFigures(beat) {
  if (!beat) { return "сводок ещё не было"; }
  const number = (x, digits) => x.toLocaleString("ru-RU", {maximumFractionDigits: digits});
  const uptime = (s) => s >= 86400 ? Math.floor(s / 86400) + " д " + Math.floor(s % 86400 / 3600) + " ч"
    : Math.floor(s / 3600) + " ч " + Math.floor(s % 3600 / 60) + " мин";
  const shown = [beat.version ? "версия " + beat.version : "версия ?"];
  if (beat.release !== undefined && beat.release !== null) {  // taken from the hub, not the card image
    shown[0] += " · выпуск № " + beat.release + (beat.channel ? " (" + CHANNEL[beat.channel] + ")" : "");
  }
  if (beat.uptime_s !== null) { shown.push("работает " + uptime(beat.uptime_s)); }
  shown.push("в очереди " + beat.outbox);
  if (beat.disk) { shown.push("диск " + number(beat.disk.free_bytes / 1e9, 1) + " ГБ своб."); }
  if (beat.cpu_temp_c !== null) { shown.push(number(beat.cpu_temp_c, 0) + " °C"); }
  if (beat.throttling && beat.throttling.now.length) { shown.push("троттлинг: " + beat.throttling.now.join(", ")); }
  if (beat.clock_offset_s !== null) {
    shown.push("часы " + (beat.clock_offset_s >= 0 ? "+" : "") + number(beat.clock_offset_s, 1) + " с");
  }
  if (beat.printer) { shown.push(PRINTER[beat.printer] || beat.printer); }
  if (beat.display && beat.display.power) { shown.push("экран " + (beat.display.power === "On" ? "вкл." : "выкл.")); }
  return shown.join(" · ");
}

// A row per device, marked with data-device for other scripts (remote.js adds its buttons); an
// offline one is red, with when the hub last heard from it. Cells: id, role, presence, bundle,
// parts, the heartbeat's figures.
function renderDevices(devices) {
  $("device-rows").replaceChildren(...devices.map((d) => {
    // A button that was stuck and works again ("ok") is no longer news.
    const current = Object.entries(d.parts).filter(([part, p]) => !(part.startsWith("button ") && p.status === "ok"));
    const parts = current.map(([part, p]) =>
      part === "printer" ? PRINTER[p.status] || p.status
      : part === "refused bundle" ? "отклонён пакет " + p.status
      : part === "rolled back" ? "откат выпуска № " + p.status : part + ": залипла");
    const trouble = current.some(([part, p]) => part !== "printer" || !["ok", "paper_near_end"].includes(p.status));
    const b = d.bundle;
    const bundle = (b.running ? "№ " + b.running : "нет") +
      (b.up_to_date === null ? "" : b.up_to_date ? " · актуален" : " · ждёт № " + b.latest);
    const offline = !d.revoked && !d.online;
    const presence = d.revoked ? "отключено" : d.online ? "на связи · " + clock(d.heard_at)
      : d.heard_at ? "НЕТ СВЯЗИ с " + when(d.heard_at) : "НЕТ СВЯЗИ";
    const tr = row([[d.id, ""], [d.window ? d.role + " · окно " + d.window : d.role, ""], [presence, offline ? "trouble" : ""],
                    [bundle, b.up_to_date === false ? "trouble" : ""], [parts.join(", ") || "—", trouble ? "trouble" : ""],
                    [d.revoked ? "" : beatFigures(d.beat), "figures"]]);
    tr.dataset.device = d.id;
    tr.classList.toggle("offline", offline);
    return tr;
  }));
}

// Each release the hub offers (hub/releases.py) and how this center's devices took it; supervisors
// of the hub's own center may promote a pilot release to every device or halt one.
function renderReleases(found) {
  $("release-rows").replaceChildren(...found.releases.map((r) => {
    const p = r.progress;
    const tr = row([["№ " + r.number, ""], [r.version, ""], [r.halted ? "остановлен" : CHANNEL[r.channel], r.halted ? "trouble" : ""],
                    [when(r.published_at), ""], [p.updated, "num"], [p.pending, "num"],
                    [p.rolled_back, p.rolled_back ? "num trouble" : "num"], ["", ""]]);
    if (found.may_act && !r.halted) {
      const actions = r.channel === "pilot" ? [["promote", "В основной канал"], ["halt", "Остановить"]] : [["halt", "Остановить"]];
      tr.lastChild.append(...actions.map(([action, name]) => {
        const b = document.createElement("button"); b.textContent = name; b.dataset.action = action;
        b.onclick = () => releaseAction(r.number, action, name);
        return b;
      }));
    }
    return tr;
  }));
}

async function releaseAction(number, action, name) {
  if (action === "halt" && !confirm("Остановить выпуск № " + number + "? Устройства больше не будут его загружать.")) {
    return;
  }
  $("release-message").textContent = "";
  try { await api("/console/api/releases/" + number + "/" + action, {}); }
  catch (error) { $("release-message").textContent = name + ": " + error.message; }
  await refresh();
}

let shownScreens = "";

function renderScreens(screens) {
  const text = JSON.stringify(screens);
  if (text === shownScreens) { return; }  // unchanged: keep the images rather than load them again
  shownScreens = text;
  $("screens").replaceChildren(...screens.map((s) => {
    const figure = document.createElement("figure");
    let picture;
    if (s.image) {
      picture = document.createElement("a"); picture.href = s.image; picture.target = "_blank";
      const img = document.createElement("img"); img.src = s.image; img.alt = "Снимок экрана " + s.device;
      img.loading = "lazy"; picture.append(img);
    } else {
      picture = document.createElement("div"); picture.className = "no-shot"; picture.textContent = "снимка ещё нет";
    }
    const caption = document.createElement("figcaption");
    const name = document.createElement("strong"); name.textContent = s.device;
    caption.append(name, " · " + (s.role === "kiosk" ? "киоск" : s.role === "signage" ? "экран зала" : s.role) +
      (s.taken_at ? " · снимок " + when(s.taken_at) + " · " + s.width + "×" + s.height : ""));
    figure.dataset.device = s.device;  // remote.js adds «Обновить снимок» and the command's state
    figure.append(picture, caption);
    return figure;
  }));
}

async function helpAction(action, request) {
  try { await api("/console/api/help/" + action, {request}); } catch (error) { $("message").textContent = error.message; }
  await refresh();
}

async function refresh() {
  try {
    const state = await api("/console/api/state?window=" + encodeURIComponent($("window").value));
    render(state);
    renderHelp((await api("/console/api/help")).requests);
    renderRatings(await api("/console/api/ratings"));
    if (state.operator.role === "supervisor") {
      renderHall(await api("/console/api/hall"));
      renderDevices((await api("/console/api/devices")).devices);
      renderScreens((await api("/console/api/screens")).screens);
      renderReleases(await api("/console/api/releases"));
    }
  } catch (error) { /* signed out or the hub is restarting: the next poll tries again */ }
}

// One action at the window; whether the hub took it (a refusal is shown in one line under the buttons).
async function act(action, extra) {
  $("message").textContent = "";
  let done = false;
  try {
    const reply = await api("/console/api/" + action, Object.assign({window: $("window").value}, extra || {}));
    if (action === "call-next" && !reply.ticket) { $("message").textContent = "Никто не ждёт в очереди этих услуг"; }
    done = true;
  } catch (error) { $("message").textContent = error.message; }
  $("message").title = $("message").textContent;
  await refresh();
  return done;
}

$("sign-in").onclick = async () => {
  $("sign-in-message").textContent = "";
  try {
    await api("/console/api/sign-in", {center: $("center").value, login: $("login").value, password: $("password").value});
    $("sign-in-form").classList.add("hidden"); $("console").classList.remove("hidden");
    $("sign-out").classList.remove("hidden");
    await refresh();
  } catch (error) { $("sign-in-message").textContent = error.message; }
};
$("password").addEventListener("keydown", (e) => { if (e.key === "Enter") $("sign-in").click(); });
$("sign-out").onclick = async () => { await api("/console/api/sign-out", {}).catch(() => {}); showSignIn(); };
$("open-window").onclick = async () => {
  const services = [...$("services").querySelectorAll("input:checked")].map((box) => box.value);
  $("message").textContent = "";
  try {
    await api("/console/api/open-window", {window: $("window").value, services});
    windowOpen = true;
  } catch (error) { $("message").textContent = error.message; }
  await refresh();
};
$("close-window").onclick = () => act("close-window");
$("call-next").onclick = () => act("call-next");
$("recall").onclick = () => act("recall");
$("start").onclick = () => act("start");
$("finish").onclick = () => act("finish", visitOutcomes());
$("no-show").onclick = () => act("no-show");
$("transfer").onclick = () => act("transfer", {["to_" + $("transfer-kind").value]: transferTarget().value});
$("transfer-kind").onchange = () => { showTransferTarget(); refresh(); };
$("hold").onclick = async () => { if (await act("hold", {reason: $("hold-reason").value.trim()})) { $("hold-reason").value = ""; } };
$("add-service").onclick = () => act("add-service", {service: $("add-service-to").value});
$("call-number-go").onclick = async () => {
  const number = $("call-number").value.trim().toUpperCase();
  if (!number) { $("message").textContent = "Введите номер талона"; $("call-number").focus(); return; }
  const service = $("call-number-service").value;
  if (await act("call-number", service ? {number, service} : {number})) { $("call-number").value = ""; }
};
$("walk-in").onclick = () => act("walk-in", {service: $("walk-in-service").value});
$("pause").onclick = () => act("pause", {reason: $("pause-reason").value});
$("resume").onclick = () => act("resume");
for (const [field, button] of [["call-number", "call-number-go"], ["hold-reason", "hold"]]) {
  $(field).addEventListener("keydown", (e) => { if (e.key === "Enter" && !$(button).disabled) $(button).click(); });
}

refresh().then(() => { if ($("who").textContent) { $("sign-in-form").classList.add("hidden");
  $("console").classList.remove("hidden"); $("sign-out").classList.remove("hidden"); } });
setInterval(refresh, 1000);
