"""The supervisor's view of the hall: who works at which window, and how the day is going.

The day is the center's current service day: its local date by the hub's clock, in its time
zone (hub/centers.py), never the newest day any kiosk has dated a ticket with: one kiosk with
its clock a day ahead must not move the hall to tomorrow. A ticket's day is the hub's too
(hub/placement.py).
"Within standard" counts visitors called within 15 minutes of taking their ticket — the
waiting-time standard of Moscow's centers — and booked visitors called within 5 minutes of
their slot, or of their check-in if they came after it (hub/queue_order.py): a booked visitor
who checked in early waits for the slot, which is not a wait the center owes them. Walk-ins
(served without a ticket) and tickets called by number before their kiosk's event came have no
wait the hub knows: they count as issued and served, not in the waits.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hub.centers import Centers
from hub.db import HubDB, Row
from hub.queue_order import BOOKED_NORM

WAIT_STANDARD_MINUTES = 15
BOOKED_STANDARD_MINUTES = BOOKED_NORM.total_seconds() / 60


def _minutes(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


class Hall:
    def __init__(self, db: HubDB, centers: Centers):
        self.db, self.centers = db, centers

    def windows(self, center: str) -> list[dict[str, Any]]:
        """Every open window: its operator, services, the visitor at it, if any, its pause (since
        when, why) and how many of its visitors are on hold."""
        rows = self.db.db.query(
            "SELECT w.window, w.services, w.open_since, w.operator, o.name AS operator_name, "
            "w.paused_since, w.pause_reason, t.number, t.state, coalesce(t.started_at, t.called_at) AS since, "
            "(SELECT count(*) FROM tickets h WHERE h.center = w.center AND h.window = w.window "
            "AND h.state = 'held') AS held "
            "FROM windows w LEFT JOIN operators o ON o.center = w.center AND o.login = w.operator "
            "LEFT JOIN tickets t ON t.center = w.center AND t.window = w.window AND t.state IN ('called', 'serving') "
            "WHERE w.center = ? AND w.open_since IS NOT NULL ORDER BY length(w.window), w.window", [center])
        return [{"window": r["window"], "operator": r["operator"], "operator_name": r["operator_name"] or r["operator"],
                 "services": json.loads(r["services"] or "[]"), "open_since": r["open_since"],
                 "current": r["number"] and {"number": r["number"], "state": r["state"], "since": r["since"]},
                 "paused": r["paused_since"] and {"since": r["paused_since"], "reason": r["pause_reason"]},
                 "held": r["held"]}
                for r in rows]

    def service_day(self, center: str) -> str:
        return self.centers.today(center)[0]

    def today(self, center: str) -> dict[str, Any]:
        """Per service and in total: issued, served, no-shows, cancelled by their visitors (from
        the phone page), still waiting, on hold now, mean wait to be called, and the share called
        within the standard."""
        day = self.service_day(center)
        rows = self.db.db.query("SELECT service, state, issued_at, called_at, slot_at, walk_in, awaiting_event "
                                "FROM tickets "
                                "WHERE center = ? AND day = ?", [center, day])
        per_service: dict[str, _Tally] = {}
        total = _Tally()
        for r in rows:
            for tally in (per_service.setdefault(r["service"], _Tally()), total):
                tally.add(r)
        return {"day": day, "total": total.summary(),
                "services": {s: t.summary() for s, t in sorted(per_service.items())}}


class _Tally:
    def __init__(self) -> None:
        self.issued = self.served = self.no_show = self.cancelled = self.waiting = self.held = 0
        self.waits: list[float] = []
        self.on_time = 0

    def add(self, row: Row) -> None:
        self.issued += 1
        self.served += row["state"] == "done"
        self.no_show += row["state"] == "no_show"
        self.cancelled += row["state"] == "cancelled"
        self.waiting += row["state"] == "waiting"
        self.held += row["state"] == "held"
        if row["called_at"] and not row["walk_in"] and not row["awaiting_event"]:
            booked = bool(row["slot_at"])
            since = max(row["slot_at"], row["issued_at"]) if booked else row["issued_at"]
            wait = max(0.0, _minutes(since, row["called_at"]))
            self.waits.append(wait)
            self.on_time += wait <= (BOOKED_STANDARD_MINUTES if booked else WAIT_STANDARD_MINUTES)

    def summary(self) -> dict[str, Any]:
        called = len(self.waits)
        return {"issued": self.issued, "served": self.served, "no_show": self.no_show,
                "cancelled": self.cancelled, "waiting": self.waiting, "held": self.held,
                "mean_wait_minutes": round(sum(self.waits) / called, 1) if called else None,
                "within_standard": round(self.on_time / called, 3)
                if called else None}
