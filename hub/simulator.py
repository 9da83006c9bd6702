"""Simulated days through the real hub: how far the printed wait estimate is from the wait.

Visitors arrive by the day's profile (hub/day_profiles.py): a Poisson stream whose rate
changes by the hour, each with a service of the mix and a priority ticket now and then. A
kiosk's `ticket.issued` event, with the estimate it printed (the hub's figure for a new
ticket, as the feed gives it), goes through the hub's event ingest; operators open their
windows, call the next visitor, serve them for a lognormal time of their service (or mark
a no-show), pause for breaks and technical faults and close, through the hub's queue, on a
hand-set hub clock that jumps from one moment to the next. Nothing waits for real time.

The printed figure is the PLAN rule's (hub/estimates.py); at each arrival the SIMPLE rule is
asked too, so both are measured on the same visitors. A ticket's wait is from its issue to its call;
tickets never called (expired, or still waiting at the end) have no wait to compare and
are counted apart.
"""
from __future__ import annotations

import heapq
import math
import random
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub.day_profiles import DayProfile, WindowPlan, profile_for
from hub.db import iso
from hub.estimates import PLAN, Estimates
from hub.hub import Hub
from mfc_edge import protocol

CENTER, KIOSK, ZONE = "sim", "kiosk-1", "Europe/Moscow"
NO_SHOW_WAIT = timedelta(minutes=1)  # how long an operator waits for a called visitor who never comes
WITHIN = 5  # minutes: an estimate this close to the wait counts as right


class SetClock:
    """The hub's clock, set by the simulation."""

    def __init__(self, now: datetime):
        self.moment = now

    def now(self) -> datetime:
        return self.moment


@dataclass
class Accuracy:
    """Estimate against wait, in minutes, over some tickets."""
    errors: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.errors)

    @property
    def mae(self) -> float:
        return sum(abs(e) for e in self.errors) / len(self.errors) if self.errors else 0.0

    @property
    def bias(self) -> float:
        """Mean of estimate − wait: above 0 the estimates promise longer waits than happen."""
        return sum(self.errors) / len(self.errors) if self.errors else 0.0

    @property
    def within(self) -> float:
        return sum(abs(e) <= WITHIN for e in self.errors) / len(self.errors) if self.errors else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mae_minutes": round(self.mae, 2), "bias_minutes": round(self.bias, 2),
                f"within_{WITHIN}_min": round(self.within, 3)}


@dataclass
class DayTally:
    day: str
    profile: str
    visitors: int = 0  # who came and took a ticket
    arrivals: int = 0  # the day's tickets the hub holds
    states: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # state at the day's end -> tickets

    @property
    def accounted(self) -> int:
        return sum(self.states.values())


@dataclass
class Outcome:
    days: list[DayTally] = field(default_factory=list)
    # estimator ("plan", "simple") -> service ("all" for every ticket) -> accuracy
    accuracy: dict[str, dict[str, Accuracy]] = field(
        default_factory=lambda: {"plan": defaultdict(Accuracy), "simple": defaultdict(Accuracy)})
    never_called: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"days": [{"day": d.day, "profile": d.profile, "visitors": d.visitors, "states": dict(d.states)}
                         for d in self.days],
                "never_called": self.never_called,
                "accuracy": {name: {s: a.as_dict() for s, a in sorted(by.items())}
                             for name, by in self.accuracy.items()}}


@dataclass
class _Window:
    plan: WindowPlan
    state: str = "closed"  # closed, idle, busy, paused
    pending: list[tuple[str, int, str]] = field(default_factory=list)  # a pause or close due while busy
    closed_for_good: bool = False


class DaySimulator:
    """Replays days on one hub made for the run, in `folder` (a temporary one by default)."""

    def __init__(self, seed: int = 1, folder: Path | None = None):
        self.random = random.Random(seed)
        self._temporary = tempfile.TemporaryDirectory(prefix="mfc-simulate-") if folder is None else None
        self.clock = SetClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.hub = Hub(Path(self._temporary.name) if self._temporary is not None else Path(str(folder)),
                       clock=self.clock)
        # Nothing here needs to survive a power cut: a commit need not wait for the disk.
        self.hub.db.db.execute("PRAGMA synchronous=OFF")
        self.hub.centers.set(CENTER, ZONE, "Симуляция")
        self.zone = ZoneInfo(ZONE)
        self.device, _ = self.hub.identity.enroll(self.hub.identity.create_code(CENTER, "kiosk"), KIOSK)
        self.estimates = Estimates(self.hub.db, rule=PLAN)
        self.outcome = Outcome()
        self._simple: dict[str, int] = {}  # ticket -> the simple rule's minutes at its issue

    def close(self) -> None:
        self.hub.close()
        if self._temporary is not None:
            self._temporary.cleanup()

    def run(self, first: date, days: int, profile: DayProfile | None = None) -> Outcome:
        """`days` calendar days from `first`, each by `profile` or by its weekday's (Sunday closed)."""
        for offset in range(days):
            day = first + timedelta(days=offset)
            chosen = profile or profile_for(day.weekday())
            if chosen is not None:
                self.day(day, chosen)
        return self.outcome

    # --- one day ---------------------------------------------------------------------

    def day(self, day: date, profile: DayProfile) -> DayTally:
        tally = DayTally(day.isoformat(), profile.name)
        self._events: list[tuple[datetime, int, str, Any]] = []
        self._order = 0
        self._numbers: dict[str, int] = defaultdict(int)
        self._durations = {s.id: s for s in profile.services}
        self.profile, self.today = profile, day
        self.windows = {w.name: _Window(w) for w in profile.windows}
        self.clock.moment = self._at(profile.opens) - timedelta(minutes=30)
        self.hub.queue.close_past_days(CENTER)  # yesterday's line ends before today's begins
        for arrival in self._arrivals(profile):
            self._schedule(arrival[0], "arrive", arrival[1:])
            tally.visitors += 1
        self._schedule(self._at(profile.closes), "day_over", None)
        for window in profile.windows:
            self._schedule(self._at(window.opens), "open", window.name)
            for pause in window.pauses:
                self._schedule(self._at(pause[0]), "pause", (window.name, pause))
            if window.closes:
                self._schedule(self._at(window.closes), "close", window.name)
        while self._events:
            moment, _, kind, payload = heapq.heappop(self._events)
            self.clock.moment = max(self.clock.moment, moment)
            getattr(self, f"_on_{kind}")(payload)
        self._tally(tally)
        self.outcome.days.append(tally)
        return tally

    def _at(self, hhmm: str) -> datetime:
        return datetime.combine(self.today, time.fromisoformat(hhmm), self.zone).astimezone(UTC)

    def _schedule(self, moment: datetime, kind: str, payload: Any) -> None:
        self._order += 1
        heapq.heappush(self._events, (moment, self._order, kind, payload))

    def _arrivals(self, profile: DayProfile) -> list[tuple[datetime, str, bool]]:
        """(when, service, priority): a Poisson stream at each hour's rate."""
        found: list[tuple[datetime, str, bool]] = []
        services = list(profile.services)
        weights = [s.share for s in services]
        for hour, rate in sorted(profile.arrivals.items()):
            start = datetime.combine(self.today, time(hour), self.zone).astimezone(UTC)
            minute = self.random.expovariate(rate / 60) if rate > 0 else 60.0
            while minute < 60:
                service = self.random.choices(services, weights)[0]
                found.append((start + timedelta(minutes=minute), service.id,
                              self.random.random() < profile.priority_share))
                minute += self.random.expovariate(rate / 60)
        return found

    # --- what happens --------------------------------------------------------------------

    def _on_arrive(self, payload: tuple[str, bool]) -> None:
        service, priority = payload
        now = self.clock.now()
        estimates = self.estimates
        printed = estimates.for_new_tickets(CENTER, [service])[service]
        simple = estimates.simple_for_new_tickets(CENTER, [service])[service]
        letter = self._durations[service].letter
        self._numbers[letter] += 1
        ticket = uuid.uuid4().hex
        body = {"ticket": ticket, "number": f"{letter}{self._numbers[letter] % 1000:03d}", "service": service,
                "day": self.today.isoformat(), "priority": priority, "issued_at": iso(now), "lang": "ru",
                "status_token": uuid.uuid4().hex,
                "estimate": {"minutes": min(printed.minutes, protocol.MAX_ESTIMATE_MINUTES),
                             "ahead": min(printed.ahead, protocol.MAX_ESTIMATE_AHEAD), "source": "hub"}}
        event = protocol.make_event(protocol.TICKET_ISSUED, CENTER, KIOSK, now, body)
        outcome = self.hub.events.ingest(self.device, [event])[0]
        if outcome.status != "stored":
            raise RuntimeError(f"the simulated ticket was refused: {outcome.reason}")
        self._simple[ticket] = simple.minutes
        for window in self.windows.values():
            if window.state == "idle" and service in window.plan.services:
                self._call(window)

    def _on_open(self, name: str) -> None:
        window = self.windows[name]
        if window.closed_for_good:
            return
        self.hub.queue.open_window(CENTER, name, list(window.plan.services), f"operator-{name}")
        window.state = "idle"
        self._call(window)

    def _call(self, window: _Window) -> None:
        name = window.plan.name
        ticket = self.hub.queue.call_next(CENTER, name, list(window.plan.services))
        if ticket is None:
            if self._day_over:  # nobody left for its services, and nobody comes any more
                self._close(window)
            return
        window.state = "busy"
        if self.random.random() < self.profile.no_show_share:
            self._schedule(self.clock.now() + NO_SHOW_WAIT, "free", (name, "no_show"))
            return
        self.hub.queue.start(CENTER, name)
        mix = self._durations.get(ticket["service"])
        minutes = self.random.lognormvariate(math.log(mix.median_minutes), mix.sigma) if mix else 10.0
        self._schedule(self.clock.now() + timedelta(minutes=minutes), "free", (name, "done"))

    def _on_free(self, payload: tuple[str, str]) -> None:
        name, how = payload
        window = self.windows[name]
        (self.hub.queue.no_show if how == "no_show" else self.hub.queue.finish)(CENTER, name)
        window.state = "idle"
        if window.pending:
            action = window.pending.pop(0)
            if action[0] == "close":
                self._close(window)
            else:
                self._pause(window, action)
            return
        self._call(window)

    def _on_pause(self, payload: tuple[str, tuple[str, int, str]]) -> None:
        name, pause = payload
        window = self.windows[name]
        if window.state == "busy":
            window.pending.append(pause)
        elif window.state == "idle":
            self._pause(window, pause)

    def _pause(self, window: _Window, pause: tuple[str, int, str]) -> None:
        """A pause as the hub keeps it (hub/schema.py, step 11): the window calls nobody meanwhile."""
        now = iso(self.clock.now())
        with self.hub.db.transaction() as d:
            d.execute("UPDATE windows SET paused_since = ?, pause_reason = ? WHERE center = ? AND window = ?",
                      [now, pause[2], CENTER, window.plan.name])
            d.table("window_pauses").insert({"center": CENTER, "window": window.plan.name,
                                             "operator": f"operator-{window.plan.name}", "reason": pause[2],
                                             "started_at": now, "ended_at": None})
            self.hub.db.bump_feed(d, CENTER)
        window.state = "paused"
        self._schedule(self.clock.now() + timedelta(minutes=pause[1]), "resume", window.plan.name)

    def _on_resume(self, name: str) -> None:
        window = self.windows[name]
        now = iso(self.clock.now())
        with self.hub.db.transaction() as d:
            d.execute("UPDATE windows SET paused_since = NULL, pause_reason = '' WHERE center = ? AND window = ?",
                      [CENTER, name])
            d.execute("UPDATE window_pauses SET ended_at = ? WHERE center = ? AND window = ? AND ended_at IS NULL",
                      [now, CENTER, name])
            self.hub.db.bump_feed(d, CENTER)
        if window.state != "paused":
            return
        window.state = "idle"
        if window.pending and window.pending[0][0] == "close":
            window.pending.pop(0)
            self._close(window)
            return
        self._call(window)

    def _on_close(self, name: str) -> None:
        window = self.windows[name]
        if window.state == "busy":
            window.pending.append(("close", 0, ""))
        elif window.state == "paused":
            window.pending.insert(0, ("close", 0, ""))
        elif window.state == "idle":
            self._close(window)
        window.closed_for_good = True

    def _close(self, window: _Window) -> None:
        self.hub.queue.close_window(CENTER, window.plan.name)
        window.state, window.closed_for_good = "closed", True

    @property
    def _day_over(self) -> bool:
        return self.clock.now() >= self._at(self.profile.closes)

    def _on_day_over(self, _: None) -> None:
        """The kiosks stop issuing; the windows serve whoever still waits, then close."""
        for window in self.windows.values():
            if window.state == "idle" and not self._line_for(window):
                self._close(window)

    def _line_for(self, window: _Window) -> int:
        marks = ",".join("?" * len(window.plan.services))
        return int(self.hub.db.db.execute(
            f"SELECT count(*) FROM tickets WHERE center = ? AND state = 'waiting' AND service IN ({marks})",
            [CENTER, *window.plan.services]).fetchone()[0])

    # --- the day's figures ---------------------------------------------------------------

    def _tally(self, tally: DayTally) -> None:
        rows = self.hub.db.db.query(
            "SELECT id, service, state, issued_at, called_at, estimate_minutes FROM tickets "
            "WHERE center = ? AND day = ?", [CENTER, tally.day])
        for row in rows:
            tally.arrivals += 1
            tally.states[row["state"]] += 1
            if row["called_at"] is None:
                self.outcome.never_called += 1
                continue
            waited = (datetime.fromisoformat(row["called_at"]) - datetime.fromisoformat(row["issued_at"])
                      ).total_seconds() / 60
            for name, minutes in (("plan", row["estimate_minutes"]), ("simple", self._simple.get(row["id"]))):
                if minutes is None:
                    continue
                for key in ("all", row["service"]):
                    self.outcome.accuracy[name][key].errors.append(minutes - waited)

