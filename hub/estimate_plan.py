"""The line played forward: when each waiting ticket would be called, and a new one of each service.

`play_forward` takes the windows open now (not paused), each free now or when its current
visitor is expected to finish, and repeatedly lets the window that frees first call the
ticket the queue would give it (hub/queue_order.py's `choose`, the same rule the windows
use; a ticket transferred to a window or an operator first, as the queue calls it). The
visitor then stays for their service's mean time at that hour of the day (`ServiceTimes`).

A new ticket of a service is played as an ordinary ticket issued now that nobody else sees:
when a window would pick it, its time is noted and the window picks again without it. Its
presence could only change what happens after it is called, so one play places every
service's new ticket at once.
"""
from __future__ import annotations

import heapq
import random
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.db import Row, iso
from hub.queue_order import choose

# A mean stands on at least this many visits: with fewer for a service at an hour, the
# service's mean over all hours is taken; with fewer for a service, the center's (of any visits).
MIN_VISITS = 5
MIN_SERVICE_MINUTES = 0.5
# Past this many calls the rest of a very long line keeps the simple rule: a plan stays quick.
MAX_CALLS = 3000
# Plays with visit times drawn from past ones, whose median call times the estimates are.
PLAYS = 15
_PROBE = "\x00new:"  # the id of a service's new ticket in a play; no ticket id starts so


@dataclass(frozen=True)
class WaitEstimate:
    """What a visitor is told: people served before them, and about how many minutes that takes."""
    ahead: int
    minutes: int


@dataclass(frozen=True)
class Window:
    name: str
    services: list[str]
    operator: str
    streak: int  # priority calls in a row (hub/queue_order.py, rule 1)
    serving: str | None = None  # the service of the visitor called or served there now
    since: datetime | None = None  # when that visit began


@dataclass
class Plan:
    made_at: datetime
    calls: dict[str, tuple[datetime, int]] = field(default_factory=dict)  # ticket -> (called at, ahead)
    new_tickets: dict[str, tuple[datetime, int]] = field(default_factory=dict)  # service -> the same
    unplaced: set[str] = field(default_factory=set)  # services asked for that no open window serves


class ServiceTimes:
    """Minutes a visit takes, by service and local hour of its start, from recent visits."""

    def __init__(self, samples: dict[str, list[float]], by_hour: dict[tuple[str, int], list[float]],
                 zone: ZoneInfo, default: float):
        self.samples, self.zone = samples, zone
        every = [m for visits in samples.values() for m in visits]
        self.center = sum(every) / len(every) if every else default  # as the SIMPLE rule's mean
        self.service = {s: sum(v) / len(v) for s, v in samples.items() if len(v) >= MIN_VISITS}
        self.hourly = {key: sum(v) / len(v) for key, v in by_hour.items() if len(v) >= MIN_VISITS}
        self._by_hour = {key: v for key, v in by_hour.items() if len(v) >= MIN_VISITS}

    @classmethod
    def from_visits(cls, rows: Iterable[Sequence[Any]], zone: ZoneInfo, default: float) -> ServiceTimes:
        """`rows`: (service, started at, finished at) of finished visits."""
        samples: dict[str, list[float]] = defaultdict(list)
        by_hour: dict[tuple[str, int], list[float]] = defaultdict(list)
        for service, started, finished in rows:
            if not started:
                continue
            begun = datetime.fromisoformat(started)
            minutes = (datetime.fromisoformat(finished) - begun).total_seconds() / 60
            if minutes < 0:
                continue
            samples[service].append(minutes)
            by_hour[(service, begun.astimezone(zone).hour)].append(minutes)
        return cls(dict(samples), dict(by_hour), zone, default)

    def mean(self, service: str, at: datetime) -> float:
        found = self.hourly.get((service, at.astimezone(self.zone).hour))
        if found is None:
            found = self.service.get(service, self.center)
        return max(MIN_SERVICE_MINUTES, found)

    def draw(self, service: str, at: datetime, rng: random.Random) -> float:
        """A visit's minutes drawn from the past visits `mean` stands on (the mean itself when it
        stands on the center's figure or the default)."""
        found = self._by_hour.get((service, at.astimezone(self.zone).hour))
        if found is None and service in self.service:
            found = self.samples[service]
        return max(MIN_SERVICE_MINUTES, rng.choice(found)) if found else self.mean(service, at)

    def draw_remaining(self, service: str, since: datetime, now: datetime, rng: random.Random) -> float:
        """Like `remaining`, drawn from the past visits that lasted longer than this one so far."""
        elapsed = max(0.0, (now - since).total_seconds() / 60)
        longer = [m - elapsed for m in self.samples.get(service, ()) if m > elapsed]
        if len(longer) >= MIN_VISITS:
            return rng.choice(longer)
        return self.remaining(service, since, now)

    def remaining(self, service: str, since: datetime, now: datetime) -> float:
        """Minutes left of a visit begun at `since`: the mean of what was left in past visits of
        the service that lasted longer than this one has so far; when too few did, the rest of
        the mean, and at least a minute."""
        elapsed = max(0.0, (now - since).total_seconds() / 60)
        longer = [m - elapsed for m in self.samples.get(service, ()) if m > elapsed]
        if len(longer) >= MIN_VISITS:
            return sum(longer) / len(longer)
        return max(1.0, self.mean(service, since) - elapsed)


class _Line:
    """The waiting tickets as the windows take them during one play."""

    def __init__(self, tickets: list[Row], probes: Iterable[str], now: datetime):
        self.walk_ins: dict[tuple[str, int], list[Row]] = defaultdict(list)
        self.booked: dict[str, list[Row]] = defaultdict(list)
        self.directed: list[Row] = []
        for ticket in sorted(tickets, key=lambda t: (t["issued_at"], t["id"])):
            if ticket.get("for_window") or ticket.get("for_operator"):
                self.directed.append(ticket)
            elif ticket["booking"]:
                self.booked[ticket["service"]].append(ticket)
            else:
                self.walk_ins[(ticket["service"], ticket["priority"])].append(ticket)
        issued = iso(now)
        for service in probes:  # each after every real ticket of its line: issued now, ordinary
            self.walk_ins[(service, 0)].append({"id": _PROBE + service, "service": service, "priority": 0,
                                                "issued_at": issued, "booking": "", "slot_at": ""})
        self.taken: set[str] = set()

    def _first(self, tickets: list[Row]) -> Row | None:
        while tickets and tickets[0]["id"] in self.taken:
            tickets.pop(0)
        return tickets[0] if tickets else None

    def next_for(self, window: Window, streak: int, at: datetime, priority_streak: int) -> Row | None:
        for ticket in self.directed:
            if ticket["id"] not in self.taken and (ticket.get("for_window") == window.name or (
                    ticket.get("for_operator") and ticket.get("for_operator") == window.operator)):
                return ticket
        heads = [h for s in window.services for p in (0, 1) if (h := self._first(self.walk_ins.get((s, p), [])))]
        booked = [t for s in window.services for t in self.booked.get(s, ()) if t["id"] not in self.taken]
        return choose(heads, booked, at, streak, priority_streak)


def plan_line(now: datetime, windows: list[Window], waiting: list[Row], times: ServiceTimes,
              new_services: Iterable[str], priority_streak: int, plays: int = PLAYS, seed: int = 0) -> Plan:
    """When each waiting ticket, and a new ticket of each of `new_services`, would be called.

    One play with every visit taking its mean says who is ahead of whom; `plays` more, with
    visit times drawn from the past ones, say when: each ticket's time is the median of its
    times over those plays. With several windows busy, the first to free up is sooner than the
    soonest of their mean times (the earliest of several random times is earlier than the
    earliest of their means), and the median is the figure an estimate is least far from."""
    wanted = list(new_services)
    plan = play_forward(now, windows, waiting, times, wanted, priority_streak)
    if plays <= 0:
        return plan
    rng = random.Random(seed)
    drawn = [play_forward(now, windows, waiting, times, wanted, priority_streak, rng) for _ in range(plays)]
    for kind in ("calls", "new_tickets"):
        found: dict[str, tuple[datetime, int]] = getattr(plan, kind)
        for key, (_, ahead) in list(found.items()):
            times_drawn = [getattr(d, kind)[key][0] for d in drawn if key in getattr(d, kind)]
            if len(times_drawn) == plays:
                seconds = statistics.median((t - now).total_seconds() for t in times_drawn)
                found[key] = (now + timedelta(seconds=seconds), ahead)
    return plan


def play_forward(now: datetime, windows: list[Window], waiting: list[Row], times: ServiceTimes,
                 new_services: Iterable[str], priority_streak: int, rng: random.Random | None = None) -> Plan:
    """When each waiting ticket, and a new ticket of each of `new_services`, would be called:
    one play, each visit taking its mean time, or a time drawn with `rng`."""
    served = {s for w in windows for s in w.services}
    wanted = set(new_services)
    plan = Plan(now, unplaced=wanted - served)
    line = _Line(waiting, wanted & served, now)
    streaks = {w.name: w.streak for w in windows}
    free: list[tuple[datetime, int, Window]] = []
    for order, window in enumerate(windows):
        begins = now
        if window.serving is not None and window.since is not None:
            left = (times.remaining(window.serving, window.since, now) if rng is None
                    else times.draw_remaining(window.serving, window.since, now, rng))
            begins = now + timedelta(minutes=left)
        free.append((begins, order, window))
    heapq.heapify(free)
    called_for: dict[str, int] = defaultdict(int)  # calls so far by windows serving each service
    called_at: dict[str, int] = defaultdict(int)  # calls so far by each window
    calls = 0
    while free and calls < MAX_CALLS:
        at, order, window = heapq.heappop(free)
        ticket = line.next_for(window, streaks[window.name], at, priority_streak)
        while ticket is not None and ticket["id"].startswith(_PROBE):
            plan.new_tickets[ticket["service"]] = (at, called_for[ticket["service"]])
            line.taken.add(ticket["id"])
            ticket = line.next_for(window, streaks[window.name], at, priority_streak)
        if ticket is None:
            continue  # nothing left for this window's services: it stays idle
        line.taken.add(ticket["id"])
        directed = bool(ticket.get("for_window") or ticket.get("for_operator"))
        plan.calls[ticket["id"]] = (at, called_at[window.name] if directed else called_for[ticket["service"]])
        for service in window.services:
            called_for[service] += 1
        called_at[window.name] += 1
        calls += 1
        if not ticket["booking"] and not directed:
            streaks[window.name] = streaks[window.name] + 1 if ticket["priority"] else 0
        minutes = times.mean(ticket["service"], at) if rng is None else times.draw(ticket["service"], at, rng)
        heapq.heappush(free, (at + timedelta(minutes=minutes), order, window))
    plan.unplaced |= wanted - plan.new_tickets.keys()  # past MAX_CALLS: the simple rule
    return plan
