"""A simulated day of one center through the real queue: visitors arrive (walk-ins, booked
visitors checking in), windows call the next ticket each time they are free, and each visit
lasts its own minutes. Used by the queue's property tests and benchmarks/booked_day_bench.py.

Tickets go into the hub's table as ingest puts them there (waiting, with `booking` and
`slot_at` for a booked one); the order of calls is `Queue.call_next`'s own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hardware.clock import ManualClock
from hub.db import iso
from hub.queue import Queue

CENTER = "strogino"


@dataclass(frozen=True)
class Visitor:
    name: str
    service: str
    arrives: datetime  # takes the ticket, or checks in
    minutes: float  # at the window
    slot: datetime | None = None  # booked visitors only
    priority: bool = False


@dataclass(frozen=True)
class Window:
    name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class Called:
    at: datetime
    window: str
    visitor: Visitor
    waiting: tuple[Visitor, ...]  # everyone in line for the window's services just before the call


@dataclass
class Day:
    calls: list[Called] = field(default_factory=list)

    def called_at(self) -> dict[str, datetime]:
        return {c.visitor.name: c.at for c in self.calls}


def put_in_line(queue: Queue, visitor: Visitor, day: str) -> None:
    with queue.db.transaction() as d:
        d.table("tickets").insert({
            "id": visitor.name, "center": CENTER, "device": "kiosk-1", "number": visitor.name,
            "printed_number": visitor.name, "service": visitor.service, "day": day,
            "priority": int(visitor.priority), "issued_at": iso(visitor.arrives),
            "status_token": f"token-{visitor.name}-xxxxxxxxxxxx", "state": "waiting",
            "booking": f"booking-{visitor.name}" if visitor.slot else "",
            "slot_at": iso(visitor.slot) if visitor.slot else ""})


def clear(queue: Queue) -> None:
    """An empty center again, for the next simulated day on the same data folder."""
    with queue.db.transaction() as d:
        for table in ("tickets", "ticket_history", "calls", "windows"):
            d.execute(f"DELETE FROM {table}")


def simulate(queue: Queue, clock: ManualClock, visitors: list[Visitor], windows: list[Window],
             day: str) -> Day:
    """Run the day: from the first arrival, each window calls as soon as it is free and someone
    waits for its services, until every visitor has been called."""
    arrivals = sorted(visitors, key=lambda v: (v.arrives, v.name))
    by_name = {v.name: v for v in visitors}
    free_at: dict[str, datetime | None] = {w.name: None for w in windows}  # None: idle, waits for an arrival
    waiting: dict[str, Visitor] = {}
    result = Day()
    now, next_arrival = (arrivals[0].arrives if arrivals else None), 0
    while now is not None:
        while next_arrival < len(arrivals) and arrivals[next_arrival].arrives <= now:
            put_in_line(queue, arrivals[next_arrival], day)
            waiting[arrivals[next_arrival].name] = arrivals[next_arrival]
            next_arrival += 1
        clock.set(now)
        for window in windows:
            due = free_at[window.name]
            if due is not None and due > now:
                continue
            ticket = queue.call_next(CENTER, window.name, list(window.services))
            if ticket is None:
                free_at[window.name] = None
                continue
            queue.finish(CENTER, window.name)
            visitor = by_name[ticket["id"]]
            result.calls.append(Called(now, window.name, visitor, tuple(
                v for v in waiting.values() if v.service in window.services)))
            del waiting[visitor.name]
            free_at[window.name] = now + timedelta(minutes=visitor.minutes)
        later = [t for t in free_at.values() if t is not None and t > now]
        if next_arrival < len(arrivals):
            later.append(arrivals[next_arrival].arrives)
        now = min(later) if later else None
    return result
