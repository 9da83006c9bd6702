// Remote hands on the supervisor's console (hub/remote.py): restart a device's app, reboot it,
// ask it for a screenshot, and what became of the latest of each. A file of its own beside
// console.js, which redraws its panels every second: each new row of «Устройства» gets a cell of
// buttons here, and each screen of «Экраны» its «Обновить снимок» (the same screenshot command),
// from the commands last fetched. A device row carries its device id and its second cell starts
// with the role; a screen's figure carries its device id.
"use strict";
(() => {
  const KINDS = [["restart", "Перезапустить"], ["reboot", "Перезагрузить"], ["screenshot", "Снимок экрана"]];
  const SCREEN_ROLES = ["kiosk", "signage"];
  // What devices report, said in Russian; anything else is shown as the device said it.
  const RESULTS = [["restarting", "перезапускается"], ["reboot requested", "перезагружается"],
                   ["screenshot sent", "снимок получен"], ["expired", "устройство не ответило"],
                   ["reboot is not available here", "перезагрузка здесь недоступна"]];
  let commands = {};  // device -> kind -> its latest command
  let notes = {};  // device -> a refusal to show until the next answer

  function said(command) {
    if (!command.result) { return command.delivered_at ? "выполняется" : "ждёт устройство"; }
    const known = RESULTS.find(([start]) => command.result.startsWith(start));
    return known ? known[1] : command.result;
  }

  function describe(device, kinds) {
    const lines = kinds.filter(([kind]) => commands[device] && commands[device][kind]).map(([kind, name]) => {
      const c = commands[device][kind];
      return name + " (" + c.requested_by + ", " + clock(c.requested_at) + "): " + said(c);
    });
    return [...lines, ...(notes[device] ? [notes[device]] : [])].join("\n");
  }

  async function ask(device, kind, name) {
    if (kind === "reboot" && !confirm("Перезагрузить устройство " + device + "? Оно не будет работать около минуты.")) {
      return;
    }
    delete notes[device];
    try { await api("/console/api/devices/" + encodeURIComponent(device) + "/" + kind, {}); }
    catch (error) { notes[device] = name + ": " + error.message; }
    await fetchCommands();
  }

  function button(device, kind, name) {
    const pending = commands[device] && commands[device][kind] && !commands[device][kind].result;
    const b = document.createElement("button");
    b.textContent = name; b.dataset.kind = kind; b.disabled = !!pending;
    b.onclick = () => ask(device, kind, name);
    return b;
  }

  function state(device, kinds) {
    const div = document.createElement("div"); div.className = "remote-state"; div.textContent = describe(device, kinds);
    return div;
  }

  function cell(tr) {
    const device = tr.dataset.device, role = tr.cells[1].textContent.split(" ")[0];
    const kinds = KINDS.filter(([kind]) => kind !== "screenshot" || SCREEN_ROLES.includes(role));
    const td = document.createElement("td"); td.className = "remote";
    td.append(...kinds.map(([kind, name]) => button(device, kind, name)), state(device, kinds));
    return td;
  }

  function screenCell(figure) {
    const device = figure.dataset.device, kinds = [["screenshot", "Обновить снимок"]];
    const div = document.createElement("div"); div.className = "remote";
    div.append(button(device, ...kinds[0]), state(device, kinds));
    return div;
  }

  function attach() {
    for (const tr of $("device-rows").rows) {
      const revoked = tr.cells.length > 2 && tr.cells[2].textContent === "отключено";
      const old = tr.querySelector("td.remote");
      if (old) { old.replaceWith(cell(tr)); } else if (!revoked) { tr.append(cell(tr)); }
    }
    for (const figure of $("screens").children) {
      const old = figure.querySelector("div.remote");
      if (old) { old.replaceWith(screenCell(figure)); } else { figure.append(screenCell(figure)); }
    }
  }

  async function fetchCommands() {
    if ($("hall").classList.contains("hidden")) { return; }  // not a supervisor, or signed out
    try {
      const found = {};
      for (const c of (await api("/console/api/commands")).commands) { (found[c.device] ||= {})[c.kind] = c; }
      commands = found;
    } catch (error) { return; }  // the hub is restarting: the next round tries again
    attach();
  }

  const header = $("devices").tHead.rows[0];
  const th = document.createElement("th"); th.textContent = "Удалённо"; header.append(th);
  // Only what console.js has just drawn: changing the rows inside this observer must not call it again.
  const redrawn = new MutationObserver((changes) => {
    if (changes.some((c) => c.target === $("device-rows") || c.target === $("screens"))) { attach(); }
  });
  redrawn.observe($("device-rows"), {childList: true});
  redrawn.observe($("screens"), {childList: true});
  setInterval(fetchCommands, 2000);
})();
