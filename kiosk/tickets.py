"""The kiosk's tickets and their numbering, in the device's own SQLite file beside its outbox.

Issuing a ticket writes the ticket and its outbox event in one `BEGIN IMMEDIATE`
transaction with `synchronous=FULL`, so after a crash or a power cut a ticket is either fully
recorded with its event or was never handed out, and it is on disk before it prints. The
print result goes to the hub from memory and waits there for the next ticket's transaction
(at most 10 minutes, offline_cache/outbox.py): a power cut may lose it from the kiosk's file
(not from the hub, once acknowledged), and the kiosk then reports that print as interrupted.

For the SD card's sake the table has one index, (day, letter, lap, number), which also gives
the last number of a letter. Rows are numbered in the order tickets are issued, so what the
newest tickets tell (the last one's time, this boot's numbers, the last quarter of an hour, a
ticket being printed) is read from the end of the table backwards, with no index of its own.

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
from offline_cache.outbox import FLUSH_AFTER_S, SETTLE_AFTER_S, DeviceStore

log = logging.getLogger(__name__)

PRINT_PENDING = "pending"
PRINT_INTERRUPTED = "interrupted"  # the device stopped before the print result was known
# A ticket issued longer ago than this, by the monotonic clock, cannot belong to today (a local
# day is at most 25 hours long, the day a clock goes back).
LONGEST_DAY = timedelta(hours=25)
CHECKINS_KEPT = timedelta(days=3)  # the bookings checked in here, kept while a copy may hold them


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


COLUMNS: dict[str, type] = {
    "id": str, "number": str, "letter": str, "seq": int, "lap": int,
    "service_id": str, "service_day": str, "priority": int, "lang": str,
    "issued_at": str, "device_clock": str, "clock_suspect": int,
    "status_token": str, "print_status": str, "print_error": str, "printed_at": str,
    "boot": str, "mono": float, "by_hub": int,
}
NOT_NULL = {"number", "letter", "seq", "service_day", "issued_at"}
# A ticket by its id, looked for from the newest backwards: the ones asked for are recent.
BY_ID = "SELECT * FROM tickets WHERE id = ? ORDER BY row DESC LIMIT 1"


class TicketStore(DeviceStore):
    def __init__(self, path: str | Path, *, center_id: str, device_id: str, timezone: ZoneInfo,
                 ticket_range: tuple[int, int], clock: Clock, clock_floor: datetime = CLOCK_FLOOR,
                 flush_after: float = FLUSH_AFTER_S, settle_after: float = SETTLE_AFTER_S):
        self.timezone, self.ticket_range = timezone, ticket_range
        self.clock_floor = clock_floor
        self._prints: dict[str, dict[str, str]] = {}  # print results not yet written
        super().__init__(path, center_id=center_id, device_id=device_id, clock=clock, flush_after=flush_after,
                         settle_after=settle_after)
        self._mark_interrupted_prints()

    def _create_schema(self) -> None:
        super()._create_schema()
        self._upgrade("tickets", [self._tickets_step_1, self._tickets_step_2, self._tickets_step_3])

    def _tickets_step_1(self) -> None:
        self.db.table("tickets").create(COLUMNS, pk="id", not_null=NOT_NULL, if_not_exists=True)
        tickets = self.db.table("tickets")
        for column, kind in (("boot", str), ("mono", float), ("by_hub", int)):  # files from before
            if column not in tickets.columns_dict:
                tickets.add_column(column, kind)
        self.db.table("counters").create({"service_day": str, "letter": str, "last_seq": int, "lap": int},
                                   pk=("service_day", "letter"), if_not_exists=True)

    def _tickets_step_2(self) -> None:
        """Tickets keep the order they were issued in as a row number, with no index on their ids,
        and one index where there were three and a counters table: each cost a page per ticket."""
        names = ", ".join(COLUMNS)
        self.db.table("tickets_by_row").create({"row": int, **COLUMNS}, pk="row", not_null={"id", *NOT_NULL})
        self.db.execute(f"INSERT INTO tickets_by_row (row, {names}) SELECT rowid, {names} FROM tickets ORDER BY rowid")
        self.db.execute("DROP TABLE tickets")  # and its indexes
        self.db.execute("ALTER TABLE tickets_by_row RENAME TO tickets")
        self.db.table("tickets").create_index(["service_day", "letter", "lap", "seq"], "tickets_number", unique=True)
        self.db.execute("DROP TABLE IF EXISTS counters")
        self.db.execute("DELETE FROM device_state WHERE key = 'last_issued_at'")

    def _tickets_step_3(self) -> None:
        """The bookings checked in at this kiosk, written with their ticket: a second check-in
        of the same booking here is refused, hub or no hub (kiosk/checkin.py)."""
        self.db.table("checkins").create({"booking": str, "code": str, "ticket": str, "at": str}, pk="booking",
                                         not_null={"code", "ticket", "at"})

    def checked_in(self) -> set[str]:
        """Ids of the bookings checked in at this kiosk (a day's worth: a few hundred at most)."""
        with self._lock:
            return {row["booking"] for row in self.db.query("SELECT booking FROM checkins")}

    def _newest_since(self, stop: str) -> str:
        """SQL for `row > N`, N being the newest ticket for which `stop` holds: the rows after
        it, found by reading from the newest backwards (`stop` holds for every older one)."""
        return f"row > COALESCE((SELECT row FROM tickets WHERE {stop} ORDER BY row DESC LIMIT 1), 0)"

    def _last_issued_at(self) -> datetime | None:
        rows = list(self.db.query("SELECT issued_at FROM tickets ORDER BY row DESC LIMIT 1"))
        return datetime.fromisoformat(rows[0]["issued_at"]) if rows else None

    def _last_number(self, day: str, letter: str) -> tuple[int, int] | None:
        """(lap, number) of the last ticket of `letter` on `day`, from the index."""
        rows = list(self.db.query("SELECT lap, seq FROM tickets WHERE service_day = ? AND letter = ? "
                                  "ORDER BY lap DESC, seq DESC LIMIT 1", [day, letter]))
        return (rows[0]["lap"], rows[0]["seq"]) if rows else None

    def now(self) -> datetime:
        """The hub's time or the clock's, never before the last ticket nor the floor (see numbering)."""
        reading = self.read_clocks()
        with self._lock:
            last = self._last_issued_at()
        return ticket_time(reading.wall, last, self.clock_floor, self.hub_time(reading))[0]

    def issue_ticket(self, *, service_id: str, letter: str, priority: bool = False,
                     lang: str = "ru", booking: dict[str, str] | None = None,
                     estimate: dict[str, Any] | None = None) -> Ticket:
        """Number, date and record a ticket with its outbox event, durably, in one go.
        `booking` ({"id", "code", "slot_start"}): the booking checked in with, recorded as used.
        `estimate` ({"minutes", "ahead", "source"}): the wait printed on it, sent for the hub to keep."""
        first, final = self.ticket_range
        with self.transaction():
            reading = self.read_clocks()
            wall, hub_now = reading.wall, self.hub_time(reading)
            last_issued = self._last_issued_at()
            if ran_ahead(last_issued, hub_now):
                log.warning("the last ticket was dated %s, ahead of the hub's time %s: dating by the hub's",
                            last_issued, hub_now)
            moment, suspect = ticket_time(wall, last_issued, self.clock_floor, hub_now)
            day = service_day(moment, self.timezone).isoformat()
            last_lap, last_seq = self._last_number(day, letter) or (0, None)
            if last_lap == 0:
                last_seq = max((n for n in (last_seq, self._issued_really_on(day, letter, reading, moment))
                                if n is not None), default=None)
            seq, wrapped = next_number(last_seq, first, final)
            lap = last_lap + (1 if wrapped else 0)
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
            self._add_event(protocol.TICKET_ISSUED, moment, {
                "ticket": row["id"], "number": row["number"], "service": service_id,
                "day": day, "priority": bool(priority), "issued_at": row["issued_at"],
                "status_token": row["status_token"], "clock_suspect": bool(suspect),
                "clock": {"boot": reading.boot, "mono": reading.mono, "hub": hub_now is not None},
                **({"booking": booking} if booking else {}),
                **({"estimate": estimate} if estimate else {}),
            })
            if booking:
                self.db.table("checkins").insert({"booking": booking["id"], "code": booking["code"],
                                                  "ticket": row["id"], "at": row["issued_at"]}, replace=True)
                # The kiosk's copy holds today and tomorrow morning: older check-ins decide nothing.
                self.db.execute("DELETE FROM checkins WHERE at < ?", [iso(moment - CHECKINS_KEPT)])
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
        # This boot's tickets are the newest rows, their monotonic times growing with them.
        rows = self.db.query(
            f"SELECT seq, mono FROM tickets WHERE {self._newest_since('boot IS NOT ? OR mono <= ?')} "
            "AND letter = ? AND service_day != ?",
            [reading.boot, reading.mono - LONGEST_DAY.total_seconds(), letter, day])
        return max((r["seq"] for r in rows
                    if service_day(moment - timedelta(seconds=reading.mono - r["mono"]), self.timezone).isoformat()
                    == day), default=None)

    def record_print(self, ticket_id: str, outcome: str, error: str = "") -> None:
        """Kept in memory, and sent to the hub from there, until the next transaction writes it
        (or the store's timer: FLUSH_AFTER_S without the hub's acknowledgement, else SETTLE_AFTER_S)."""
        with self._lock:
            moment = self.now()
            self._prints[ticket_id] = {"print_status": outcome, "print_error": error, "printed_at": iso(moment)}
            self._add_event_later(protocol.TICKET_PRINTED, moment,
                                  {"ticket": ticket_id, "outcome": outcome, "error": error})

    def _waiting(self) -> bool:
        return bool(self._prints) or super()._waiting()

    def _write_waiting(self) -> None:
        super()._write_waiting()
        for ticket_id, result in self._prints.items():
            self.db.execute("UPDATE tickets SET print_status = ?, print_error = ?, printed_at = ? "
                            f"WHERE row = (SELECT row FROM ({BY_ID}))",
                            [result["print_status"], result["print_error"], result["printed_at"], ticket_id])

    def _written(self) -> None:
        super()._written()
        self._prints.clear()

    def _mark_interrupted_prints(self) -> None:
        """Prints that were pending when the device last stopped will never report back."""
        with self.transaction():
            for row in list(self.db.query("SELECT row, id FROM tickets WHERE print_status = ?", [PRINT_PENDING])):
                self.db.execute("UPDATE tickets SET print_status = ? WHERE row = ?", [PRINT_INTERRUPTED, row["row"]])
                self._add_event(protocol.TICKET_PRINTED, self.now(),
                                {"ticket": row["id"], "outcome": PRINT_INTERRUPTED, "error": ""})

    def ticket(self, ticket_id: str) -> Ticket:
        with self._lock:
            rows = list(self.db.query(BY_ID, [ticket_id]))
            if not rows:
                raise KeyError(f"no ticket {ticket_id}")
            return self._ticket(rows[0])

    def tickets(self, where: str | None = None, params: list[Any] | None = None) -> list[Ticket]:
        with self._lock:
            return [self._ticket(r) for r in self.db.table("tickets").rows_where(where, params or [],
                                                                           order_by="issued_at")]

    def _ticket(self, row: dict[str, Any]) -> Ticket:
        """The ticket as this store knows it, with a print result still in memory."""
        return Ticket.from_row({**row, **self._prints.get(row["id"], {})})

    def count_issued_since(self, service_id: str, since: datetime) -> int:
        """Tickets of `service_id` dated `since` or later (tickets are dated in the order issued)."""
        with self._lock:
            return next(iter(self.db.execute(
                f"SELECT count(*) FROM tickets WHERE {self._newest_since('issued_at < ?')} AND service_id = ?",
                [iso(since), service_id])))[0]

