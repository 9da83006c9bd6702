"""Booked visits on the hub: which ticket keeps a booking, and the supervisor's view of the day.

A kiosk checks a visitor in by their booking's code from its own copy of the day's bookings,
offline too, and says so in the ticket.issued event (`booking`). Two kiosks that were both
offline may each have checked the same booking in. When their tickets reach the hub, the
earlier ticket — by the hub's time of issue, then by id — keeps the booking; the other is a
walk-in from then on, with `booking_duplicate` set so that its operator is told when it is
called («повторная регистрация по записи»). Both tickets stay: nothing is lost. A ticket that
keeps the booking once it has been called keeps it whatever arrives later: a visitor already
at a window is not taken back. The booking row records its ticket and check-in time, which
the kiosks' copy (GET /api/v1/bookings/today) reports as `checked_in`.

The supervisor's view lists the bookings of the center's day with their check-in, ticket, call
and whether the 5-minute norm was met (hub/queue_order.py says when a booked ticket is due);
a booking whose slot began more than 15 minutes ago without a check-in is a no-show.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from hub.centers import Centers
from hub.db import HubDB, Row, iso, stored_time
from hub.queue_order import BOOKED_NORM

NO_SHOW_AFTER = timedelta(minutes=15)  # the kiosks stop checking a booking in this long after its slot


def settle_check_ins(d: Database, center: str, claims: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """In the ingest's transaction: each newly stored ticket of `claims` (ticket id, the
    booking of its event) joins its booking's other tickets, and the booking goes to one."""
    by_booking: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for ticket, booking in claims:
        by_booking.setdefault(booking["id"], []).append((ticket, booking))
    for booking_id, new in by_booking.items():
        rows = list(d.query("SELECT center, slot_start FROM bookings WHERE id = ?", [booking_id]))
        if rows and rows[0]["center"] != center:
            continue  # another center's booking is not honoured here: its tickets stay walk-ins
        # The booking system's slot when the hub has the booking (it may have moved), else the kiosk's.
        slot = stored_time(rows[0]["slot_start"] if rows else new[0][1]["slot_start"])
        _settle(d, center, booking_id, slot, [ticket for ticket, _ in new], has_row=bool(rows))


def _settle(d: Database, center: str, booking: str, slot: str, new: list[str], has_row: bool) -> None:
    marks = ",".join("?" * len(new))
    # Three look-ups by index (the new tickets by id, the booking's others by the partial indexes
    # of step 10), not one OR that SQLite answers by reading every ticket of the center.
    tickets = list(d.query(
        f"SELECT id, issued_at, state, booking FROM tickets WHERE id IN ({marks}) AND center = ? UNION "
        "SELECT id, issued_at, state, booking FROM tickets WHERE booking = ? AND booking != '' AND center = ? UNION "
        "SELECT id, issued_at, state, booking FROM tickets WHERE booking_duplicate = ? AND booking_duplicate != '' "
        "AND center = ?", [*new, center, booking, center, booking, center]))
    if not tickets:
        return
    # A holder already called (or served and transferred on, waiting again) keeps the booking.
    called = [t for t in tickets if t["booking"] == booking and (t["state"] != "waiting" or d.execute(
        "SELECT 1 FROM ticket_history WHERE ticket = ? AND state = 'called' LIMIT 1", [t["id"]]).fetchone())]
    keeper = called[0] if called else min(tickets, key=lambda t: (t["issued_at"], t["id"]))
    for t in tickets:
        if t["id"] == keeper["id"]:
            d.execute("UPDATE tickets SET booking = ?, slot_at = ?, booking_duplicate = '' WHERE id = ?",
                      [booking, slot if not called else t.get("slot_at", slot), t["id"]])
        else:
            d.execute("UPDATE tickets SET booking = '', slot_at = '', booking_duplicate = ? WHERE id = ?",
                      [booking, t["id"]])
    if has_row:
        d.execute("UPDATE bookings SET checked_in_ticket = ?, checked_in_at = ? WHERE id = ?",
                  [keeper["id"], keeper["issued_at"], booking])


def _local_day_bounds(centers: Centers, center: str, day: str) -> tuple[str, str]:
    """The UTC start and end of the center's local `day`, in the hub's spelling of times."""
    start = datetime.fromisoformat(day).replace(tzinfo=centers.timezone(center))
    return iso(start), iso(start + timedelta(days=1))


class BookedVisits:
    def __init__(self, db: HubDB, centers: Centers):
        self.db, self.centers = db, centers

    def day(self, center: str, day: str | None = None) -> dict[str, Any]:
        """The bookings of the center's `day` (today by default) in slot order, each with its
        check-in, ticket, first call and norm; the tickets flagged as a second check-in; and
        the day's counts."""
        day = day or self.centers.today(center)[0]
        start, end = _local_day_bounds(self.centers, center, day)
        now = self.db.now()
        rows = self.db.db.query(
            "SELECT b.*, t.number, t.state AS ticket_state, t.issued_at AS ticket_issued_at, "
            "(SELECT min(h.at) FROM ticket_history h WHERE h.ticket = t.id AND h.state = 'called') AS called_at "
            "FROM bookings b LEFT JOIN tickets t ON t.id = b.checked_in_ticket AND b.checked_in_ticket != '' "
            "WHERE b.center = ? AND b.slot_start >= ? AND b.slot_start < ? ORDER BY b.slot_start, b.code",
            [center, start, end])
        visits = [self._visit(r, now) for r in rows]
        duplicates = [{"number": r["number"], "booking": r["booking_duplicate"], "issued_at": r["issued_at"],
                       "state": r["state"]} for r in self.db.db.query(
            "SELECT number, booking_duplicate, issued_at, state FROM tickets WHERE center = ? AND day = ? "
            "AND booking_duplicate != '' ORDER BY issued_at, id", [center, day])]
        judged = [v for v in visits if v["norm_met"] is not None]
        return {"center": center, "day": day, "visits": visits, "duplicates": duplicates, "counts": {
            "booked": sum(v["state"] == "active" for v in visits),
            "cancelled": sum(v["state"] == "cancelled" for v in visits),
            "checked_in": sum(bool(v["checked_in_at"]) for v in visits),
            "called": sum(bool(v["called_at"]) for v in visits),
            "norm_met": sum(bool(v["norm_met"]) for v in judged),
            "norm_judged": len(judged),
            "no_shows": sum(v["no_show"] for v in visits)}}

    @staticmethod
    def _visit(r: Row, now: datetime) -> dict[str, Any]:
        checked_in = r["checked_in_at"] or None
        due = max(r["slot_start"], checked_in) if checked_in else r["slot_start"]
        deadline = datetime.fromisoformat(due) + BOOKED_NORM
        if r["called_at"]:
            norm_met: bool | None = datetime.fromisoformat(r["called_at"]) <= deadline
        elif checked_in and r["ticket_state"] == "waiting" and now > deadline:
            norm_met = False  # still waiting past its 5 minutes: already missed
        else:
            norm_met = None  # not called yet within its time, or never checked in
        return {"id": r["id"], "code": r["code"], "service": r["service"], "initial": r["initial"] or "",
                "slot_start": r["slot_start"], "slot_end": r["slot_end"], "state": r["state"],
                "checked_in_at": checked_in, "ticket": r["number"], "ticket_state": r["ticket_state"],
                "called_at": r["called_at"], "norm_met": norm_met,
                "no_show": r["state"] == "active" and not checked_in
                and now > datetime.fromisoformat(r["slot_start"]) + NO_SHOW_AFTER}
