"""The slot rule of hub/queue_order.py over random days (Hypothesis): booked visitors and
walk-ins of a few services, windows serving some of them, visits of random lengths, each day
run through the real queue (tests/helpers/booked_day.py).

* A booked visitor who is due is called by the first window serving their service that comes
  free, unless it calls someone whose norm runs out sooner: another booked visitor's 5 minutes,
  or a walk-in's 15.
* Bookings never reorder the walk-ins: replaying only the walk-ins' calls, at the same windows
  and moments, without any booking, calls the same walk-in each time. So a walk-in waits what
  it would without bookings, plus the booked visits called ahead of it; with one window that
  is a bound on minutes, checked here against the same day run without the bookings. (Without
  priority tickets: any delay, a booking's or a long visit's, lets a priority ticket that came
  meanwhile go first, by the priority rule.)
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.clock import ManualClock
from hub.centers import Centers
from hub.db import HubDB
from hub.queue import Queue
from hub.queue_order import BOOKED_NORM, WALK_IN_NORM
from tests.helpers.booked_day import Day, Visitor, Window, clear, put_in_line, simulate
from tests.helpers.day import TEST_DAY, at

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

OPENING = at(8)
SERVICES = ("passport-rf", "adult-snils", "international-passport")
DAY = TEST_DAY.isoformat()


@st.composite
def visitors(draw: st.DrawFn, services: tuple[str, ...] = SERVICES, most: int = 40,
             priority: bool = True) -> list[Visitor]:
    found = []
    for n in range(draw(st.integers(1, most))):
        arrives = OPENING + timedelta(minutes=draw(st.integers(0, 240)), seconds=draw(st.integers(0, 59)))
        booked = draw(st.booleans())
        # Booked visitors check in up to 30 minutes early or 15 late, as the kiosk lets them.
        slot = arrives + timedelta(minutes=draw(st.integers(-15, 30))) if booked else None
        found.append(Visitor(f"{'B' if booked else 'W'}{n:03d}", draw(st.sampled_from(services)), arrives,
                             draw(st.integers(2, 25)), slot, priority and not booked and draw(st.integers(0, 5)) == 0))
    return found


windows_of_a_center = st.lists(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True),
                               min_size=1, max_size=4).map(
    lambda sets: [Window(str(n + 1), tuple(services)) for n, services in enumerate(sets)])


@pytest.fixture(scope="module")
def center(tmp_path_factory):
    clock = ManualClock(OPENING)
    db = HubDB(tmp_path_factory.mktemp("booked-day"), clock=clock)
    yield Queue(db, Centers(db), priority_streak=3), clock
    db.close()


def run(center, people: list[Visitor], windows: list[Window]) -> Day:
    queue, clock = center
    clear(queue)
    return simulate(queue, clock, people, windows, DAY)


def due(v: Visitor) -> datetime:
    assert v.slot is not None
    return max(v.slot, v.arrives)


def deadline(v: Visitor) -> datetime:
    return due(v) + BOOKED_NORM if v.slot else v.arrives + WALK_IN_NORM


EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@EXAMPLES
@given(people=visitors(), windows=windows_of_a_center)
def test_a_due_booked_visitor_gives_way_only_to_a_sooner_norm(center, people, windows):
    day = run(center, people, windows)
    for call in day.calls:
        for booked in call.waiting:
            if booked.slot is None or due(booked) > call.at or booked is call.visitor:
                continue
            if call.visitor.slot is not None:  # another booked visitor: a deadline no later
                assert (deadline(call.visitor), call.visitor.arrives) <= (deadline(booked), booked.arrives)
            else:  # a walk-in: some walk-in waiting for the window had its 15 minutes end sooner
                assert any(v.slot is None and deadline(v) < deadline(booked) for v in call.waiting)


@EXAMPLES
@given(people=visitors(), windows=windows_of_a_center)
def test_bookings_never_reorder_the_walk_ins(center, people, windows):
    queue, clock = center
    day = run(center, people, windows)
    walk_ins = sorted((v for v in people if v.slot is None), key=lambda v: v.arrives)
    services = {w.name: list(w.services) for w in windows}
    clear(queue)
    arrived = 0
    for call in day.calls:
        if call.visitor.slot is not None:
            continue
        while arrived < len(walk_ins) and walk_ins[arrived].arrives <= call.at:
            put_in_line(queue, walk_ins[arrived], DAY)
            arrived += 1
        clock.set(call.at)
        replayed = queue.call_next("strogino", call.window, services[call.window])
        assert replayed is not None and replayed["id"] == call.visitor.name
        queue.finish("strogino", call.window)


@EXAMPLES
@given(people=visitors(SERVICES[:2], priority=False), services=st.sampled_from([SERVICES[:1], SERVICES[:2]]))
def test_with_one_window_a_walk_in_waits_at_most_the_booked_visits_ahead_longer(center, people, services):
    window = [Window("1", services)]
    people = [v for v in people if v.service in services]
    with_bookings = run(center, people, window)
    without = run(center, [v for v in people if v.slot is None], window).called_at()
    booked_minutes = timedelta()
    for call in with_bookings.calls:
        if call.visitor.slot is not None:
            booked_minutes += timedelta(minutes=call.visitor.minutes)
        else:
            assert call.at <= without[call.visitor.name] + booked_minutes
