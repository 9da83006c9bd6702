"""The kiosk's tickets and their numbering, in the device's own SQLite file beside its outbox.

Issuing a ticket writes the ticket, its number counter and its outbox event in one
`BEGIN IMMEDIATE` transaction with `synchronous=FULL`, so after a crash or a power cut a
ticket is either fully recorded with its event or was never handed out. Printing happens
after the commit; its result is recorded on the ticket in a second transaction.

A ticket is dated by the hub's time once the kiosk has heard it in this boot, and carries the
kiosk's boot and monotonic clock, from which the hub places it by when the visitor really came
(kiosk/numbering.py, offline_cache/hub_time.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hardware.clock import Clock
from kiosk.numbering import CLOCK_FLOOR, format_number, next_number, ran_ahead, ticket_time
from mfc_edge import ids, protocol
from mfc_edge.times import iso, service_day
from offline_cache.hub_time import Reading
from offline_cache.outbox import DeviceStore

log = logging.getLogger(__name__)

PRINT_PENDING = "pending"
PRINT_INTERRUPTED = "interrupted"  # the device stopped before the print result was known
# A ticket issued longer ago than this, by the monotonic clock, cannot belong to today (a local
# day is at most 25 hours long, the day a clock goes back).
LONGEST_DAY = timedelta(hours=25)


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
    def from_row(cls, row: dict[str, Any]) -> Ticket:
        return cls(
            id=row["id"], number=row["number"], letter=row["letter"], seq=row["seq"],
            service_id=row["service_id"], service_day=row["service_day"],
            priority=bool(row["priority"]), lang=row["lang"],
            issued_at=datetime.fromisoformat(row["issued_at"]), status_token=row["status_token"],
            print_status=row["print_status"], print_error=row["print_error"] or "",
        )


class TicketStore(DeviceStore):
    def __init__(self, path: str | Path, *, center_id: str, device_id: str, timezone: ZoneInfo,
                 ticket_range: tuple[int, int], clock: Clock, clock_floor: datetime = CLOCK_FLOOR):
        self.timezone, self.ticket_range = timezone, ticket_range
        self.clock_floor = clock_floor
        super().__init__(path, center_id=center_id, device_id=device_id, clock=clock)
        self._mark_interrupted_prints()

    def _create_schema(self) -> None:
        super()._create_schema()
        self.db.table("tickets").create({
            "id": str, "number": str, "letter": str, "seq": int, "lap": int,
            "service_id": str, "service_day": str, "priority": int, "lang": str,
            "issued_at": str, "device_clock": str, "clock_suspect": int,
            "status_token": str, "print_status": str, "print_error": str, "printed_at": str,
            "boot": str, "mono": float, "by_hub": int,
        }, pk="id", not_null={"number", "letter", "seq", "service_day", "issued_at"}, if_not_exists=True)
        tickets = self.db.table("tickets")
        for column, kind in (("boot", str), ("mono", float), ("by_hub", int)):  # files from before
            if column not in tickets.columns_dict:
                tickets.add_column(column, kind)
        self.db.table("tickets").create_index(["service_day", "letter", "seq", "lap"], unique=True, if_not_exists=True)
        self.db.table("tickets").create_index(["boot", "letter", "mono"], if_not_exists=True)
        self.db.table("tickets").create_index(["service_id", "issued_at"], if_not_exists=True)
        self.db.table("counters").create({"service_day": str, "letter": str, "last_seq": int, "lap": int},
                                   pk=("service_day", "letter"), if_not_exists=True)

    def now(self) -> datetime:
        """The hub's time or the clock's, never before the last ticket nor the floor (see numbering)."""
        reading = self.read_clocks()
        with self._lock:
            last = self._state("last_issued_at")
        return ticket_time(reading.wall, datetime.fromisoformat(last) if last else None,
                           self.clock_floor, self.hub_time(reading))[0]

    def issue_ticket(self, *, service_id: str, letter: str, priority: bool = False,
                     lang: str = "ru") -> Ticket:
        """Number, date and record a ticket with its outbox event, durably, in one go."""
        first, final = self.ticket_range
        with self.transaction():
            reading = self.read_clocks()
            wall, hub_now = reading.wall, self.hub_time(reading)
            last = self._state("last_issued_at")
            last_issued = datetime.fromisoformat(last) if last else None
            if ran_ahead(last_issued, hub_now):
                log.warning("the last ticket was dated %s, ahead of the hub's time %s: dating by the hub's",
                            last, hub_now)
            moment, suspect = ticket_time(wall, last_issued, self.clock_floor, hub_now)
            day = service_day(moment, self.timezone).isoformat()
            counter = list(self.db.query(
                "SELECT last_seq, lap FROM counters WHERE service_day = ? AND letter = ?", [day, letter]))
            last_seq = counter[0]["last_seq"] if counter else None
            if not counter or counter[0]["lap"] == 0:
                last_seq = max((n for n in (last_seq, self._issued_really_on(day, letter, reading, moment))
                                if n is not None), default=None)
            seq, wrapped = next_number(last_seq, first, final)
            lap = (counter[0]["lap"] if counter else 0) + (1 if wrapped else 0)
            self.db.table("counters").upsert({"service_day": day, "letter": letter, "last_seq": seq, "lap": lap},
                                       pk=("service_day", "letter"))
            row = {
                "id": ids.ticket_id(), "number": format_number(letter, seq), "letter": letter,
                "seq": seq, "lap": lap, "service_id": service_id, "service_day": day,
                "priority": int(priority), "lang": lang, "issued_at": iso(moment),
                "device_clock": iso(wall), "clock_suspect": int(suspect),
                "status_token": ids.status_token(), "print_status": PRINT_PENDING,
                "print_error": "", "printed_at": None,
                "boot": reading.boot, "mono": reading.mono, "by_hub": int(hub_now is not None),
            }
            self.db.table("tickets").insert(row)
            self._set_state("last_issued_at", iso(moment))
            self._add_event(protocol.TICKET_ISSUED, moment, {
                "ticket": row["id"], "number": row["number"], "service": service_id,
                "day": day, "priority": bool(priority), "issued_at": row["issued_at"],
                "status_token": row["status_token"], "clock_suspect": bool(suspect),
                "clock": {"boot": reading.boot, "mono": reading.mono, "hub": hub_now is not None},
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

    def _issued_really_on(self, day: str, letter: str, reading: Reading, moment: datetime) -> int | None:
        """The highest number of `letter` this boot issued dated another day than `day`, that by
        the monotonic clock was issued on `day` as `moment` counts days; None if none was.

        A kiosk that booted with yesterday's time issues С505-С507 dated yesterday; when NTP
        steps its clock to today, today's numbers go on from С508, not from С500 again: the
        visitors holding С505 are in the hall today. Counting a number as used on both days is
        safe whichever of the two clocks was wrong; it only skips a few numbers.
        """
        rows = self.db.query(
            "SELECT seq, mono FROM tickets WHERE boot = ? AND letter = ? AND mono > ? AND service_day != ?",
            [reading.boot, letter, reading.mono - LONGEST_DAY.total_seconds(), day])
        return max((r["seq"] for r in rows
                    if service_day(moment - timedelta(seconds=reading.mono - r["mono"]), self.timezone).isoformat()
                    == day), default=None)

    def record_print(self, ticket_id: str, outcome: str, error: str = "") -> None:
        with self.transaction():
            moment = self.now()
            self.db.table("tickets").update(ticket_id, {"print_status": outcome, "print_error": error,
                                                  "printed_at": iso(moment)})
            self._add_event(protocol.TICKET_PRINTED, moment,
                            {"ticket": ticket_id, "outcome": outcome, "error": error})

    def _mark_interrupted_prints(self) -> None:
        """Prints that were pending when the device last stopped will never report back."""
        with self.transaction():
            for row in list(self.db.query("SELECT id FROM tickets WHERE print_status = ?", [PRINT_PENDING])):
                self.db.table("tickets").update(row["id"], {"print_status": PRINT_INTERRUPTED})
                self._add_event(protocol.TICKET_PRINTED, self.now(),
                                {"ticket": row["id"], "outcome": PRINT_INTERRUPTED, "error": ""})

    def ticket(self, ticket_id: str) -> Ticket:
        with self._lock:
            return Ticket.from_row(self.db.table("tickets").get(ticket_id))

    def tickets(self, where: str | None = None, params: list[Any] | None = None) -> list[Ticket]:
        with self._lock:
            return [Ticket.from_row(r) for r in self.db.table("tickets").rows_where(where, params or [],
                                                                              order_by="issued_at")]

    def count_issued_since(self, service_id: str, since: datetime) -> int:
        with self._lock:
            return self.db.table("tickets").count_where("service_id = ? AND issued_at >= ?",
                                                  [service_id, iso(since)])

