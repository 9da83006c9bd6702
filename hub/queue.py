"""The live queue: the tickets of all kiosks of a center, one line per service.

Call order (hub/queue_order.py, where it is written out): priority tickets first, but never
more than `priority_streak` of them in a row at one window while an ordinary ticket waits (so
the ordinary line cannot stall); then by time of issue, so a ticket that reached the hub late
after an outage takes its place by when it was issued. A booked visitor goes ahead from their
slot on, unless a walk-in's 15 minutes run out before the booked visitor's 5. That time, the
ticket's service day and the number it is called by are the hub's, placed when the ticket
arrives (hub/placement.py), whatever the kiosk's clock said. Every state change is kept with
its time in `ticket_history`: the data for wait times, service times and the 15-minute standard.

    waiting → called → serving → done | no_show | transferred (→ waiting in another service)
    waiting | held → expired, when its service day is over in the center's time zone
    waiting → cancelled, by the visitor from the phone page (`cancel`): never called afterwards

Holds, transfers to a window or an operator, walk-ins, calls of a given number, the services
of a visit and pauses are hub/visits.py's, on which the Queue builds. A day's line ends with
the day: the first call of the morning is a ticket of that morning, never one left waiting
(or held) the evening before. What ends is what the hub had before midnight; a
ticket that arrives today but is placed on a past day (its kiosk's monotonic clock says its
visitor came yesterday) joins the line already expired.

The queue owns the ticket rows: event ingest hands it each new `ticket.issued` event
(`add_issued`), and only the queue changes a ticket afterwards; an event whose number an
operator has already called completes that ticket rather than making a second one. Its `estimates`
(hub/estimates.py) make the one wait estimate the hub gives.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from hub.booked_visits import settle_check_ins
from hub.centers import Centers
from hub.db import HubDB, Row, iso, stored_time
from hub.estimates import Estimates
from hub.placement import Arrival, Placement, call_numbers
from hub.queue_order import next_ticket
from hub.visits import ACTIVE, QueueError, Visits

__all__ = ["ACTIVE", "Call", "Queue", "QueueError"]

DEFAULT_PRIORITY_STREAK = 3


@dataclass(frozen=True)
class Call:
    number: str
    window: str
    at: str
    recall: bool


class Queue(Visits):
    def __init__(self, db: HubDB, centers: Centers, priority_streak: int = DEFAULT_PRIORITY_STREAK):
        super().__init__(db, centers)
        self.priority_streak = priority_streak
        self.estimates = Estimates(db)

    # --- tickets arriving -------------------------------------------------------

    def add_issued(self, d: Database, center: str, events: list[dict[str, Any]], received: str,
                   sender: tuple[str, float] | None = None) -> int:
        """Put the tickets of newly stored `ticket.issued` events in line, in the caller's
        transaction (the ingest's, so a ticket is in line if and only if its event is stored);
        how many were new. `received`: when the hub got them; `sender`: the sending device's
        boot and monotonic clock then. Both place each ticket: when its visitor came, its day
        and its call number (hub/placement.py)."""
        known = self._known_tickets(d, [e["body"]["ticket"] for e in events])
        new: dict[str, dict[str, Any]] = {}
        for event in events:
            if event["body"]["ticket"] not in known:
                new.setdefault(event["body"]["ticket"], event)  # a ticket sent twice is placed once
        if not new:
            return 0
        arrival = Arrival(datetime.fromisoformat(received), sender, self.centers.timezone(center))
        placed = [(event, arrival.place(event["body"])) for event in new.values()]
        completed = self._complete_awaiting(d, center, placed, received)
        fresh = [(event, where) for event, where in placed if event["body"]["ticket"] not in completed]
        numbers = call_numbers(d, center, [(event["body"]["number"], where.day) for event, where in fresh])
        added = self._insert_waiting(d, [
            (body["ticket"], center, event["device"], number, body["number"], body["service"], where.day,
             body["day"], int(body["priority"]), iso(where.at), stored_time(body["issued_at"]),
             where.timing, body["status_token"], received)
            for (event, where), number in zip(fresh, numbers, strict=True) for body in [event["body"]]])
        settle_check_ins(d, center, [(body["ticket"], body["booking"]) for event, _ in placed
                                     for body in [event["body"]] if body.get("booking")])
        today = arrival.today.isoformat()
        self._expire(d, center, [event["body"]["ticket"] for event, where in placed if where.day < today],
                     "issued on a past day")
        if added > 0 or completed:
            self.db.bump_feed(d, center)
        return added

    def _complete_awaiting(self, d: Database, center: str, placed: list[tuple[dict[str, Any], Placement]],
                           received: str) -> set[str]:
        """The tickets of `placed` that an operator called by number before their event came
        (hub/visits.py, `awaiting_event`): each such row takes the kiosk's ticket id, time of
        issue, device, token and priority, so the visit stays one ticket with one history. The
        call number and service stay the operator's. The ids completed."""
        keys = sorted({(where.day, event["body"]["number"]) for event, where in placed})
        awaiting: dict[tuple[str, str], tuple[str, str | None]] = {}
        for start in range(0, len(keys), 500):  # one walk down the unique index (center, day, number)
            chunk = keys[start:start + 500]
            awaiting.update(((day, number), (ticket, called)) for ticket, day, number, called in d.execute(
                f"WITH wanted(day, number) AS (VALUES {','.join(['(?, ?)'] * len(chunk))}) "
                "SELECT t.id, t.day, t.number, t.called_at FROM wanted JOIN tickets AS t ON t.center = ? "
                "AND t.day = wanted.day AND t.number = wanted.number WHERE t.awaiting_event = 1",
                [*(v for pair in chunk for v in pair), center]))
        completed: dict[str, str] = {}  # the hub's id -> the kiosk's
        for event, where in placed:
            body = event["body"]
            found = awaiting.pop((where.day, body["number"]), None)
            if found is None:
                continue
            old, called = found
            # Issued no later than it was called, whatever the kiosk's clock said.
            issued = min(iso(where.at), called) if called else iso(where.at)
            d.execute("UPDATE tickets SET id = ?, device = ?, issued_at = ?, device_day = ?, device_issued_at = ?, "
                      "timing = ?, status_token = ?, priority = ?, received_at = ?, awaiting_event = 0 WHERE id = ?",
                      [body["ticket"], event["device"], issued, body["day"], stored_time(body["issued_at"]),
                       where.timing, body["status_token"], int(body["priority"]), received, old])
            for table in ("ticket_history", "visit_services"):  # both indexed by ticket
                d.execute(f"UPDATE {table} SET ticket = ? WHERE ticket = ?", [body["ticket"], old])
            d.execute("UPDATE ratings SET ticket = ? WHERE center = ? AND ticket = ?", [body["ticket"], center, old])
            completed[old] = body["ticket"]
        if completed:  # calls has no index by ticket: one pass over it for the batch (this is rare)
            d.execute(f"UPDATE calls SET ticket = CASE ticket {' '.join(['WHEN ? THEN ?'] * len(completed))} END "
                      f"WHERE center = ? AND ticket IN ({','.join('?' * len(completed))})",
                      [*(v for pair in completed.items() for v in pair), center, *completed])
        return set(completed.values())

    @staticmethod
    def _insert_waiting(d: Database, rows: list[tuple[Any, ...]]) -> int:
        """Insert new tickets as waiting; how many were inserted. One statement per 500 rows,
        about a quarter quicker than one statement per row (executemany)."""
        added = 0
        for start in range(0, len(rows), 500):  # 7,000 values: within SQLite's limit on ? per statement
            chunk = rows[start:start + 500]
            added += d.execute(
                "INSERT OR IGNORE INTO tickets (id, center, device, number, printed_number, service, day, "
                "device_day, priority, issued_at, device_issued_at, timing, status_token, received_at, state) "
                f"VALUES {','.join(['(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'] * len(chunk))}",
                [v for row in chunk for v in (*row, "waiting")]).rowcount
        return added

    @staticmethod
    def _known_tickets(d: Database, ids: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            known.update(r[0] for r in d.execute(
                f"SELECT id FROM tickets WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return known

    # --- reading --------------------------------------------------------------

    def waiting(self, center: str, now: datetime | None = None) -> dict[str, Row]:
        """Per service: how many wait, and the longest wait so far in seconds."""
        now_text = iso(now or self.db.now())
        rows = self.db.db.query(
            "SELECT service, count(*) AS n, min(issued_at) AS oldest FROM tickets "
            "WHERE center = ? AND state = 'waiting' GROUP BY service", [center])
        return {r["service"]: {"count": r["n"], "oldest": r["oldest"], "longest_wait_s": max(0, int(
            (datetime.fromisoformat(now_text) - datetime.fromisoformat(r["oldest"])).total_seconds()))}
            for r in rows}

    def recent_calls(self, center: str, limit: int = 10) -> list[Call]:
        rows = self.db.db.query("SELECT number, window, at, recall FROM calls WHERE center = ? ORDER BY id DESC "
                                "LIMIT ?", [center, limit])
        return [Call(r["number"], r["window"], r["at"], bool(r["recall"])) for r in rows]

    def ticket_by_token(self, status_token: str) -> Row | None:
        rows = list(self.db.db.query("SELECT * FROM tickets WHERE status_token = ?", [status_token]))
        return rows[0] if rows else None

    def times_called(self, ticket_id: str) -> int:
        """How often the ticket has been called, recalls included: a phone rings again for each."""
        return self.db.db.execute("SELECT count(*) FROM ticket_history WHERE ticket = ? "
                                  "AND state IN ('called', 'recalled')", [ticket_id]).fetchone()[0]

    def tickets_of_day(self, center: str, day: str) -> list[Row]:
        """A center's tickets of one service day in order of issue, with their state, window and
        the device they came from; without their status tokens, which open the phone page."""
        rows = self.db.db.query("SELECT * FROM tickets WHERE center = ? AND day = ? ORDER BY issued_at, id",
                                [center, day])
        return [{k: v for k, v in row.items() if k != "status_token"} for row in rows]

    # --- operator actions ------------------------------------------------------

    def open_window(self, center: str, window: str, services: list[str], operator: str,
                    take_over: bool = False) -> None:
        """Open a window, or change its services. A window one operator holds is not another's to
        open, unless `take_over` (a supervisor's power)."""
        with self.db.transaction() as d:
            held = self.window(center, window)
            if held and held["operator"] not in (None, operator) and not take_over:
                raise QueueError(f"window {window} is open by another operator; a supervisor can close it")
            d.table("windows").upsert({"center": center, "window": window, "services": json.dumps(services),
                                 "open_since": held["open_since"] if held else iso(self.db.now()),
                                 "operator": operator}, pk=("center", "window"))
            self.db.bump_feed(d, center)

    def close_window(self, center: str, window: str) -> None:
        with self.db.transaction() as d:
            if self.current(center, window):
                raise QueueError("finish the current visitor or mark a no-show first")
            self._end_pause(d, center, window)  # a closed window is not paused
            d.execute("UPDATE windows SET open_since = NULL, operator = NULL WHERE center = ? AND window = ?",
                      [center, window])
            self.db.bump_feed(d, center)

    def call_next(self, center: str, window: str, services: list[str]) -> Row | None:
        """Finish nothing, skip nobody: a window with a visitor still called must finish or mark
        no-show first. A paused window's pause ends. Tickets transferred to this window or to its
        operator come first (hub/queue_order.py)."""
        if not services:
            raise QueueError("choose the services this window serves")
        with self.db.transaction() as d:
            self._free(d, center, window)
            rows = list(d.query("SELECT priority_streak, operator FROM windows WHERE center = ? AND window = ?",
                                [center, window]))
            streak = (rows[0]["priority_streak"] or 0) if rows else 0
            self._expire_past_days(d, center)  # the minute's check may not have run since midnight
            ticket = next_ticket(d, center, services, self.db.now(), streak, self.priority_streak,
                                 window, (rows[0]["operator"] or "") if rows else "")
            if ticket is None:
                return None
            self._set_state(d, ticket, "called", window, window=window, called_at="now")
            self._announce(d, ticket, window)
            # The streak counts the walk-in line's calls (hub/queue_order.py).
            if not ticket["booking"] and not ticket["for_window"] and not ticket["for_operator"]:
                d.table("windows").upsert({"center": center, "window": window,
                                           "priority_streak": streak + 1 if ticket["priority"] else 0},
                                          pk=("center", "window"))
            return dict(d.table("tickets").get(ticket["id"]))

    def recall(self, center: str, window: str) -> Row:
        with self.db.transaction() as d:
            ticket = self._active(center, window)
            self._announce(d, ticket, window, recall=True)
            self._history(d, ticket, "recalled", window)
            self.db.bump_feed(d, center)
            return ticket

    def start(self, center: str, window: str) -> Row:
        with self.db.transaction() as d:
            ticket = self._active(center, window)
            if ticket["state"] == "called":  # a visitor back from hold was served since then already
                self._set_state(d, ticket, "serving", window, started_at=ticket["started_at"] or "now")
            return dict(d.table("tickets").get(ticket["id"]))

    def no_show(self, center: str, window: str) -> Row:
        with self.db.transaction() as d:
            ticket = self._active(center, window)
            self._set_state(d, ticket, "no_show", window, finished_at="now")
            self._drop_pending_services(d, [ticket["id"]])
            return dict(d.table("tickets").get(ticket["id"]))

    def cancel(self, status_token: str) -> Row | None:
        """The visitor gives up their ticket from the phone page: a waiting ticket leaves the line
        as `cancelled`. Idempotent: a ticket already cancelled is returned as it is (a second tap,
        a reloaded form). None for an unknown token; QueueError for a ticket no longer waiting,
        which the window has called or served and only the operator can close."""
        with self.db.transaction() as d:
            found = list(d.query("SELECT * FROM tickets WHERE status_token = ?", [status_token]))
            if not found:
                return None
            ticket = found[0]
            if ticket["state"] == "waiting":
                self._set_state(d, ticket, "cancelled", None, finished_at="now")
            elif ticket["state"] != "cancelled":
                raise QueueError("only a ticket still waiting in line can be cancelled")
            return dict(d.table("tickets").get(ticket["id"]))

    def history(self, ticket_id: str) -> list[Row]:
        return list(self.db.db["ticket_history"].rows_where("ticket = ?", [ticket_id], order_by="id"))

    def close_past_days(self, center: str) -> int:
        """End the service days before the center's today: the tickets of those days that the
        hub had before today began and that still wait leave the live queue as `expired` (each
        change kept in the history); called or served ones are left as they are. Returns how
        many were closed. The hub runs this every minute, and before each call."""
        with self.db.transaction() as d:
            return self._expire_past_days(d, center)

    def _expire_past_days(self, d: Database, center: str) -> int:
        today, began = self.centers.today(center)
        waiting = [r["id"] for r in d.query(
            "SELECT id FROM tickets WHERE center = ? AND state IN ('waiting', 'held') AND day < ? "
            "AND (received_at IS NULL OR received_at < ?)", [center, today, began])]
        return self._expire(d, center, waiting, "end of day")

    def _expire(self, d: Database, center: str, tickets: list[str], detail: str) -> int:
        """Take waiting (or held) `tickets` out of the line as expired, each change kept in the history."""
        expired = [t for t in tickets
                   if d.execute("UPDATE tickets SET state = 'expired' WHERE id = ? AND state IN ('waiting', 'held')",
                                [t]).rowcount]
        self._drop_pending_services(d, expired)
        now = iso(self.db.now())
        d.table("ticket_history").insert_all([{"ticket": t, "center": center, "state": "expired", "at": now,
                                               "window": None, "detail": detail} for t in expired])
        if expired:
            self.db.bump_feed(d, center)
        return len(expired)

    @staticmethod
    def _drop_pending_services(d: Database, tickets: list[str]) -> None:
        """Services added to a visit that ended unfinished (a no-show, a held visitor who never
        came back) were not provided: they leave no outcome."""
        for ticket in tickets:
            d.execute("DELETE FROM visit_services WHERE ticket = ? AND outcome = ''", [ticket])

    def close_past_days_everywhere(self) -> int:
        centers = [r[0] for r in self.db.db.execute("SELECT DISTINCT center FROM devices")]
        return sum(self.close_past_days(center) for center in centers)
