"""The hub's wait estimate in hand-made situations whose waits are worked out by hand: which
open windows serve which services, a paused window, priority ahead, a visitor being served,
service times by hour of day. The simple rule of before is shown beside it where it errs."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hardware.clock import ManualClock
from hub.db import HubDB, iso
from hub.estimates import PLAN, Estimates, WaitEstimate
from tests.helpers.day import TEST_DAY, at

NOW = at(9, 50)  # Moscow


class Situation:
    def __init__(self, tmp_path):
        self.clock = ManualClock(NOW.astimezone(UTC))
        self.db = HubDB(tmp_path / "hub", clock=self.clock)
        self.db.db["centers"].insert({"id": "strogino", "timezone": "Europe/Moscow", "name": "Строгино",
                                      "updated_at": iso(NOW)})
        self.made = 0

    def served(self, service: str, minutes: float, started: datetime, times: int = 5) -> None:
        """`times` past visits of `service` begun at `started` that took `minutes` each."""
        for _ in range(times):
            self._ticket(service, "done", issued=started - timedelta(minutes=5), started_at=iso(started),
                         called_at=iso(started), finished_at=iso(started + timedelta(minutes=minutes)),
                         window="9", day=(started - timedelta(days=0)).astimezone(NOW.tzinfo).date().isoformat())

    def waiting(self, service: str, minutes_ago: float, priority: bool = False) -> str:
        return self._ticket(service, "waiting", issued=NOW - timedelta(minutes=minutes_ago), priority=int(priority))

    def window(self, name: str, services: list[str], paused: bool = False, serving: tuple[str, float] | None = None):
        self.db.db["windows"].insert({"center": "strogino", "window": name, "services": json.dumps(services),
                                      "open_since": iso(NOW - timedelta(hours=1)), "operator": f"op{name}",
                                      "priority_streak": 0, "paused_since": iso(NOW) if paused else None,
                                      "pause_reason": "break" if paused else ""})
        if serving:  # (service, minutes since the visit began)
            begun = NOW - timedelta(minutes=serving[1])
            self._ticket(serving[0], "serving", issued=begun - timedelta(minutes=5), window=name,
                         called_at=iso(begun), started_at=iso(begun))

    def _ticket(self, service: str, state: str, issued: datetime, **fields) -> str:
        ticket = uuid.uuid4().hex
        self.made += 1  # a day's numbers are unique
        self.db.db["tickets"].insert({"id": ticket, "center": "strogino", "number": f"П{self.made:03d}",
                                      "service": service, "day": TEST_DAY.isoformat(), "priority": 0,
                                      "issued_at": iso(issued), "state": state, "status_token": ticket,
                                      **fields})
        return ticket

    def new(self, *services: str) -> dict[str, WaitEstimate]:
        return Estimates(self.db, rule=PLAN).for_new_tickets("strogino", services)

    def old(self, *services: str) -> dict[str, WaitEstimate]:
        return Estimates(self.db).simple_for_new_tickets("strogino", services)

    def of(self, ticket: str) -> WaitEstimate:
        return Estimates(self.db, rule=PLAN).estimate(self.db.db["tickets"].get(ticket))


@pytest.fixture
def situation(tmp_path):
    s = Situation(tmp_path)
    yield s
    s.db.close()


def test_two_windows_serving_different_services_each_work_through_their_own_line(situation):
    situation.served("passport-rf", 10, at(9, 0))
    situation.served("adult-snils", 4, at(9, 10))
    situation.window("1", ["passport-rf"])
    situation.window("2", ["adult-snils"])
    for minutes_ago in (8, 6):
        situation.waiting("passport-rf", minutes_ago)
    for minutes_ago in (7, 5, 3):
        situation.waiting("adult-snils", minutes_ago)
    # Window 1 calls the passports at 0 and 10 minutes, a new one at 20; window 2 the SNILS at
    # 0, 4 and 8, a new one at 12.
    assert situation.new("passport-rf", "adult-snils") == {
        "passport-rf": WaitEstimate(2, 20), "adult-snils": WaitEstimate(3, 12)}
    # The simple rule: one mean for all (7 minutes) times the line: 14 and 21.
    assert situation.old("passport-rf", "adult-snils") == {
        "passport-rf": WaitEstimate(2, 14), "adult-snils": WaitEstimate(3, 21)}


def test_a_window_serving_two_services_calls_by_time_of_issue_across_them(situation):
    situation.served("passport-rf", 10, at(9, 0))
    situation.window("1", ["passport-rf", "adult-snils"])
    situation.waiting("passport-rf", 8)
    snils = situation.waiting("adult-snils", 6)
    situation.waiting("passport-rf", 4)
    # SNILS has no history of its own: the center's mean, 10 minutes. Called second, at 10.
    assert situation.of(snils) == WaitEstimate(1, 10)
    assert situation.new("adult-snils")["adult-snils"] == WaitEstimate(3, 30)


def test_a_paused_window_calls_nobody(situation):
    situation.served("passport-rf", 10, at(9, 0))
    situation.window("1", ["passport-rf"])
    situation.window("2", ["passport-rf"], paused=True)
    for minutes_ago in (9, 6, 3):
        situation.waiting("passport-rf", minutes_ago)
    assert Estimates(situation.db).open_windows_by_service("strogino") == {"passport-rf": 1}
    assert situation.new("passport-rf") == {"passport-rf": WaitEstimate(3, 30)}  # not 15: one window works


def test_priority_ahead_and_the_visitor_being_served(situation):
    situation.served("passport-rf", 10, at(9, 0))
    # The visitor at window 1 began 4 minutes ago; past visits all took 10: 6 minutes are left.
    situation.window("1", ["passport-rf"], serving=("passport-rf", 4))
    ordinary = situation.waiting("passport-rf", 10)
    priority = situation.waiting("passport-rf", 5, priority=True)
    assert situation.of(priority) == WaitEstimate(0, 6)
    assert situation.of(ordinary) == WaitEstimate(1, 16)
    assert situation.new("passport-rf") == {"passport-rf": WaitEstimate(2, 26)}


def test_service_times_by_hour_of_day(situation):
    situation.served("passport-rf", 5, at(9, 0, days=-1))  # quick at 9 in the morning
    situation.served("passport-rf", 15, at(10, 0, days=-1))  # slow from 10
    situation.window("1", ["passport-rf"])
    for minutes_ago in (9, 6, 3):
        situation.waiting("passport-rf", minutes_ago)
    # Calls at 9:50 and 9:55 (5 minutes each), 10:00 (15 minutes): a new ticket at 10:15.
    assert situation.new("passport-rf") == {"passport-rf": WaitEstimate(3, 25)}


def test_a_service_no_open_window_serves_keeps_the_simple_rule(situation):
    situation.served("passport-rf", 10, at(9, 0))
    situation.window("1", ["passport-rf"])
    situation.waiting("oms-policy", 5)
    situation.waiting("oms-policy", 3)
    # Nobody will call them while no window serves them: 2 × the mean of 10, counted as one window.
    assert situation.new("oms-policy") == {"oms-policy": WaitEstimate(2, 20)}
