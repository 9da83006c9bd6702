"""Visitors' ratings of the service at each window: one per served ticket.

A rating arrives as a `rating.given` event from the window's console. The console names the
ticket the hub last told it was served at its window; a rating made while the hub was out of
reach names none, and the hub attaches it to the ticket that was at that window at the
rating's time. A rating naming a ticket must come from a window that ticket was called to, and a
ticket is rated once: the hub refuses another rating for it with the reason, so one console cannot
rate the visitor of another window first. A rating made offline and attached by time to a ticket
already rated is dropped (its event is still kept in the log). "Happy" is the top of the scale:
4 or 5 of 5, 3 of 3.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from hub.centers import Centers
from hub.db import HubDB, Row, iso

# A rating this long after the visitor's service finished is not about that service.
SERVED_RECENTLY = timedelta(minutes=15)


def is_happy(score: int, scale: int) -> bool:
    return score * 3 > scale * 2


def served_ticket(db: Database, center: str, window: str, at: datetime) -> Row | None:
    """The ticket at the window at `at`: the one called there last, unless finished long before."""
    rows = list(db.query(
        "SELECT id, number, state, finished_at FROM tickets WHERE center = ? AND window = ? AND called_at <= ? "
        "AND state IN ('called', 'serving', 'done') ORDER BY called_at DESC LIMIT 1", [center, window, iso(at)]))
    if not rows or (rows[0]["finished_at"] and rows[0]["finished_at"] < iso(at - SERVED_RECENTLY)):
        return None
    return rows[0]


class Ratings:
    def __init__(self, db: HubDB, centers: Centers):
        self.db, self.centers = db, centers

    def problems(self, d: Database, events: list[dict[str, Any]]) -> dict[str, str]:
        """Ingest check for valid `rating.given` events, in the ingest transaction: event id ->
        why it cannot count. A named ticket must have been called to the rating's window and not
        be rated by another event already (of this batch or before)."""
        found: dict[str, str] = {}
        claimed: dict[str, str] = {}  # ticket -> the event of this batch rating it
        for event in events:
            body, ticket = event["body"], event["body"]["ticket"]
            if ticket is None:
                continue
            called = d.execute("SELECT 1 FROM ticket_history WHERE ticket = ? AND center = ? AND state = 'called' "
                               "AND window = ? LIMIT 1", [ticket, event["center"], body["window"]]).fetchone()
            if called is None:
                found[event["id"]] = (f"ticket {ticket} was not called to window {body['window']}: a rating counts "
                                      "only for a visitor served at the console's own window")
                continue
            rated = d.execute("SELECT event FROM ratings WHERE center = ? AND ticket = ?",
                              [event["center"], ticket]).fetchone()
            other = rated[0] if rated and rated[0] != event["id"] else claimed.get(ticket, event["id"])
            if other != event["id"]:
                found[event["id"]] = f"ticket {ticket} is already rated (event {other})"
            else:
                claimed[ticket] = event["id"]
        return found

    def project(self, d: Database, event: dict[str, Any]) -> None:
        """Ingest hook for `rating.given`: runs inside the ingest transaction."""
        body, at = event["body"], datetime.fromisoformat(event["at"])
        ticket = body["ticket"]
        if ticket is None:
            found = served_ticket(d, event["center"], body["window"], at)
            ticket = found and found["id"]
        d.execute("INSERT OR IGNORE INTO ratings (event, center, device, window, ticket, score, scale, day, at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [event["id"], event["center"], event["device"], body["window"],
                                                        ticket, body["score"], body["scale"], body["day"], iso(at)])

    def for_ticket(self, center: str, ticket: str) -> Row | None:
        rows = list(self.db.db.query("SELECT * FROM ratings WHERE center = ? AND ticket = ?", [center, ticket]))
        return rows[0] if rows else None

    def today(self, center: str) -> dict[str, Any]:
        """Today's ratings: count, share of happy visitors, in total and per window. Today is the
        center's local date by the hub's clock, never the newest day a device sent: one console
        with its clock a day ahead must not move every screen's "today" to tomorrow."""
        day = self.centers.today(center)[0]
        rows = self.db.db.query("SELECT window, score, scale FROM ratings WHERE center = ? AND day = ?",
                                [center, day])
        tallies: dict[str, list[int]] = {}
        total = [0, 0]
        for r in rows:
            for tally in (tallies.setdefault(r["window"], [0, 0]), total):
                tally[0] += 1
                tally[1] += is_happy(r["score"], r["scale"])

        def summary(tally: list[int]) -> dict[str, Any]:
            return {"count": tally[0], "happy": tally[1],
                    "happy_share": round(tally[1] / tally[0], 3) if tally[0] else None}

        return {"day": day, "total": summary(total),
                "windows": {w: summary(t) for w, t in sorted(tallies.items(), key=lambda kv: (len(kv[0]), kv[0]))}}
