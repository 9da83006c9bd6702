// The supervisor's booked visits of the day on the console (hub/booked_visits.py): each booking's
// slot, code, check-in, ticket and call, whether the visitor was called within 5 minutes of the
// slot, and the no-shows; below, the tickets of a second check-in by a booking another ticket
// kept. A file of its own beside console.js, whose `api`, `clock`, `row`, `percent` and
// `serviceNames` it uses; console.js shows the section to supervisors only.
"use strict";
(() => {
  function checkIn(v) {
    if (v.state === "cancelled") { return ["отменена", ""]; }
    if (v.checked_in_at) { return [clock(v.checked_in_at), "num"]; }
    return v.no_show ? ["не пришёл", "late"] : ["—", ""];
  }

  function norm(v) {
    if (v.norm_met === null) { return ["—", "num"]; }
    return v.norm_met ? ["да", "num"] : ["нет", "num late"];
  }

  function render(found) {
    $("bookings-day").textContent = found.day;
    const c = found.counts;
    $("bookings-summary").textContent = "Записей " + c.booked + " · пришли " + c.checked_in + " · вызваны " + c.called +
      " · вызваны в течение 5 минут " + c.norm_met + " из " + c.norm_judged +
      (c.norm_judged ? " (" + percent(c.norm_met / c.norm_judged) + ")" : "") +
      " · не пришли " + c.no_shows + (c.cancelled ? " · отменены " + c.cancelled : "");
    $("booking-rows").replaceChildren(...(found.visits.length ? found.visits.map((v) => {
      const tr = row([[clock(v.slot_start) + "–" + clock(v.slot_end), ""], [v.code, ""],
        [serviceNames[v.service] || v.service, ""], checkIn(v), [v.ticket || "—", ""],
        [v.called_at ? clock(v.called_at) : "—", "num"], norm(v)]);
      if (v.no_show) { tr.classList.add("no-show"); }
      return tr;
    }) : [row([["На этот день записей нет", ""]])]));
    $("booking-duplicates").replaceChildren(...found.duplicates.map((d) => Object.assign(document.createElement("li"), {
      textContent: d.number + " · " + clock(d.issued_at) + " · повторная регистрация по записи — обслуживается как в живой очереди"})));
    $("booking-duplicates-title").classList.toggle("hidden", !found.duplicates.length);
  }

  async function refreshBookings() {
    if ($("bookings").classList.contains("hidden")) { return; }  // not a supervisor, or signed out
    try { render(await api("/console/api/bookings")); } catch (error) { /* the next poll tries again */ }
  }

  setInterval(refreshBookings, 2000);
})();
