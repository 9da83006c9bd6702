"""The check-in rules (kiosk/checkin.py) on their own: every outcome, its edges, the typo hints
and the messages in Russian and English."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.checkin import (
    CANCELLED,
    EARLY,
    LATE,
    ON_TIME,
    OTHER_CENTER,
    UNKNOWN,
    USED,
    check_in,
    fold,
    suggest,
)
from mfc_edge.i18n import translator
from offline_cache.bookings import Booking, BookingBook

MSK = ZoneInfo("Europe/Moscow")
SLOT = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # 10:30 in Moscow


def booking(code: str = "KD-4821", *, id: str = "b1", start: datetime = SLOT, state: str = "active",
            checked_in: bool = False) -> Booking:
    return Booking(id=id, code=code, service="passport-rf", slot_start=start,
                   slot_end=start + timedelta(minutes=15), initial="А", state=state, checked_in=checked_in)


BOOK = BookingBook.of([booking(), booking("QR7305", id="b2"), booking("CX-2044", id="b3", state="cancelled"),
                       booking("AB1234", id="b4", checked_in=True)])


def at(minutes: float) -> datetime:
    """`minutes` after the slot's start (before, when negative)."""
    return SLOT + timedelta(minutes=minutes)


@pytest.mark.parametrize(("minutes", "kind"), [
    (-120, EARLY), (-30.1, EARLY), (-30, ON_TIME), (-5, ON_TIME), (0, ON_TIME), (15, ON_TIME),
    (15.1, LATE), (90, LATE)])
def test_the_slot_decides_early_on_time_and_late(minutes, kind):
    outcome = check_in("KD-4821", BOOK, set(), at(minutes))
    assert outcome.kind == kind and outcome.booking is not None and outcome.booking.id == "b1"
    assert outcome.booked_ticket == (kind == ON_TIME)
    assert outcome.normal_ticket == (kind != ON_TIME)


def test_codes_are_compared_as_typed_or_scanned():
    for typed in ("kd4821", "KD 4821", " kd-48-21 "):
        assert check_in(typed, BOOK, set(), at(0)).kind == ON_TIME


def test_early_says_when_to_come_back():
    outcome = check_in("KD-4821", BOOK, set(), at(-120))
    assert outcome.come_at == at(-30)
    ru = outcome.message(translator("ru"), MSK, at(-120))
    assert "10:30" in ru and "10:00" in ru and "обычный талон" in ru
    en = outcome.message(translator("en"), MSK, at(-120))
    assert "Come back at 10:00" in en


def test_a_booking_for_tomorrow_names_its_date():
    tomorrow = booking("TM-0001", id="t", start=SLOT + timedelta(days=1))
    outcome = check_in("TM-0001", BookingBook.of([tomorrow]), set(), at(0))
    assert outcome.kind == EARLY
    assert "03.03 10:00" in outcome.message(translator("ru"), MSK, at(0))


def test_used_here_or_at_another_kiosk():
    assert check_in("KD-4821", BOOK, {"b1"}, at(0)).kind == USED
    assert check_in("AB1234", BOOK, set(), at(0)).kind == USED  # the hub has a ticket for it
    assert "уже использована" in check_in("AB1234", BOOK, set(), at(0)).message(translator("ru"), MSK, at(0))


def test_cancelled_before_any_time_rule():
    outcome = check_in("CX-2044", BOOK, set(), at(0))
    assert outcome.kind == CANCELLED and not outcome.booked_ticket
    assert outcome.message(translator("en"), MSK, at(0)).startswith("This booking was cancelled.")


def test_another_centers_code_by_its_prefix():
    outcome = check_in("MR-5511", BOOK, set(), at(0), other_centers={"MR": "Центр госуслуг района Марьино"})
    assert outcome.kind == OTHER_CENTER
    assert outcome.message(translator("ru"), MSK, at(0)).endswith("Центр госуслуг района Марьино.")
    # The copy comes first: a code of this center that happens to share a prefix is this center's.
    assert check_in("KD-4821", BOOK, set(), at(0), other_centers={"KD": "Марьино"}).kind == ON_TIME


@pytest.mark.parametrize(("typed", "meant"), [
    ("QR73O5", "QR7305"),  # O for 0
    ("QR73 05", "QR7305"),
    ("КD-4821", "KD-4821"),  # a Cyrillic К
    ("KD-482", "KD-4821"),  # a character missing
    ("KD-48211", "KD-4821"),  # one too many
    ("KD-4E21", "KD-4821"),  # one wrong
])
def test_unknown_codes_get_the_one_code_they_most_likely_were(typed, meant):
    outcome = check_in(typed, BOOK, set(), at(0))
    if outcome.kind == ON_TIME:  # a look-alike that the booking system's own key already folds
        assert outcome.booking is not None and outcome.booking.code == meant
        return
    assert outcome.kind == UNKNOWN and outcome.suggestion == meant
    assert f"Возможно, вы имели в виду {meant}?" in outcome.message(translator("ru"), MSK, at(0))


def test_no_hint_when_nothing_or_several_codes_fit():
    assert check_in("ZZ-9999", BOOK, set(), at(0)).suggestion is None
    twins = BookingBook.of([booking("AB-1230", id="x"), booking("AB-1231", id="y")])
    assert suggest("AB-1232", twins) is None  # one edit from both: no guess
    assert suggest("", BOOK) is None
    assert suggest("CX-2044", BOOK) is None  # cancelled codes are not suggested
    outcome = check_in("ZZ-9999", BOOK, set(), at(0))
    assert outcome.message(translator("en"), MSK, at(0)) == (
        "No booking with this code today. Please check the code and try again.")


def test_look_alikes_fold_to_one_spelling():
    assert fold("ОIl-З") == fold("01l3") == "0113"
    assert fold("АВЕКМНРСТХ") == "ABEKMHPCTX"


@pytest.mark.parametrize("kind", [ON_TIME, EARLY, LATE, USED, CANCELLED, OTHER_CENTER, UNKNOWN])
def test_every_outcome_has_a_message_in_both_languages(kind):
    cases = {ON_TIME: ("KD-4821", 0), EARLY: ("KD-4821", -60), LATE: ("KD-4821", 60), USED: ("AB1234", 0),
             CANCELLED: ("CX-2044", 0), OTHER_CENTER: ("MR-1", 0), UNKNOWN: ("ZZ-1", 0)}
    code, minutes = cases[kind]
    outcome = check_in(code, BOOK, set(), at(minutes), other_centers={"MR": "Марьино"})
    assert outcome.kind == kind
    ru, en = (outcome.message(translator(lang), MSK, at(minutes)) for lang in ("ru", "en"))
    assert ru and en and ru != en
