"""Event ingest: each device event is stored exactly once, however often it arrives.

A batch is checked event by event; a bad event is refused with its reason and does not
hold back the others. Stored events are projected into the center's queue in the same
transaction, so a ticket is in the queue if and only if its event was stored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.db import HubDB, iso, utc_now
from hub.identity import Device
from mfc_edge import protocol

STORED, DUPLICATE, REJECTED = "stored", "duplicate", "rejected"


@dataclass(frozen=True)
class Outcome:
    id: str | None
    status: str
    reason: str = ""


def _problem_for(event: Any, device: Device) -> str | None:
    problem = protocol.event_problem(event)
    if problem:
        return problem
    if event["center"] != device.center or event["device"] != device.id:
        return (f"event of {event['center']}/{event['device']} sent with the token of "
                f"{device.center}/{device.id}")
    return None


class EventLog:
    def __init__(self, db: HubDB):
        self.db = db

    def ingest(self, device: Device, events: list[Any]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        received = iso(utc_now())
        with self.db.transaction() as db:
            queue_changed = False
            for event in events:
                event_id = event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None
                problem = _problem_for(event, device)
                if problem:
                    outcomes.append(Outcome(event_id, REJECTED, problem))
                    continue
                cursor = db.execute(
                    "INSERT OR IGNORE INTO events (id, center, device, type, at, body, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [event["id"], event["center"], event["device"], event["type"], event["at"],
                     json.dumps(event["body"], ensure_ascii=False), received])
                if cursor.rowcount == 0:
                    outcomes.append(Outcome(event_id, DUPLICATE))
                    continue
                outcomes.append(Outcome(event_id, STORED))
                if event["type"] == protocol.TICKET_ISSUED:
                    queue_changed |= self._queue_ticket(db, event)
            if queue_changed:
                self.db.bump_feed(db, device.center)
            db.execute("UPDATE devices SET last_seen = ? WHERE center = ? AND id = ?",
                       [received, device.center, device.id])
        return outcomes

    @staticmethod
    def _queue_ticket(db, event: dict[str, Any]) -> bool:
        body = event["body"]
        cursor = db.execute(
            "INSERT OR IGNORE INTO tickets (id, center, device, number, service, day, priority, issued_at, "
            "status_token, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting')",
            [body["ticket"], event["center"], event["device"], body["number"], body["service"], body["day"],
             int(body["priority"]), iso(datetime.fromisoformat(body["issued_at"])), body["status_token"]])
        return cursor.rowcount == 1

    def count(self, center: str) -> int:
        return self.db.db["events"].count_where("center = ?", [center])
