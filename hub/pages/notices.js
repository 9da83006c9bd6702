// Urgent notices on the supervisor's console (hub/notices.py): «Срочное объявление» posts one to
// every kiosk and screen of the center, for some services or all, until it expires or «Снять»
// takes it down; the notices that ended lately say who posted and who withdrew them. A file of
// its own beside console.js, whose `api`, `when` and `serviceNames` it uses; console.js shows the
// section to supervisors only. Typed text survives the redraws each second: only the services'
// boxes (when the catalog changes) and the lists are drawn again.
"use strict";
(() => {
  // The form field at fault, as the hub names it ("text_ru: ..."), and where the cursor goes.
  const FIELDS = {text_ru: "notice-ru", text_en: "notice-en", services: "notice-services",
    expires: "notice-expires", until: "notice-until", expires_at: "notice-expires"};

  function say(text, done) {
    $("notice-message").textContent = text;
    $("notice-message").classList.toggle("done", !!done);
  }

  function renderServices() {
    const services = Object.entries(serviceNames);  // the center's catalog, in its order (console.js)
    const listed = services.map(([id]) => id).join("\n");
    if (listed === $("notice-services").dataset.listed) { return; }
    const ticked = new Set([...$("notice-services").querySelectorAll("input:checked")].map((box) => box.value));
    $("notice-services").replaceChildren(...services.map(([id, name]) => {
      const label = document.createElement("label");
      const box = document.createElement("input"); box.type = "checkbox"; box.value = id; box.checked = ticked.has(id);
      label.append(box, name);
      return label;
    }));
    $("notice-services").dataset.listed = listed;
  }

  function item(n, about, action) {
    const li = document.createElement("li");
    const text = document.createElement("span"); text.textContent = n.text_ru;
    const small = document.createElement("small");
    small.textContent = (n.services.length ? "для услуг: " + n.services.map((s) => serviceNames[s] || s).join(", ")
      : "для всего центра") + " · " + about;
    text.append(small);
    li.append(text, ...(action ? [action] : []));
    return li;
  }

  function render(found) {
    renderServices();
    const by = (name, login) => name || login;
    $("notice-list").replaceChildren(...(found.current.length ? found.current.map((n) => {
      const withdraw = document.createElement("button"); withdraw.textContent = "Снять";
      withdraw.onclick = () => withdrawNotice(n.id);
      return item(n, "до " + when(n.expires_at) + " · опубликовал(а) " + by(n.posted_by_name, n.posted_by) +
        (n.text_en ? " · есть английский текст" : ""), withdraw);
    }) : [Object.assign(document.createElement("li"), {textContent: "Нет действующих объявлений"})]));
    $("notice-ended").replaceChildren(...found.ended.map((n) => item(n, "опубликовал(а) " +
      by(n.posted_by_name, n.posted_by) + " · " + (n.withdrawn_at
        ? "снял(а) " + by(n.withdrawn_by_name, n.withdrawn_by) + " " + when(n.withdrawn_at)
        : "истекло " + when(n.expires_at)))));
    $("notice-ended-title").classList.toggle("hidden", !found.ended.length);
  }

  async function refreshNotices() {
    if ($("notices").classList.contains("hidden")) { return; }  // not a supervisor, or signed out
    try { render(await api("/console/api/notices")); } catch (error) { /* the next second tries again */ }
  }

  async function postNotice() {
    const expires = $("notice-expires").value;
    const body = {text_ru: $("notice-ru").value, text_en: $("notice-en").value,
      services: [...$("notice-services").querySelectorAll("input:checked")].map((box) => box.value)};
    say("");
    if (expires === "until" && !$("notice-until").value) {
      say("Укажите, до какого времени сегодня действует объявление");
      return;
    }
    if (expires === "until") { body.until = $("notice-until").value; } else { body.expires_in_minutes = Number(expires); }
    try {
      await api("/console/api/notices", body);
      $("notice-ru").value = ""; $("notice-en").value = "";
      for (const box of $("notice-services").querySelectorAll("input:checked")) { box.checked = false; }
      say("Опубликовано: киоски и экраны покажут его в течение нескольких секунд", true);
    } catch (error) {
      const [, field, said] = error.message.match(/^(\w+): (.*)$/s) || [null, "", error.message];
      say(said);
      if (FIELDS[field]) { $(FIELDS[field]).focus(); }
    }
    await refreshNotices();
  }

  async function withdrawNotice(id) {
    if (!confirm("Снять объявление со всех киосков и экранов?")) { return; }
    say("");
    try { await api("/console/api/notices/" + encodeURIComponent(id) + "/withdraw", {}); }
    catch (error) { say(error.message); }
    await refreshNotices();
  }

  $("notice-post").onclick = postNotice;
  $("notice-expires").onchange = () => $("notice-until").classList.toggle("hidden", $("notice-expires").value !== "until");
  setInterval(refreshNotices, 1000);
})();
