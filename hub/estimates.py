"""The one wait estimate the hub gives: to kiosks for a new ticket (the queue feed's
`estimates`) and to phones for an issued one (the status page), by one of two rules.

SIMPLE: the people ahead in the ticket's service's line times the mean of the center's last
30 visits, shared by the windows open for the service (`wait_minutes`).

PLAN: when a window would call the ticket (hub/estimate_plan.py): the line as it stands is
played forward through the windows open now and not paused, each with its own services, in
the queue's call order (hub/queue_order.py: priority, booked visitors due), each window
first finishing its current visitor. A visit lasts the recent mean of its service at that
hour of the day. "People ahead" are those the windows serving the ticket's service call
before it. A ticket no open window serves cannot be placed that way: it keeps SIMPLE,
counted as one window.

The hub's feed and phone page give PLAN's figures (hub/hub.py). The simulator
(hub/simulator.py, `mfc-edge simulate`) measures both rules on the same simulated days;
benchmarks/RESULTS.md has the figures. A paused window counts as closed in both.

Every estimate printed on a ticket is kept with it (`store_printed`), so that its accuracy
can be checked against the wait that followed.
"""
from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from hub.centers import Centers
from hub.db import HubDB, Row
from hub.estimate_plan import Plan, ServiceTimes, WaitEstimate, Window, plan_line

DEFAULT_SERVICE_MINUTES = 10.0
PRIORITY_STREAK = 3  # the queue's default (hub/queue.py)
SIMPLE, PLAN = "simple", "plan"
RULES = (SIMPLE, PLAN)
DEFAULT_RULE = SIMPLE  # a Queue's own; the hub sets PLAN for its feed and phone page (hub/hub.py)
# Service times are read from this many recent days of finished visits.
HISTORY_DAYS = 14
# A plan is made again at each change of the center's feed, and at least this often: the
# visitors being served take longer than expected, and the plan's times drift.
PLAN_MAX_AGE = timedelta(seconds=60)

__all__ = ["DEFAULT_RULE", "DEFAULT_SERVICE_MINUTES", "PLAN", "RULES", "SIMPLE", "Estimates", "WaitEstimate",
           "store_printed", "wait_minutes"]


def wait_minutes(ahead: int, mean_service_minutes: float, open_windows: int) -> int:
    """The simple rule: the people ahead times the recent mean service time, shared by the
    windows open for the service (one, when none is), rounded up: told "about 10 minutes", a
    visitor minds waiting 11 far more than waiting 9."""
    # To a millionth first: 25 × 2.2 / 5 is 11.000000000000002 in floating point, 11 minutes and not 12.
    return math.ceil(round(ahead * mean_service_minutes / max(1, open_windows), 6))


def minutes_until(moment: datetime, now: datetime) -> int:
    """Whole minutes from now to `moment`, rounded up like `wait_minutes`; 0 when it has come."""
    return max(0, math.ceil(round((moment - now).total_seconds() / 60, 6)))


def store_printed(d: Database, events: list[dict[str, Any]]) -> None:
    """Keep the estimate each new ticket.issued event says was printed, by ticket id, in the
    ingest's transaction. The first one a ticket arrived with stays (a resent event changes nothing)."""
    for event in events:
        printed = event["body"].get("estimate")
        if printed:
            d.execute("UPDATE tickets SET estimate_minutes = ?, estimate_ahead = ?, estimate_source = ? "
                      "WHERE id = ? AND estimate_minutes IS NULL",
                      [printed["minutes"], printed["ahead"], printed["source"], event["body"]["ticket"]])


class Estimates:
    def __init__(self, db: HubDB, priority_streak: int = PRIORITY_STREAK, rule: str = DEFAULT_RULE):
        if rule not in RULES:
            raise ValueError(f"estimate rule {rule!r}: expected one of {', '.join(RULES)}")
        self.db, self.rule = db, rule
        self.centers = Centers(db)
        self.priority_streak = priority_streak
        self._lock = threading.Lock()
        self._plans: dict[str, tuple[int, Plan]] = {}
        self._times: dict[str, tuple[tuple[str, int], ServiceTimes]] = {}

    # --- the simple rule (and the figures the feed shows beside the estimates) ------------

    def people_ahead(self, ticket: Row) -> int:
        """Waiting tickets of the ticket's service called before it by priority and time of issue."""
        return self.db.db.execute(
            "SELECT count(*) FROM tickets WHERE center = ? AND service = ? AND state = 'waiting' AND id != ? "
            "AND (priority > ? OR (priority = ? AND issued_at < ?))",
            [ticket["center"], ticket["service"], ticket["id"], ticket["priority"], ticket["priority"],
             ticket["issued_at"]]).fetchone()[0]

    def mean_service_minutes(self, center: str) -> float:
        rows = list(self.db.db.query(
            "SELECT started_at, finished_at FROM tickets WHERE center = ? AND state = 'done' "
            "AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 30", [center]))
        if not rows:
            return DEFAULT_SERVICE_MINUTES
        minutes = [(datetime.fromisoformat(r["finished_at"]) - datetime.fromisoformat(r["started_at"])).total_seconds()
                   / 60 for r in rows]
        return max(1.0, sum(minutes) / len(minutes))

    def open_windows_by_service(self, center: str) -> dict[str, int]:
        """Windows open and not paused, per service they serve."""
        counts: dict[str, int] = {}
        for window in self._open_windows(center):
            for service in window.services:
                counts[service] = counts.get(service, 0) + 1
        return counts

    def simple_estimate(self, ticket: Row) -> WaitEstimate:
        """SIMPLE for an issued ticket: the people called before it in its service's line."""
        ahead = self.people_ahead(ticket)
        windows = self.open_windows_by_service(ticket["center"]).get(ticket["service"], 0)
        return WaitEstimate(ahead, wait_minutes(ahead, self.mean_service_minutes(ticket["center"]), windows))

    def simple_for_new_tickets(self, center: str, services: Iterable[str] = (),
                               waiting: Mapping[str, int] | None = None) -> dict[str, WaitEstimate]:
        """SIMPLE for a new ticket: everyone waiting for the service is ahead of it."""
        if waiting is None:
            waiting = self._waiting_counts(center)
        mean, windows = self.mean_service_minutes(center), self.open_windows_by_service(center)
        return {s: WaitEstimate(waiting.get(s, 0), wait_minutes(waiting.get(s, 0), mean, windows.get(s, 0)))
                for s in sorted({*services, *waiting})}

    # --- by the estimates' rule -------------------------------------------------------

    def estimate(self, ticket: Row) -> WaitEstimate:
        """The wait of an issued ticket still in line."""
        return self.simple_estimate(ticket) if self.rule == SIMPLE else self.planned_estimate(ticket)

    def for_new_tickets(self, center: str, services: Iterable[str] = (),
                        waiting: Mapping[str, int] | None = None) -> dict[str, WaitEstimate]:
        """Per service, the wait of an ordinary ticket issued now. For `services` and every
        service someone waits for; `waiting`: the counts per service when the caller has just
        read them (the feed has)."""
        if self.rule == SIMPLE:
            return self.simple_for_new_tickets(center, services, waiting)
        return self.planned_for_new_tickets(center, services, waiting)

    # --- the plan --------------------------------------------------------------------

    def planned_estimate(self, ticket: Row) -> WaitEstimate:
        """PLAN for an issued ticket still in line: when a window would call it."""
        plan = self._plan(ticket["center"], ())
        called = plan.calls.get(ticket["id"])
        if called is None:
            return self._unplaced(ticket["center"], self.people_ahead(ticket))
        return WaitEstimate(called[1], minutes_until(called[0], self.db.now()))

    def planned_for_new_tickets(self, center: str, services: Iterable[str] = (),
                                waiting: Mapping[str, int] | None = None) -> dict[str, WaitEstimate]:
        """PLAN for a new ticket: when a window would call an ordinary ticket issued now."""
        if waiting is None:
            waiting = self._waiting_counts(center)
        wanted = sorted({*services, *waiting})
        plan, now = self._plan(center, wanted), self.db.now()
        found: dict[str, WaitEstimate] = {}
        for service in wanted:
            called = plan.new_tickets.get(service)
            found[service] = (WaitEstimate(called[1], minutes_until(called[0], now)) if called is not None
                              else self._unplaced(center, waiting.get(service, 0)))
        return found

    def _unplaced(self, center: str, ahead: int) -> WaitEstimate:
        """No open window serves the service: the simple rule, counted as one window."""
        return WaitEstimate(ahead, wait_minutes(ahead, self.mean_service_minutes(center), 0))

    def _plan(self, center: str, services: Iterable[str]) -> Plan:
        """The center's plan for its feed's version, made again when older than PLAN_MAX_AGE or
        missing a service asked for. The feed and phone pages ask often; the plan changes only
        with the line."""
        version, now = self.db.feed_version(center), self.db.now()
        wanted = set(services)
        with self._lock:
            cached = self._plans.get(center)
        if (cached is not None and cached[0] == version and timedelta(0) <= now - cached[1].made_at <= PLAN_MAX_AGE
                and wanted <= cached[1].new_tickets.keys() | cached[1].unplaced):
            return cached[1]
        if cached is not None and cached[0] == version:
            wanted |= cached[1].new_tickets.keys() | cached[1].unplaced
        # Seeded by the version: the same line gives the same figures, to every kiosk and phone.
        plan = plan_line(now, self._open_windows(center), self._waiting(center), self.service_times(center),
                         sorted(wanted), self.priority_streak, seed=version)
        with self._lock:
            self._plans[center] = (version, plan)
        return plan

    # --- what the plan is made of -----------------------------------------------------

    def service_times(self, center: str) -> ServiceTimes:
        """The visits finished in the last HISTORY_DAYS days, read again when today's count changes."""
        day = (self.db.now() - timedelta(days=HISTORY_DAYS)).date().isoformat()
        today = self.centers.today(center)[0]
        done_today = self.db.db.execute("SELECT count(*) FROM tickets WHERE center = ? "
                                        "AND state IN ('done', 'no_show') AND day = ?", [center, today]).fetchone()[0]
        key = (today, done_today)
        with self._lock:
            cached = self._times.get(center)
        if cached is not None and cached[0] == key:
            return cached[1]
        # A window is taken from the call to the finish: the walk to the window counts, and so
        # does the minute or two an operator waits for a visitor who never comes (a no-show).
        rows = self.db.db.execute(
            "SELECT service, coalesce(called_at, started_at), finished_at FROM tickets "
            "WHERE center = ? AND state IN ('done', 'no_show') AND day >= ? AND finished_at IS NOT NULL",
            [center, day]).fetchall()
        times = ServiceTimes.from_visits(rows, self.centers.timezone(center), DEFAULT_SERVICE_MINUTES)
        with self._lock:
            self._times[center] = (key, times)
        return times

    def _open_windows(self, center: str) -> list[Window]:
        """Open, unpaused windows with their current visitor: a paused window calls nobody."""
        rows = self.db.db.query(
            "SELECT w.window, w.services, w.operator, w.priority_streak, t.service AS serving, "
            "coalesce(t.called_at, t.started_at) AS since FROM windows w LEFT JOIN tickets t "
            "ON t.id = (SELECT id FROM tickets WHERE center = w.center AND window = w.window "
            "AND state IN ('called', 'serving') ORDER BY called_at DESC LIMIT 1) "
            "WHERE w.center = ? AND w.open_since IS NOT NULL AND w.paused_since IS NULL ORDER BY w.window", [center])
        return [Window(r["window"], json.loads(r["services"] or "[]"), r["operator"] or "", r["priority_streak"] or 0,
                       r["serving"], datetime.fromisoformat(r["since"]) if r["since"] else None) for r in rows]

    def _waiting(self, center: str) -> list[Row]:
        return list(self.db.db.query(
            "SELECT id, service, priority, issued_at, booking, slot_at, for_window, for_operator FROM tickets "
            "WHERE center = ? AND state = 'waiting'", [center]))

    def _waiting_counts(self, center: str) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.db.execute(
            "SELECT service, count(*) FROM tickets WHERE center = ? AND state = 'waiting' GROUP BY service",
            [center])}

