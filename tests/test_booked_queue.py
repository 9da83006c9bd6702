"""Booked tickets in the live queue: the slot rule of hub/queue_order.py, and a booking
checked in at two kiosks while both were offline, settled when their tickets reach the hub."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hardware.clock import ManualClock
from hub.booked_visits import BookedVisits
from hub.centers import Centers
from hub.db import HubDB, iso
from hub.events import EventLog
from hub.identity import Device
from hub.queue import Queue
from mfc_edge import protocol
from tests.helpers.day import TEST_DAY, at

NINE = at(9)  # Moscow; 06:00 UTC
TEN = at(10)
TODAY = TEST_DAY.isoformat()


@pytest.fixture
def clock():
    return ManualClock(NINE)


@pytest.fixture
def queue(tmp_path, clock):
    db = HubDB(tmp_path, clock=clock)
    yield Queue(db, Centers(db), priority_streak=2)
    db.close()


def add(queue: Queue, name: str, issued: datetime, *, slot: datetime | None = None, priority=False,
        service="passport-rf") -> None:
    """A ticket put in line directly: a walk-in, or booked for `slot`."""
    with queue.db.transaction() as d:
        d["tickets"].insert({"id": name, "center": "strogino", "device": "kiosk-1", "number": name,
                             "service": service, "day": TODAY, "priority": int(priority), "issued_at": iso(issued),
                             "status_token": f"token-{name}-xxxxxxxxxxxx", "state": "waiting",
                             "booking": f"b-{name}" if slot else "", "slot_at": iso(slot) if slot else ""})


def call(queue: Queue, clock: ManualClock, when: datetime, window="5", services=("passport-rf",)) -> str | None:
    clock.set(when)
    ticket = queue.call_next("strogino", window, list(services))
    if ticket is not None:
        queue.finish("strogino", window)
    return ticket and ticket["number"]


def test_a_booked_visitor_goes_ahead_of_walk_ins_from_the_slot_on(queue, clock):
    add(queue, "W1", at(9, 50))
    add(queue, "W2", at(9, 55))
    add(queue, "B1", at(9, 40), slot=at(10))  # checked in 20 minutes early
    assert call(queue, clock, at(9, 58)) == "W1"  # not due yet: walk-ins first
    assert call(queue, clock, at(10, 0)) == "B1"
    assert call(queue, clock, at(10, 1)) == "W2"


def test_a_walk_in_whose_fifteen_minutes_end_first_goes_first(queue, clock):
    add(queue, "W1", at(9, 49))  # its 15 minutes end 10:04, before B1's 5 (10:05)
    add(queue, "W2", at(9, 51))  # 10:06: after B1's
    add(queue, "B1", at(9, 58), slot=at(10))
    assert [call(queue, clock, at(10, m)) for m in (0, 1, 2)] == ["W1", "B1", "W2"]


def test_a_late_check_in_is_due_at_once_and_has_five_minutes_from_it(queue, clock):
    add(queue, "W1", at(10, 1))
    add(queue, "B1", at(10, 10), slot=at(10))  # ten minutes late
    assert call(queue, clock, at(10, 11)) == "B1"
    assert call(queue, clock, at(10, 12)) == "W1"


def test_an_early_booked_visitor_is_called_by_a_window_with_nobody_else(queue, clock):
    add(queue, "B1", at(9, 40), slot=at(10))
    add(queue, "B2", at(9, 30), slot=at(10, 30))
    assert call(queue, clock, at(9, 45)) == "B1"
    assert call(queue, clock, at(9, 46)) == "B2"
    assert call(queue, clock, at(9, 47)) is None


def test_booked_visitors_due_are_called_by_deadline_then_check_in(queue, clock):
    add(queue, "B2", at(9, 50), slot=at(10, 5))
    add(queue, "B1", at(9, 55), slot=at(10))
    add(queue, "B3", at(10, 2), slot=at(9, 58))  # late: due at its check-in 10:02, deadline 10:07
    assert [call(queue, clock, at(10, 6, s)) for s in (0, 1, 2)] == ["B1", "B3", "B2"]


def test_booked_calls_leave_the_priority_streak_alone(queue, clock):
    for n, minute in enumerate((51, 52, 53)):
        add(queue, f"P{n}", at(9, minute), priority=True)
    add(queue, "W1", at(9, 55))
    add(queue, "B1", at(9, 59), slot=at(10))
    order = [call(queue, clock, at(10, 0, s)) for s in range(5)]
    # Without B1 the walk-ins are P0 P1 W1 P2 (two priority calls in a row at most): the same with it.
    assert order == ["B1", "P0", "P1", "W1", "P2"]


def test_a_window_only_calls_booked_visitors_of_its_services(queue, clock):
    add(queue, "B1", at(9, 55), slot=at(10), service="adult-snils")
    add(queue, "W1", at(9, 58))
    assert call(queue, clock, at(10, 0)) == "W1"
    assert call(queue, clock, at(10, 1), services=("adult-snils",)) == "B1"


def test_a_booked_visitor_transferred_goes_ahead_in_the_other_line(queue, clock):
    add(queue, "B1", at(9, 55), slot=at(10))
    add(queue, "S1", at(9, 58), service="adult-snils")
    clock.set(at(10))
    assert queue.call_next("strogino", "5", ["passport-rf"])["number"] == "B1"
    clock.set(at(10, 10))
    queue.transfer("strogino", "5", "adult-snils")
    assert call(queue, clock, at(10, 11), window="6", services=("adult-snils",)) == "B1"


# --- a booking checked in at two kiosks --------------------------------------------------

def booking_row(queue: Queue, booking="BK-1", center="strogino", slot=TEN) -> None:
    with queue.db.transaction() as d:
        d["bookings"].insert({"id": booking, "center": center, "code": "A7K2P9", "service": "passport-rf",
                              "slot_start": iso(slot), "slot_end": iso(slot + timedelta(minutes=15)),
                              "initial": "И", "state": "active", "version": 1, "updated_at": iso(NINE),
                              "checked_in_ticket": "", "checked_in_at": ""})


def issued(kiosk: str, number: str, when: datetime, booking="BK-1", slot=TEN) -> dict:
    body = {"ticket": uuid.uuid4().hex, "number": number, "service": "passport-rf", "day": TODAY,
            "priority": False, "issued_at": when.isoformat(), "status_token": uuid.uuid4().hex,
            "booking": {"id": booking, "code": "A7K2P9", "slot_start": slot.astimezone(UTC).isoformat()}}
    return protocol.make_event(protocol.TICKET_ISSUED, "strogino", kiosk, when, body)


def sync(queue: Queue, kiosk: str, *events: dict) -> None:
    outcomes = EventLog(queue.db, queue).ingest(Device("strogino", kiosk, "kiosk", None), list(events))
    assert [o.status for o in outcomes] == ["stored"] * len(events)


def ticket(queue: Queue, number: str) -> dict:
    [row] = queue.db.db.query("SELECT * FROM tickets WHERE printed_number = ?", [number])
    return row


@pytest.mark.parametrize("first_to_sync", ["kiosk-1", "kiosk-2"])
def test_the_earlier_check_in_keeps_the_booking_whichever_kiosk_syncs_first(queue, clock, first_to_sync):
    booking_row(queue)
    clock.set(at(10, 10))
    events = {"kiosk-1": issued("kiosk-1", "П001", at(9, 50)), "kiosk-2": issued("kiosk-2", "Т001", at(9, 52))}
    for kiosk in (first_to_sync, *(k for k in events if k != first_to_sync)):
        sync(queue, kiosk, events[kiosk])
    first, second = ticket(queue, "П001"), ticket(queue, "Т001")
    assert (first["booking"], first["slot_at"], first["booking_duplicate"]) == ("BK-1", iso(at(10)), "")
    assert (second["booking"], second["slot_at"], second["booking_duplicate"]) == ("", "", "BK-1")
    assert second["state"] == "waiting"  # nothing lost: the second visitor is still in line, as a walk-in
    [row] = queue.db.db.query("SELECT * FROM bookings")
    assert (row["checked_in_ticket"], row["checked_in_at"]) == (first["id"], first["issued_at"])


def test_a_booked_ticket_already_called_keeps_its_booking(queue, clock):
    booking_row(queue)
    clock.set(at(10))
    sync(queue, "kiosk-2", issued("kiosk-2", "Т001", at(9, 52)))
    assert queue.call_next("strogino", "5", ["passport-rf"])["printed_number"] == "Т001"
    sync(queue, "kiosk-1", issued("kiosk-1", "П001", at(9, 50)))  # earlier, but the other is at the window
    assert ticket(queue, "Т001")["booking"] == "BK-1"
    assert (ticket(queue, "П001")["booking"], ticket(queue, "П001")["booking_duplicate"]) == ("", "BK-1")


def test_a_booked_ticket_transferred_on_keeps_its_booking_too(queue, clock):
    booking_row(queue)
    clock.set(at(10))
    sync(queue, "kiosk-2", issued("kiosk-2", "Т001", at(9, 52)))
    queue.call_next("strogino", "5", ["passport-rf"])
    queue.transfer("strogino", "5", "adult-snils")  # waiting again, in another line
    sync(queue, "kiosk-1", issued("kiosk-1", "П001", at(9, 50)))
    assert (ticket(queue, "Т001")["booking"], ticket(queue, "П001")["booking_duplicate"]) == ("BK-1", "BK-1")


def test_another_centers_booking_is_not_honoured(queue, clock):
    booking_row(queue, center="khimki")
    clock.set(at(10))
    sync(queue, "kiosk-1", issued("kiosk-1", "П001", at(9, 50)))
    assert (ticket(queue, "П001")["booking"], ticket(queue, "П001")["booking_duplicate"]) == ("", "")


def test_a_booking_the_hub_has_not_heard_of_is_booked_by_the_kiosks_slot(queue, clock):
    clock.set(at(10))
    sync(queue, "kiosk-1", issued("kiosk-1", "П001", at(9, 50), booking="BK-9", slot=at(10, 30)))
    assert (ticket(queue, "П001")["booking"], ticket(queue, "П001")["slot_at"]) == ("BK-9", iso(at(10, 30)))


# --- the supervisor's view -----------------------------------------------------------------

def test_the_days_view_has_check_ins_calls_norms_and_no_shows(queue, clock):
    booking_row(queue, "BK-1", slot=at(10))
    booking_row(queue, "BK-2", slot=at(10, 30))
    booking_row(queue, "BK-3", slot=at(9, 0))  # nobody came
    clock.set(at(10, 10))
    sync(queue, "kiosk-1", issued("kiosk-1", "П001", at(9, 50)), issued("kiosk-1", "П002", at(10, 5)))
    assert queue.call_next("strogino", "5", ["passport-rf"])["printed_number"] == "П001"  # 10 min after its slot
    clock.set(at(10, 31))
    queue.finish("strogino", "5")
    sync(queue, "kiosk-1", issued("kiosk-1", "П003", at(10, 25), booking="BK-2", slot=at(10, 30)))
    # П002, the second check-in of BK-1, is a walk-in whose 15 minutes (10:20) ended before П003's 5.
    assert queue.call_next("strogino", "5", ["passport-rf"])["printed_number"] == "П002"
    clock.set(at(10, 33))
    queue.finish("strogino", "5")
    assert queue.call_next("strogino", "5", ["passport-rf"])["printed_number"] == "П003"
    view = BookedVisits(queue.db, queue.centers).day("strogino")
    by_id = {v["id"]: v for v in view["visits"]}
    assert [v["id"] for v in view["visits"]] == ["BK-3", "BK-1", "BK-2"]
    assert (by_id["BK-1"]["ticket"], by_id["BK-1"]["norm_met"]) == ("П001", False)
    assert (by_id["BK-2"]["ticket"], by_id["BK-2"]["norm_met"]) == ("П003", True)
    assert by_id["BK-3"]["no_show"] and by_id["BK-3"]["checked_in_at"] is None
    assert [d["number"] for d in view["duplicates"]] == ["П002"]
    assert view["counts"] == {"booked": 3, "cancelled": 0, "checked_in": 2, "called": 2, "norm_met": 1,
                              "norm_judged": 2, "no_shows": 1}


def test_the_halls_standard_counts_a_booked_visitor_from_the_slot(queue, clock):
    from hub.hall import Hall

    add(queue, "B1", at(9, 35), slot=at(10))  # 25 minutes early, called 3 minutes after the slot: in the norm
    add(queue, "B2", at(9, 40), slot=at(10, 1))
    add(queue, "W1", at(9, 52))
    assert [call(queue, clock, at(10, 3, s)) for s in (0, 1)] == ["B1", "B2"]
    assert call(queue, clock, at(10, 8)) == "W1"  # 16 minutes after its ticket
    clock.set(at(10, 9))
    today = Hall(queue.db, queue.centers).today("strogino")["total"]
    assert today["within_standard"] == round(2 / 3, 3)


@pytest.mark.parametrize("booking", [
    {"id": "BK-1", "code": "A7K2P9"},                                              # no slot
    {"id": "BK-1", "code": "A7K2P9", "slot_start": "10:00"},                       # not a time
    {"id": "BK-1", "code": "A7K2P9", "slot_start": iso(TEN), "name": "Иванов"},    # nothing beyond the three
    {"id": "BK 1", "code": "A7K2P9", "slot_start": iso(TEN)},                      # a space
    {"id": "BK-1", "code": "", "slot_start": iso(TEN)},
    "BK-1",
])
def test_a_ticket_with_a_malformed_booking_is_refused_naming_the_field(booking):
    event = issued("kiosk-1", "П001", at(9, 50))
    event["body"]["booking"] = booking
    assert protocol.event_problem(event).startswith("body.booking = ")
    event["body"]["booking"] = None  # a kiosk's ticket without a booking says so, or nothing
    assert protocol.event_problem(event) is None
