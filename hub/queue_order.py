"""Who a window calls next: the walk-in line's rule, and where booked visitors fit in it.

A center's norms: a visitor who booked a time is called within 5 minutes of it, everyone
else within 15 minutes of taking a ticket. Each waiting ticket therefore has a deadline:

* a walk-in's (any ticket without a booking): its time of issue + 15 minutes;
* a booked ticket's: its *due time* + 5 minutes, where the due time is its slot, or its
  check-in (the ticket's time of issue) when the visitor checked in after the slot began.

The rule, for a window serving some services (only tickets of those services count):

1. The walk-in line is ordered as it always was: priority tickets first, but never more than
   `priority_streak` of them in a row at one window while an ordinary ticket waits; then by
   time of issue. Booked tickets are not in it, and calling one leaves the window's streak as
   it was, so bookings never change the order in which walk-ins are called.
2. A booked ticket that is due (its due time has come) goes ahead of the walk-in line, unless
   a walk-in of the window's services has the earlier deadline: a walk-in who has already
   waited so long that its 15 minutes end before the booked visitor's 5 do. The turn then
   goes to the walk-in line (rule 1 picks who). With the norms above this means a booked
   visitor due now goes ahead of walk-ins who have waited less than 10 minutes. Earliest
   deadline first is the order that misses the fewest deadlines when both norms cannot be
   met, and neither side can starve the other: a deadline never moves, and a newcomer's lies
   at least 5 minutes after it comes, so whoever has waited long enough holds the earliest.
3. Among due booked tickets: the earliest deadline, then the earlier check-in, then the id.
4. A booked visitor who checked in before the slot is not due yet: the window calls them only
   when no walk-in waits for its services (a free window calls them early rather than stand
   idle), the earliest slot first.
5. A booked visitor transferred to another service's line (Queue.transfer) stays booked: due
   since their slot, they go ahead there too, as any transferred ticket keeps its time of
   issue: the center goes on with a visit it has already begun.
6. A ticket transferred to one window, or to one operator (hub/visits.py), is in no service's
   line: only that window, or a window its operator holds, calls it, before anyone of rules
   1–4 and whatever its service, the earliest issued first. Calling it leaves the streak as it was.

Every step reads a few rows down an index: the head of each walk-in line by
(center, state, service, priority, issued_at) (hub/schema.py, step 6), and the booked
tickets waiting by the partial index of step 10, and the directed ones by that of step 11, a
handful at a time.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from hub.db import Row, iso

BOOKED_NORM = timedelta(minutes=5)
WALK_IN_NORM = timedelta(minutes=15)


def due_at(ticket: Row) -> str:
    """When a booked ticket becomes due: its slot, or its check-in if that came later."""
    return max(ticket["slot_at"], ticket["issued_at"])


def deadline(ticket: Row) -> str:
    """When the ticket's norm runs out, in the hub's spelling of times (they compare as text)."""
    if ticket["booking"]:
        return iso(datetime.fromisoformat(due_at(ticket)) + BOOKED_NORM)
    return iso(datetime.fromisoformat(ticket["issued_at"]) + WALK_IN_NORM)


def walk_in_heads(d: Database, center: str, services: list[str]) -> list[Row]:
    """The first waiting walk-in of each service's ordinary and priority line."""
    marks = ",".join(["(?)"] * len(services))
    # One step down the index each: sorting every waiting ticket of the services instead took
    # 130 ms with 70,000 waiting (benchmarks/RESULTS.md).
    return list(d.query(
        f"WITH wanted(service) AS (VALUES {marks}), heads(id) AS (SELECT (SELECT id FROM tickets "
        "WHERE center = ? AND state = 'waiting' AND service = wanted.service AND priority = line.priority "
        "AND booking = '' AND for_window = '' AND for_operator = '' ORDER BY issued_at LIMIT 1) "
        "FROM wanted, (SELECT 0 AS priority UNION ALL SELECT 1) AS line) "
        "SELECT * FROM tickets WHERE id IN (SELECT id FROM heads)", [*services, center]))


def walk_in_turn(heads: list[Row], streak: int, priority_streak: int) -> Row | None:
    """Rule 1: priority first, unless `streak` priority calls in a row reached the limit."""
    if not heads:
        return None
    priority_first = streak < priority_streak
    return min(heads, key=lambda t: (-t["priority"] if priority_first else t["priority"], t["issued_at"], t["id"]))


def booked_waiting(d: Database, center: str, services: list[str]) -> list[Row]:
    marks = ",".join("?" * len(services))
    # The partial index of the booked tickets, named: left to itself SQLite walks the walk-in
    # lines' index instead, every waiting ticket of the services.
    return list(d.query(f"SELECT * FROM tickets INDEXED BY idx_tickets_booked_waiting WHERE center = ? "
                        f"AND state = 'waiting' AND booking != '' AND for_window = '' AND for_operator = '' "
                        f"AND service IN ({marks})", [center, *services]))


def directed_waiting(d: Database, center: str, window: str, operator: str) -> Row | None:
    """Rule 6: the first of the tickets transferred to this window or to its operator."""
    # The partial index of the few directed tickets, named, as the booked ones' above.
    rows = list(d.query("SELECT * FROM tickets INDEXED BY idx_tickets_directed_waiting WHERE center = ? "
                        "AND state = 'waiting' AND (for_window != '' OR for_operator != '') "
                        "AND (for_window = ? OR (for_operator = ? AND for_operator != '')) "
                        "ORDER BY issued_at, id LIMIT 1", [center, window, operator]))
    return rows[0] if rows else None


def choose(walk_ins: list[Row], booked: list[Row], now: datetime, streak: int, priority_streak: int) -> Row | None:
    """Rules 1–4 on the heads of the walk-in lines and the booked tickets waiting, at `now`."""
    now_text = iso(now)
    due = [t for t in booked if due_at(t) <= now_text]
    first_booked = min(due, key=lambda t: (deadline(t), t["issued_at"], t["id"])) if due else None
    walk_in = walk_in_turn(walk_ins, streak, priority_streak)
    if first_booked is not None:
        if walk_in is None or deadline(first_booked) <= min(deadline(t) for t in walk_ins):
            return first_booked
        return walk_in
    if walk_in is not None:
        return walk_in
    early = [t for t in booked if t not in due]
    return min(early, key=lambda t: (due_at(t), t["issued_at"], t["id"])) if early else None


def next_ticket(d: Database, center: str, services: list[str], now: datetime, streak: int,
                priority_streak: int, window: str = "", operator: str = "") -> Row | None:
    """The ticket `window`, held by `operator` and serving `services`, calls now, or None when
    nobody waits for it."""
    directed = directed_waiting(d, center, window, operator) if window else None
    if directed is not None:
        return directed
    return choose(walk_in_heads(d, center, services), booked_waiting(d, center, services), now, streak,
                  priority_streak)
