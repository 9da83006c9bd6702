"""Ticket numbers across kiosks, restarts, day changes and clock jumps (property-based)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.clock import ManualClock
from kiosk.numbering import CLOCK_FLOOR, format_number, next_number, ticket_time
from kiosk.tickets import TicketStore
from tests.helpers.day import MSK, at

START = at(7, tz=UTC)  # 10:00 in Moscow


def open_store(path, clock, ticket_range=(1, 499), device="kiosk-1"):
    return TicketStore(path, center_id="strogino", device_id=device, timezone=MSK,
                      ticket_range=ticket_range, clock=clock)


def test_first_ticket_of_the_day_is_001_not_101(tmp_path):
    store = open_store(tmp_path / "a.sqlite", ManualClock(START))
    assert [store.issue_ticket(service_id="passport", letter="П").number for _ in range(3)] == \
        ["П001", "П002", "П003"]
    assert store.issue_ticket(service_id="snils", letter="С").number == "С001"


def test_kiosk_range_starts_the_day(tmp_path):
    store = open_store(tmp_path / "b.sqlite", ManualClock(START), ticket_range=(500, 999))
    assert store.issue_ticket(service_id="passport", letter="П").number == "П500"


def test_numbers_restart_at_local_midnight_once(tmp_path):
    clock = ManualClock(at(20, 59, tz=UTC))  # 23:59 MSK
    path = tmp_path / "c.sqlite"
    store = open_store(path, clock)
    assert store.issue_ticket(service_id="x", letter="А").number == "А001"
    assert store.issue_ticket(service_id="x", letter="А").number == "А002"
    clock.advance(minutes=2)  # 00:01 MSK next day
    assert store.issue_ticket(service_id="x", letter="А").number == "А001"
    store.close()
    # A restart the same day continues; it does not reset a second time.
    store = open_store(path, clock)
    assert store.issue_ticket(service_id="x", letter="А").number == "А002"


def test_clock_far_behind_neither_resets_nor_dates_in_1970(tmp_path):
    clock = ManualClock(START)
    path = tmp_path / "d.sqlite"
    store = open_store(path, clock)
    last = [store.issue_ticket(service_id="x", letter="А") for _ in range(5)][-1]
    store.close()
    clock.set(datetime(1970, 1, 1, tzinfo=UTC))  # a Pi booted without network
    store = open_store(path, clock)
    ticket = store.issue_ticket(service_id="x", letter="А")
    assert ticket.number == "А006"
    assert ticket.issued_at > last.issued_at
    assert ticket.service_day == last.service_day
    events = [e["type"] for e in store.outbox()]
    assert events.count("clock.suspect") == 1
    store.issue_ticket(service_id="x", letter="А")
    assert [e["type"] for e in store.outbox()].count("clock.suspect") == 1  # reported once


def test_fresh_kiosk_with_1970_clock_dates_at_the_floor(tmp_path):
    store = open_store(tmp_path / "e.sqlite", ManualClock(datetime(1970, 1, 1, tzinfo=UTC)))
    ticket = store.issue_ticket(service_id="x", letter="А")
    assert ticket.issued_at >= CLOCK_FLOOR
    assert ticket.number == "А001"


def test_exhausted_range_wraps_and_is_reported(tmp_path):
    store = open_store(tmp_path / "f.sqlite", ManualClock(START), ticket_range=(1, 2))
    numbers = [store.issue_ticket(service_id="x", letter="А").number for _ in range(3)]
    assert numbers == ["А001", "А002", "А001"]
    assert "numbering.wrapped" in [e["type"] for e in store.outbox()]


def test_ticket_time_pure_rules():
    last = START
    assert ticket_time(START + timedelta(seconds=5), last) == (START + timedelta(seconds=5), False)
    moment, suspect = ticket_time(START - timedelta(hours=3), last)
    assert moment > last and suspect
    moment, suspect = ticket_time(START - timedelta(seconds=10), last)  # small step back: not suspect
    assert moment > last and not suspect
    assert next_number(None, 300, 599) == (300, False)
    assert next_number(599, 300, 599) == (300, True)
    assert format_number("Ж", 7) == "Ж007"


# Steps a kiosk may take between tickets: time passes, the clock jumps, the device restarts.
step = st.one_of(
    st.tuples(st.just("tick"), st.integers(min_value=1, max_value=4 * 3600)),
    st.tuples(st.just("jump"), st.integers(min_value=-400 * 24 * 3600, max_value=2 * 24 * 3600)),
    st.tuples(st.just("restart"), st.just(0)),
)


@pytest.mark.fuzz
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plans=st.lists(st.lists(st.tuples(step, st.sampled_from("АБП")), min_size=1, max_size=25),
                   min_size=2, max_size=3),
)
def test_numbers_never_repeat_across_kiosks_restarts_days_and_jumps(tmp_path_factory, plans):
    """Whatever happens, no (day, number) is issued twice in the center, and time never runs back."""
    folder = tmp_path_factory.mktemp("kiosks")
    ranges = [(1, 299), (300, 599), (600, 999)]
    issued: list[tuple[str, str]] = []
    for index, plan in enumerate(plans):
        clock = ManualClock(START)
        path = folder / f"kiosk{index}.sqlite"
        store = open_store(path, clock, ranges[index], device=f"kiosk-{index}")
        last_time = None
        for (action, amount), letter in plan:
            if action == "restart":
                store.close()
                store = open_store(path, clock, ranges[index], device=f"kiosk-{index}")
            else:
                clock.advance(seconds=amount)
            ticket = store.issue_ticket(service_id="svc", letter=letter)
            assert ranges[index][0] <= ticket.seq <= ranges[index][1]
            assert ticket.issued_at >= CLOCK_FLOOR
            if last_time is not None:
                assert ticket.issued_at > last_time
            last_time = ticket.issued_at
            issued.append((ticket.service_day, ticket.number))
        store.close()
    assert len(issued) == len(set(issued))
