"""Where a kiosk's ticket goes in the hub's line: when its visitor came, on which service day,
and the number it is called by.

A kiosk states when it issued a ticket by a clock that may be wrong: a Raspberry Pi without a
real-time clock boots in 1970 or at yesterday evening, and NTP steps it later, by hours or
years, either way (offline_cache/hub_time.py). The line is ordered by when visitors really
came (`issued_at`), and a ticket waits in the line of one service day (`day`), so the hub
places each new ticket by the best it knows, in this order:

1. `elapsed`: the ticket names the kiosk's boot and monotonic clock when issued, and the batch's
   request the same boot's clock when sent: the visitor came that many real seconds before the
   hub got the ticket, whatever the wall clock said meanwhile (to within the request's latency).
2. `received`, for a ticket stated after the hub got it (a clock that ran ahead), or dated by
   the kiosk's own clock while it was behind the kiosk's last ticket (`clock_suspect`: the
   stated time is only a stand-in): the visitor came no later than the hub got it, and is not
   called after visitors who came later.
3. `hub`: the kiosk dated it by the hub's own time, learned earlier in the same boot: trusted,
   even `clock_suspect`: stepped over a last ticket dated ahead, it is still at most SKEW_LIMIT
   after the visitor came (a last ticket further ahead no longer holds the kiosk back,
   kiosk/numbering.py), while the time the hub got it may be hours later, after an outage.
4. `device`: the stated time: an outbox emptied after an outage, or a kiosk of an older release.

The day is the center's local date of that time, except that a ticket placed by its stated
time (4) on a day before the one the hub got it on waits in the hub's today: nothing tells
whether the visitor came yesterday or the kiosk's clock was behind, and a visitor wrongly kept
costs one call nobody answers, one wrongly dropped is never called. A ticket the hub knows to
be of a past day (1, 3) joins the line already expired. So no ticket is placed after it reached
the hub, nor in a line later than the hub's today.

The number: a kiosk prints the service's letter and three digits from its own range, restarting
every day. When its clock was wrong, the same printed number can reach the hub twice for one
day (С505 dated yesterday by a clock that was behind, then С505 dated today after NTP stepped
it), and two visitors would answer one call. The first ticket of a center and day to reach the
hub with a printed number is called by it; a later one is called П505/2, П505/3
(protocol.call_number): screens, console and calls show the call number, and the visitor's
phone page says "your ticket П505 will be called as П505/2". A unique index on (center, day,
number) keeps it so (hub/schema.py, step 2).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from mfc_edge.protocol import call_number

ELAPSED, RECEIVED, HUB, DEVICE = "elapsed", "received", "hub", "device"


@dataclass(frozen=True)
class Placement:
    at: datetime  # when the visitor came, as the hub places the ticket
    day: str  # the service day whose line it waits in: the local date of `at`, but see above
    timing: str  # which rule placed it: ELAPSED, RECEIVED, HUB or DEVICE


class Arrival:
    """One batch of tickets as it reaches the hub: at `received`, from a device whose clocks read
    `sender` (boot id, monotonic seconds: protocol.DEVICE_CLOCK_HEADER) when it sent the batch,
    for a center in `zone`. Made once per batch: what every ticket of it shares is worked out once."""

    def __init__(self, received: datetime, sender: tuple[str, float] | None, zone: ZoneInfo):
        self.received, self.sender, self.zone = received, sender, zone
        local = received.astimezone(zone)
        self.today = local.date()
        # The hub's today as UTC instants, for the usual ticket placed on it.
        self._began = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        self._ends = (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(UTC)

    def day_of(self, at: datetime) -> date:
        return self.today if self._began <= at < self._ends else at.astimezone(self.zone).date()

    def place(self, body: dict[str, Any]) -> Placement:
        """Where a `ticket.issued` body goes (the rules in this module's text)."""
        clock, sender, received = body.get("clock"), self.sender, self.received
        by_hub = clock is not None and clock["hub"]
        if clock is not None and sender is not None and clock["boot"] == sender[0] and sender[1] >= clock["mono"]:
            at, timing = received - timedelta(seconds=sender[1] - clock["mono"]), ELAPSED
        elif (stated := datetime.fromisoformat(body["issued_at"])) > received or (
                body.get("clock_suspect") and not by_hub):
            at, timing = received, RECEIVED
        elif by_hub:
            at, timing = stated, HUB
        else:
            at, timing = stated, DEVICE
        day = self.day_of(at)
        if timing == DEVICE:
            day = max(day, self.today)
        return Placement(at, day.isoformat(), timing)


def call_numbers(db: Database, center: str, tickets: Iterable[tuple[str, str]]) -> list[str]:
    """The call numbers of new tickets, (printed number, day) each, in the order they arrived,
    beside the tickets the hub already has: the first of a day keeps its printed number."""
    tickets = list(tickets)
    if not tickets:
        return []
    days, printed = sorted({day for _, day in tickets}), sorted({number for number, _ in tickets})
    # One look-up down the unique index (center, day, number) for the printed numbers themselves.
    taken = sorted((r[0], r[1]) for r in db.execute(
        f"SELECT day, number FROM tickets WHERE center = ? AND day IN ({','.join('?' * len(days))}) "
        f"AND number IN ({','.join('?' * len(printed))})", [center, *days, *printed]))
    # A number already taken (a kiosk's clock was wrong, or its range ran out) is called П505/2,
    # П505/3, ..., П505/n: each the next when its ticket arrived, none changed or removed later.
    # So a new one takes the one after the highest, which one statement finds for all of them:
    # SQLite walks the index over each number's range, П505 up to but not including П5050, where
    # only its call numbers sort (hub/schema.py, step 2). Walking it from Python, a query and a
    # row per call number, was a quarter of ingest's time when numbers repeated.
    highest: dict[tuple[str, str], int] = {}
    for start in range(0, len(taken), 500):  # 1,000 values: within SQLite's limit on ? per statement
        chunk = taken[start:start + 500]
        highest.update(((day, number), nth) for day, number, nth in db.execute(
            f"WITH taken(day, number) AS (VALUES {','.join(['(?, ?)'] * len(chunk))}) "
            "SELECT taken.day, taken.number, max(CASE WHEN t.number = taken.number THEN 1 "
            "ELSE CAST(substr(t.number, length(taken.number) + 2) AS INTEGER) END) "
            "FROM taken JOIN tickets AS t ON t.center = ? AND t.day = taken.day "
            "AND t.number >= taken.number AND t.number < taken.number || '0' "
            "GROUP BY taken.day, taken.number", [*(v for pair in chunk for v in pair), center]))
    found = []
    for number, day in tickets:
        nth = highest[day, number] = highest.get((day, number), 0) + 1
        found.append(call_number(number, nth))
    return found
