"""The live queue's call order and state history, on the hub's storage directly."""
from __future__ import annotations

import random
from datetime import UTC, timedelta

import pytest

from hardware.clock import ManualClock
from hub.centers import Centers
from hub.db import HubDB
from hub.estimates import WaitEstimate
from hub.queue import Queue, QueueError
from tests.helpers.day import TEST_DAY, at

MONDAY_10AM_MOSCOW = at(7, tz=UTC)

TODAY, YESTERDAY = TEST_DAY.isoformat(), (TEST_DAY - timedelta(days=1)).isoformat()


@pytest.fixture
def clock():
    return ManualClock(MONDAY_10AM_MOSCOW)


@pytest.fixture
def queue(tmp_path, clock):
    db = HubDB(tmp_path, clock=clock)
    yield Queue(db, Centers(db), priority_streak=2)
    db.close()


def add(queue: Queue, n: int, *, priority=False, service="passport-rf", second=None, center="strogino",
        day=TODAY, received=None) -> str:
    with queue.db.transaction() as d:
        d["tickets"].insert({"id": f"{center}-{n}", "center": center, "device": "kiosk-1", "number": f"П{n:03d}",
                             "service": service, "day": day, "priority": int(priority),
                             "issued_at": f"{TEST_DAY}T07:00:{second if second is not None else n:02d}.000000+00:00",
                             "status_token": f"token-{center}-{n:04d}-xxxxxxxx", "state": "waiting",
                             "received_at": received})
    return f"П{n:03d}"


def serve_all(queue: Queue, services=("passport-rf",)) -> list[str]:
    order = []
    while (ticket := queue.call_next("strogino", "5", list(services))) is not None:
        order.append(ticket["number"])
        queue.finish("strogino", "5")
    return order


def test_priority_first_but_never_more_than_n_in_a_row(queue):
    for n in range(1, 4):
        add(queue, n)
    for n in range(4, 9):
        add(queue, n, priority=True)
    assert serve_all(queue) == ["П004", "П005", "П001", "П006", "П007", "П002", "П008", "П003"]


def test_only_priority_waiting_is_still_called(queue):
    for n in range(1, 5):
        add(queue, n, priority=True)
    assert serve_all(queue) == ["П001", "П002", "П003", "П004"]


def test_a_late_ticket_takes_its_place_by_time_of_issue(queue):
    add(queue, 1, second=10)
    add(queue, 2, second=30)
    add(queue, 500, second=20)  # from a kiosk that was offline: arrives last, issued second
    assert serve_all(queue) == ["П001", "П500", "П002"]


def test_windows_only_call_their_services_and_centers_are_apart(queue):
    add(queue, 1, service="adult-snils")
    add(queue, 2)
    add(queue, 3, center="other")
    assert serve_all(queue, ["passport-rf"]) == ["П002"]
    assert serve_all(queue, ["adult-snils"]) == ["П001"]
    assert queue.waiting("other")["passport-rf"]["count"] == 1


def test_actions_out_of_turn_are_refused_with_a_reason(queue):
    add(queue, 1)
    add(queue, 2)
    with pytest.raises(QueueError, match="no visitor is called to this window"):
        queue.finish("strogino", "5")
    queue.call_next("strogino", "5", ["passport-rf"])
    with pytest.raises(QueueError, match="finish the current visitor or mark a no-show first"):
        queue.call_next("strogino", "5", ["passport-rf"])
    with pytest.raises(QueueError, match="already in that service's line"):
        queue.transfer("strogino", "5", "passport-rf")
    with pytest.raises(QueueError, match="choose the services"):
        queue.call_next("strogino", "6", [])


def test_every_state_change_is_kept_with_its_time(queue):
    add(queue, 1)
    queue.call_next("strogino", "5", ["passport-rf"])
    queue.recall("strogino", "5")
    queue.start("strogino", "5")
    queue.transfer("strogino", "5", "adult-snils")
    queue.call_next("strogino", "7", ["adult-snils"])
    queue.finish("strogino", "7")
    history = queue.history("strogino-1")
    assert [h["state"] for h in history] == ["called", "recalled", "serving", "transferred", "waiting", "called",
                                             "done"]
    assert [h["window"] for h in history][-2:] == ["7", "7"]
    assert history[3]["detail"] == "passport-rf -> adult-snils"
    times = [h["at"] for h in history]
    assert times == sorted(times)
    calls = queue.recent_calls("strogino")
    assert [(c.number, c.window, c.recall) for c in calls] == [("П001", "7", False), ("П001", "5", True),
                                                              ("П001", "5", False)]


def test_people_ahead_and_estimate(queue):
    for n in range(1, 5):
        add(queue, n)
    add(queue, 9, priority=True)
    mine = queue.ticket_by_token("token-strogino-0004-xxxxxxxx")
    assert queue.estimates.people_ahead(mine) == 4  # three earlier and one priority
    queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
    queue.open_window("strogino", "6", ["passport-rf"], "petrov")
    queue.open_window("strogino", "7", ["passport-rf", "adult-snils"], "smirnova")
    # No history yet: 10 minutes each, over three windows: 13.3, rounded up.
    assert queue.estimates.estimate(mine) == WaitEstimate(ahead=4, minutes=14)
    assert queue.estimates.for_new_tickets("strogino", ["adult-snils"]) == {
        "adult-snils": WaitEstimate(0, 0), "passport-rf": WaitEstimate(5, 17)}


def test_a_past_days_tickets_are_never_called(queue):
    add(queue, 1, day=YESTERDAY, second=1)  # left waiting yesterday evening
    add(queue, 2, day=YESTERDAY, second=2)
    add(queue, 3)                               # this morning's
    add(queue, 4, day=YESTERDAY, center="other")
    queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
    # Before the minute check has closed yesterday, "call next" already skips its line.
    assert queue.call_next("strogino", "5", ["passport-rf"])["number"] == "П003"
    queue.finish("strogino", "5")
    assert queue.call_next("strogino", "5", ["passport-rf"]) is None
    assert [h["state"] for h in queue.history("strogino-1")] == ["expired"]


def test_a_ticket_dated_yesterday_that_arrives_today_is_called(queue):
    # A kiosk whose clock is behind dates its ticket 23:40 yesterday; the hub gets it at 09:55 today.
    add(queue, 1, day=YESTERDAY, second=1, received=f"{TEST_DAY}T06:55:00.000000+00:00")
    add(queue, 2, day=YESTERDAY, second=2, received=f"{YESTERDAY}T20:59:00.000000+00:00")  # 23:59 yesterday
    queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
    assert queue.close_past_days("strogino") == 1
    assert queue.call_next("strogino", "5", ["passport-rf"])["number"] == "П001"


def test_closing_past_days_expires_only_their_waiting_tickets(queue, clock):
    for n in range(1, 4):
        add(queue, n)
    add(queue, 9, center="other")
    queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
    called = queue.call_next("strogino", "5", ["passport-rf"])
    assert queue.close_past_days("strogino") == 0  # the day is not over yet
    clock.set(at(20, 59, tz=UTC))  # 23:59 in Moscow
    assert queue.close_past_days("strogino") == 0
    clock.set(at(21, 1, tz=UTC))  # 00:01 on the 24th in Moscow
    assert queue.close_past_days("strogino") == 2
    states = {r["number"]: r["state"] for r in queue.db.db.query("SELECT number, state FROM tickets "
                                                                  "WHERE center = 'strogino'")}
    assert states == {called["number"]: "called", "П002": "expired", "П003": "expired"}
    assert queue.waiting("strogino") == {} and queue.waiting("other")["passport-rf"]["count"] == 1
    assert [h["state"] for h in queue.history("strogino-2")] == ["expired"]
    assert queue.close_past_days("strogino") == 0  # twice is the same as once


def test_a_center_far_east_ends_its_day_by_its_own_clock(queue, clock):
    queue.centers.set("vladivostok", "Asia/Vladivostok")  # UTC+10
    add(queue, 1, center="vladivostok")
    add(queue, 2, center="strogino")
    clock.set(at(14, 30, tz=UTC))  # 00:30 on the 24th there, 17:30 in Moscow
    assert queue.close_past_days("vladivostok") == 1
    assert queue.close_past_days("strogino") == 0



def test_the_hub_closes_past_days_by_itself_and_goes_on_after_a_failure(tmp_path, clock, monkeypatch):
    import time

    from hub.api import Hub
    from hub.server import HubThread

    hub = Hub(tmp_path / "hub", clock=clock)
    hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-1")
    add(hub.queue, 1)
    real_close = hub.queue.close_past_days_everywhere
    calls = []

    def flaky_close() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk I/O error")
        return real_close()

    monkeypatch.setattr(hub.queue, "close_past_days_everywhere", flaky_close)
    try:
        with HubThread(hub, end_of_day_every=0.05):
            deadline = time.monotonic() + 10
            while len(calls) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(calls) >= 3  # the failed first check did not stop the next ones
            assert hub.queue.waiting("strogino")["passport-rf"]["count"] == 1  # the day is not over
            clock.set(at(6, days=1, tz=UTC))
            while hub.queue.waiting("strogino") and time.monotonic() < deadline:
                time.sleep(0.02)
            assert hub.queue.waiting("strogino") == {}
            assert [h["state"] for h in hub.queue.history("strogino-1")] == ["expired"]
    finally:
        hub.close()


def test_a_window_of_several_services_calls_in_the_order_of_one_line(queue):
    """Call next takes the head of each service's ordinary and priority line: the order must be
    the one of all its services' tickets sorted together, the priority streak included."""
    rng = random.Random(14)
    services = ["passport-rf", "adult-snils", "inn", "nobody-waits"]
    tickets = [(n, rng.random() < 0.3, rng.choice(services[:3]), second)
               for n, second in zip(range(1, 41), rng.sample(range(60), 40), strict=True)]
    for n, priority, service, second in tickets:
        add(queue, n, priority=priority, service=service, second=second)
    expected, waiting, streak = [], list(tickets), 0
    while waiting:
        ordinary_first = streak >= queue.priority_streak
        head = min(waiting, key=lambda t: (t[1] if ordinary_first else not t[1], t[3]))
        waiting.remove(head)
        expected.append(f"П{head[0]:03d}")
        streak = streak + 1 if head[1] else 0
    assert serve_all(queue, services) == expected


def test_a_cancelled_ticket_leaves_the_line_and_is_never_called(queue):
    add(queue, 1), add(queue, 2), add(queue, 3)
    cancelled = queue.cancel("token-strogino-0002-xxxxxxxx")
    assert cancelled is not None and cancelled["state"] == "cancelled" and cancelled["finished_at"]
    assert queue.estimates.people_ahead(queue.ticket_by_token("token-strogino-0003-xxxxxxxx")) == 1
    assert queue.cancel("token-strogino-0002-xxxxxxxx")["state"] == "cancelled"  # a second tap: the same answer
    assert [h["state"] for h in queue.history("strogino-2")] == ["cancelled"]  # recorded once
    queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
    called = []
    while (ticket := queue.call_next("strogino", "5", ["passport-rf"])) is not None:
        called.append(ticket["number"])
        queue.finish("strogino", "5")
    assert called == ["П001", "П003"]
    assert queue.cancel("no-such-token") is None


def test_only_a_waiting_ticket_can_be_cancelled(queue):
    add(queue, 1)
    queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
    queue.call_next("strogino", "5", ["passport-rf"])
    with pytest.raises(QueueError, match="only a ticket still waiting"):
        queue.cancel("token-strogino-0001-xxxxxxxx")
    queue.no_show("strogino", "5")
    with pytest.raises(QueueError):
        queue.cancel("token-strogino-0001-xxxxxxxx")
    assert queue.ticket_by_token("token-strogino-0001-xxxxxxxx")["state"] == "no_show"
