"""Event ingest: each device event is stored exactly once, however often it arrives.

A batch is checked event by event; a bad event is refused with its reason and does not
hold back the others. Stored events are projected into the center's queue in the same
transaction, so a ticket is in the queue if and only if its event was stored.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

import orjson
from sqlite_utils import Database

from hub.db import HubDB, iso
from hub.estimates import store_printed
from hub.identity import Device
from hub.queue import Queue
from mfc_edge import protocol

STORED, DUPLICATE, REJECTED = "stored", "duplicate", "rejected"


@dataclass(frozen=True)
class Outcome:
    id: str | None
    status: str
    reason: str = ""


def _problem_for(event: Any, device: Device, body_json: str | None, services: Container[str]) -> str | None:
    problem = protocol.event_problem(event, body_json)
    if problem:
        return problem
    if event["center"] != device.center or event["device"] != device.id:
        return (f"event of {event['center']}/{event['device']} sent with the token of "
                f"{device.center}/{device.id}")
    role_problem = protocol.role_problem(device.role, event["type"])
    if role_problem:
        return role_problem
    if event["type"] == protocol.RATING_GIVEN and event["body"]["window"] != device.window:
        if device.window is None:
            return "a rating from a device not assigned to a window (enroll it with --window)"
        return f"a rating for window {event['body']['window']} from the console of window {device.window}"
    if event["type"] == protocol.TICKET_ISSUED and event["body"]["service"] not in services:
        return f"body.service = {event['body']['service']!r} is not a service of center {device.center}'s catalog"
    return None


def _body_json(event: Any) -> str | None:
    """The body as stored: compact JSON, by orjson, several times quicker than json.dumps on
    the ingest path that benchmarks/hub_bench.py measures (figures in benchmarks/RESULTS.md)."""
    if isinstance(event, dict) and isinstance(event.get("body"), dict):
        try:
            return orjson.dumps(event["body"]).decode()
        except (TypeError, orjson.JSONEncodeError):  # not from a JSON parser: an int over 64 bits, say
            return json.dumps(event["body"], ensure_ascii=False, separators=(",", ":"))
    return None


class _AnyService:
    def __contains__(self, service: object) -> bool:
        return True


# Called in the ingest transaction with each newly stored event of its type (never for a
# duplicate), so a table built from events holds each event's effect exactly once.
Projection = Callable[[Database, dict[str, Any]], None]
# Called in the ingest transaction, before anything is stored, with the batch's valid events of
# its type: event id -> why that event is refused, for checks that read the hub's tables.
BatchCheck = Callable[[Database, list[dict[str, Any]]], dict[str, str]]


class EventLog:
    def __init__(self, db: HubDB, queue: Queue, projections: dict[str, Projection] | None = None,
                 services: Callable[[str], Container[str]] | None = None):
        """`queue` takes the tickets; `projections` the other event types that build a table;
        `services(center)` the service ids a center's tickets may name (any, when not given)."""
        self.db, self.queue = db, queue
        self.projections = projections or {}
        self.checks: dict[str, BatchCheck] = {}
        self.services = services

    def ingest(self, device: Device, events: list[Any], sender: tuple[str, float] | None = None) -> list[Outcome]:
        """Store and project a device's batch. `sender`: the device's boot and monotonic clock when
        it sent the batch (protocol.DEVICE_CLOCK_HEADER), from which its tickets are placed."""
        received = iso(self.db.now())
        checked: list[tuple[Any, str | None, str | None]] = []
        services = self._services(device.center, events)
        for event in events:
            body_json = _body_json(event)
            checked.append((event, body_json, _problem_for(event, device, body_json, services)))
        outcomes: list[Outcome] = []
        with self.db.transaction() as db:
            checked = self._check_with_tables(db, checked)
            stored = self._insert_new(db, [(e["id"], e["center"], e["device"], e["type"], e["at"], body_json, received)
                                           for e, body_json, problem in checked if problem is None])
            new_tickets: list[dict[str, Any]] = []
            projected: list[dict[str, Any]] = []
            for event, _, problem in checked:
                event_id = event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None
                if problem:
                    outcomes.append(Outcome(event_id, REJECTED, problem))
                elif event_id not in stored:
                    outcomes.append(Outcome(event_id, DUPLICATE))
                else:
                    stored.discard(event_id)  # the same event twice in one batch is stored once
                    outcomes.append(Outcome(event_id, STORED))
                    if event["type"] == protocol.TICKET_ISSUED:
                        new_tickets.append(event)
                    elif event["type"] in self.projections:
                        projected.append(event)
            self.queue.add_issued(db, device.center, new_tickets, received, sender)
            store_printed(db, new_tickets)
            for event in projected:  # after the tickets: a rating may name a ticket of this same batch
                self.projections[event["type"]](db, event)
            db.execute("UPDATE devices SET last_seen = ? WHERE center = ? AND id = ?",
                       [received, device.center, device.id])
        return outcomes

    def _services(self, center: str, events: list[Any]) -> Container[str]:
        """The services the batch's tickets may name: the catalog is looked up only for tickets."""
        if self.services is None or not any(isinstance(e, dict) and e.get("type") == protocol.TICKET_ISSUED
                                            for e in events):
            return _AnyService()
        return self.services(center)

    def _check_with_tables(self, db: Database, checked: list[tuple[Any, str | None, str | None]]
                           ) -> list[tuple[Any, str | None, str | None]]:
        for kind, check in self.checks.items():
            valid = [e for e, _, problem in checked if problem is None and e["type"] == kind]
            found = check(db, valid) if valid else {}
            if found:
                checked = [(e, body_json, problem or (found.get(e["id"]) if e["type"] == kind else None))
                           for e, body_json, problem in checked]
        return checked

    @staticmethod
    def _insert_new(db: Database, rows: list[tuple[Any, ...]]) -> set[str]:
        """Insert the events not stored yet; the ids of those inserted. One statement per 500
        rows, whose RETURNING names what was new: a separate look-up of known ids first cost
        a second walk down the index for every event."""
        inserted: set[str] = set()
        for start in range(0, len(rows), 500):  # 3,500 values: within SQLite's limit on ? per statement
            chunk = rows[start:start + 500]
            values = ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            inserted.update(r[0] for r in db.execute(
                f"INSERT OR IGNORE INTO events (id, center, device, type, at, body, received_at) VALUES {values} "
                "RETURNING id", [v for row in chunk for v in row]).fetchall())
        return inserted

    def count(self, center: str) -> int:
        return self.db.db["events"].count_where("center = ?", [center])
