"""The device's local store: tickets, their numbering and the outbox, in one SQLite file.

One `LocalStore` is the single writer of its file. Issuing a ticket writes the ticket,
its number counter and its outbox event in one `BEGIN IMMEDIATE` transaction with
`synchronous=FULL`, so after a crash or a power cut a ticket is either fully recorded
with its event or was never handed out. Printing happens after the commit; its result
is recorded on the ticket in a second transaction.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Protocol
from zoneinfo import ZoneInfo

import sqlite_utils

from mfc_edge import ids, protocol
from offline_cache.numbering import CLOCK_FLOOR, format_number, next_number, service_day, ticket_time

PRINT_PENDING = "pending"
PRINT_INTERRUPTED = "interrupted"  # the device stopped before the print result was known


def iso(moment: datetime) -> str:
    """One text form for every stored time, so stored times sort as text."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Ticket:
    id: str
    number: str
    letter: str
    seq: int
    service_id: str
    service_day: str
    priority: bool
    lang: str
    issued_at: datetime
    status_token: str
    print_status: str
    print_error: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Ticket":
        return cls(
            id=row["id"], number=row["number"], letter=row["letter"], seq=row["seq"],
            service_id=row["service_id"], service_day=row["service_day"],
            priority=bool(row["priority"]), lang=row["lang"],
            issued_at=datetime.fromisoformat(row["issued_at"]), status_token=row["status_token"],
            print_status=row["print_status"], print_error=row["print_error"] or "",
        )


class LocalStore:
    def __init__(self, path: str | Path, *, center_id: str, device_id: str, timezone: ZoneInfo,
                 ticket_range: tuple[int, int], clock: Clock, clock_floor: datetime = CLOCK_FLOOR):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.center_id, self.device_id = center_id, device_id
        self.timezone, self.ticket_range = timezone, ticket_range
        self.clock, self.clock_floor = clock, clock_floor
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self._lock = threading.RLock()
        self._create_schema()
        self._mark_interrupted_prints()

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def _create_schema(self) -> None:
        with self.transaction():
            self.db["tickets"].create({
                "id": str, "number": str, "letter": str, "seq": int, "lap": int,
                "service_id": str, "service_day": str, "priority": int, "lang": str,
                "issued_at": str, "device_clock": str, "clock_suspect": int,
                "status_token": str, "print_status": str, "print_error": str, "printed_at": str,
            }, pk="id", not_null={"number", "letter", "seq", "service_day", "issued_at"}, if_not_exists=True)
            self.db["tickets"].create_index(["service_day", "letter", "seq", "lap"], unique=True,
                                            if_not_exists=True)
            self.db["tickets"].create_index(["service_id", "issued_at"], if_not_exists=True)
            self.db["counters"].create({"service_day": str, "letter": str, "last_seq": int, "lap": int},
                                       pk=("service_day", "letter"), if_not_exists=True)
            self.db["outbox"].create({"seq": int, "id": str, "type": str, "at": str, "event": str},
                                     pk="seq", if_not_exists=True)
            self.db["outbox"].create_index(["id"], unique=True, if_not_exists=True)
            self.db["outbox_rejected"].create({"id": str, "event": str, "reason": str, "at": str},
                                              pk="id", if_not_exists=True)
            self.db["device_state"].create({"key": str, "value": str}, pk="key", if_not_exists=True)

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction, taken before reading so two writers cannot interleave."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            self.db.execute("COMMIT")

    def _state(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM device_state WHERE key = ?", [key]))
        return rows[0]["value"] if rows else None

    def _set_state(self, key: str, value: str) -> None:
        self.db["device_state"].upsert({"key": key, "value": value}, pk="key")

    def _add_event(self, event_type: str, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
        event = protocol.make_event(event_type, self.center_id, self.device_id, at, body)
        self.db["outbox"].insert({"id": event["id"], "type": event_type, "at": event["at"],
                                  "event": json.dumps(event, ensure_ascii=False)})
        return event

    def now(self) -> datetime:
        """The clock's time, never before the last ticket nor the floor (see numbering)."""
        with self._lock:
            last = self._state("last_issued_at")
        return ticket_time(self.clock.now(), datetime.fromisoformat(last) if last else None,
                           self.clock_floor)[0]

    def issue_ticket(self, *, service_id: str, letter: str, priority: bool = False,
                     lang: str = "ru") -> Ticket:
        """Number, date and record a ticket with its outbox event, durably, in one go."""
        first, final = self.ticket_range
        with self.transaction():
            wall = self.clock.now()
            last = self._state("last_issued_at")
            moment, suspect = ticket_time(wall, datetime.fromisoformat(last) if last else None,
                                          self.clock_floor)
            day = service_day(moment, self.timezone).isoformat()
            counter = list(self.db.query(
                "SELECT last_seq, lap FROM counters WHERE service_day = ? AND letter = ?", [day, letter]))
            seq, wrapped = next_number(counter[0]["last_seq"] if counter else None, first, final)
            lap = (counter[0]["lap"] if counter else 0) + (1 if wrapped else 0)
            self.db["counters"].upsert({"service_day": day, "letter": letter, "last_seq": seq, "lap": lap},
                                       pk=("service_day", "letter"))
            row = {
                "id": ids.ticket_id(), "number": format_number(letter, seq), "letter": letter,
                "seq": seq, "lap": lap, "service_id": service_id, "service_day": day,
                "priority": int(priority), "lang": lang, "issued_at": iso(moment),
                "device_clock": iso(wall), "clock_suspect": int(suspect),
                "status_token": ids.status_token(), "print_status": PRINT_PENDING,
                "print_error": "", "printed_at": None,
            }
            self.db["tickets"].insert(row)
            self._set_state("last_issued_at", iso(moment))
            self._add_event(protocol.TICKET_ISSUED, moment, {
                "ticket": row["id"], "number": row["number"], "service": service_id,
                "day": day, "priority": bool(priority), "issued_at": row["issued_at"],
                "status_token": row["status_token"], "clock_suspect": bool(suspect),
            })
            # Reported when the clock turns bad, not on every ticket while it stays bad.
            if suspect != (self._state("clock_suspect") == "1"):
                self._set_state("clock_suspect", "1" if suspect else "0")
                if suspect:
                    self._add_event(protocol.CLOCK_SUSPECT, moment,
                                    {"device_clock": iso(wall), "used": iso(moment)})
            if wrapped:
                self._add_event(protocol.NUMBERING_WRAPPED, moment,
                                {"letter": letter, "day": day, "range": [first, final]})
        return Ticket.from_row(row)

    def record_print(self, ticket_id: str, outcome: str, error: str = "") -> None:
        with self.transaction():
            moment = self.now()
            self.db["tickets"].update(ticket_id, {"print_status": outcome, "print_error": error,
                                                  "printed_at": iso(moment)})
            self._add_event(protocol.TICKET_PRINTED, moment,
                            {"ticket": ticket_id, "outcome": outcome, "error": error})

    def record_event(self, event_type: str, body: dict[str, Any],
                     remember: dict[str, str | None] | None = None) -> dict[str, Any]:
        """Put an event in the outbox. `remember` is device state kept in the same transaction
        (None forgets a key), read back with `remembered` after a restart."""
        with self.transaction():
            event = self._add_event(event_type, self.now(), body)
            for key, value in (remember or {}).items():
                self._remember(key, value)
            return event

    def remember(self, key: str, value: str | None) -> None:
        with self.transaction():
            self._remember(key, value)

    def remembered(self, key: str) -> str | None:
        with self._lock:
            return self._state(f"remembered:{key}")

    def _remember(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM device_state WHERE key = ?", [f"remembered:{key}"])
        else:
            self._set_state(f"remembered:{key}", value)

    def _mark_interrupted_prints(self) -> None:
        """Prints that were pending when the device last stopped will never report back."""
        with self.transaction():
            for row in list(self.db.query("SELECT id FROM tickets WHERE print_status = ?", [PRINT_PENDING])):
                self.db["tickets"].update(row["id"], {"print_status": PRINT_INTERRUPTED})
                self._add_event(protocol.TICKET_PRINTED, self.now(),
                                {"ticket": row["id"], "outcome": PRINT_INTERRUPTED, "error": ""})

    # Reads take the lock too: the UI, printer and sync threads share this one connection,
    # and SQLite refuses a write while the same connection is still reading ("table is locked").

    def ticket(self, ticket_id: str) -> Ticket:
        with self._lock:
            return Ticket.from_row(self.db["tickets"].get(ticket_id))

    def tickets(self, where: str | None = None, params: list[Any] | None = None) -> list[Ticket]:
        with self._lock:
            return [Ticket.from_row(r) for r in self.db["tickets"].rows_where(where, params or [],
                                                                              order_by="issued_at")]

    def count_issued_since(self, service_id: str, since: datetime) -> int:
        with self._lock:
            return self.db["tickets"].count_where("service_id = ? AND issued_at >= ?",
                                                  [service_id, iso(since)])

    def outbox(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Events not yet acknowledged by the hub, oldest first."""
        with self._lock:
            rows = list(self.db["outbox"].rows_where(order_by="seq", limit=limit))
        return [json.loads(r["event"]) for r in rows]

    def outbox_size(self) -> int:
        with self._lock:
            return self.db["outbox"].count

    def acknowledge(self, accepted: list[str], rejected: dict[str, str]) -> None:
        """The hub stored `accepted` (or had them already) and refused `rejected` (id -> reason).

        Refused events leave the outbox so they do not block the rest, but are kept aside,
        with the hub's reason, for a technician.
        """
        with self.transaction():
            for event_id, reason in rejected.items():
                rows = list(self.db.query("SELECT event FROM outbox WHERE id = ?", [event_id]))
                if rows:
                    self.db["outbox_rejected"].upsert({"id": event_id, "event": rows[0]["event"],
                                                       "reason": reason, "at": iso(self.now())}, pk="id")
            for event_id in [*accepted, *rejected]:
                self.db.execute("DELETE FROM outbox WHERE id = ?", [event_id])

    def rejected_events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db["outbox_rejected"].rows_where(order_by="at"))
