"""The check-in rules for a booked visitor at the kiosk: a code, the kiosk's copy of the day's
bookings, the bookings already checked in here, and the time → what the visitor is told.

Pure: no screens, no store, no clock of its own, so every rule is tested on its own
(tests/test_checkin.py). The screens (kiosk/booking_screens.py) show the outcome's message and
offer what it allows: a booked ticket, a normal ticket, or the code the visitor probably meant.

The rules (issue 17):
- more than EARLY_BEFORE before the slot: early, «come back at …» (the slot less EARLY_BEFORE),
  or a normal ticket now;
- from then until LATE_AFTER after the slot's start: on time, a booked ticket;
- later: late, a normal ticket;
- a booking checked in already (here, or at another kiosk as the hub last said): used;
- a cancelled booking: cancelled;
- a code of another center (its prefix is one of another center's): said so, with its name;
- anything else: unknown, with the one code of the day it most likely was, if there is one.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mfc_edge.i18n import Translator
from mfc_edge.protocol import booking_code_key
from offline_cache.bookings import Booking, BookingBook

EARLY_BEFORE = timedelta(minutes=30)
LATE_AFTER = timedelta(minutes=15)

ON_TIME, EARLY, LATE, USED, CANCELLED, OTHER_CENTER, UNKNOWN = (
    "on-time", "early", "late", "used", "cancelled", "other-center", "unknown")

# Characters a visitor or a worn print confuses, folded to one spelling before codes are
# compared for a hint: Cyrillic look-alikes typed for Latin letters (and back), O/0, I/1/L, З/3.
_LOOK_ALIKES = str.maketrans({
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "0", "O": "0", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "З": "3", "I": "1", "L": "1", "Ё": "E",
})


@dataclass(frozen=True)
class Outcome:
    kind: str  # one of the constants above
    code: str  # as the visitor typed or scanned it
    booking: Booking | None = None
    come_at: datetime | None = None  # early: from when a booked ticket is given (UTC)
    suggestion: str | None = None  # unknown: the code of the day it most likely was
    center: str = ""  # other-center: the center the code belongs to

    @property
    def booked_ticket(self) -> bool:
        """A ticket marked with the booking (the queue calls it by its slot)."""
        return self.kind == ON_TIME

    @property
    def normal_ticket(self) -> bool:
        """A walk-in ticket of the booked service may be taken instead (cancelled: book again or wait in line)."""
        return self.kind in (EARLY, LATE, CANCELLED)

    def message(self, t: Translator, timezone: ZoneInfo, now: datetime) -> str:
        """What the visitor reads, in the translator's language."""
        booking = self.booking
        if self.kind == ON_TIME and booking is not None:
            return t("Your booking is found: {time}. Take your ticket.").format(
                time=_at(booking.slot_start, timezone, now))
        if self.kind == EARLY and booking is not None and self.come_at is not None:
            return t("You are early: your booking is for {time}. Come back at {back} for a booked ticket, or take a normal ticket now.").format(  # noqa: E501 (one literal for the message extractor)
                time=_at(booking.slot_start, timezone, now), back=_at(self.come_at, timezone, now))
        if self.kind == LATE and booking is not None:
            return t("Your booking was for {time}, more than 15 minutes ago, so it has expired. You can take a normal ticket.").format(  # noqa: E501
                time=_at(booking.slot_start, timezone, now))
        if self.kind == USED:
            return t("This booking has already been used: a ticket was taken with it. If it was not you, please ask a consultant in the hall.")  # noqa: E501
        if self.kind == CANCELLED:
            return t("This booking was cancelled. You can take a normal ticket or book again.")
        if self.kind == OTHER_CENTER:
            return t("This booking is for another center: {center}.").format(center=self.center)
        if self.suggestion:
            return t("No booking with this code today. Did you mean {code}?").format(code=self.suggestion)
        return t("No booking with this code today. Please check the code and try again.")


def _at(moment: datetime, timezone: ZoneInfo, now: datetime) -> str:
    """HH:MM in the center's time; with the date when it is not today."""
    local = moment.astimezone(timezone)
    return local.strftime("%H:%M") if local.date() == now.astimezone(timezone).date() else local.strftime("%d.%m %H:%M")


def check_in(code: str, book: BookingBook, used: Collection[str], now: datetime, *,
             other_centers: Mapping[str, str] | None = None) -> Outcome:
    """The outcome of `code` at `now` (aware). `used`: ids of the bookings checked in at this
    kiosk; `other_centers`: code prefix → name of the center whose codes begin with it."""
    booking = book.find(code)
    if booking is None:
        center = _other_center(code, other_centers or {})
        if center:
            return Outcome(OTHER_CENTER, code, center=center)
        return Outcome(UNKNOWN, code, suggestion=suggest(code, book))
    if booking.state == "cancelled":
        return Outcome(CANCELLED, code, booking)
    if booking.id in used or booking.checked_in:
        return Outcome(USED, code, booking)
    come_at = booking.slot_start - EARLY_BEFORE
    if now < come_at:
        return Outcome(EARLY, code, booking, come_at=come_at)
    if now > booking.slot_start + LATE_AFTER:
        return Outcome(LATE, code, booking)
    return Outcome(ON_TIME, code, booking)


def _other_center(code: str, prefixes: Mapping[str, str]) -> str:
    key = booking_code_key(code)
    for prefix, center in sorted(prefixes.items(), key=lambda p: -len(p[0])):
        if key.startswith(booking_code_key(prefix)) and len(key) > len(booking_code_key(prefix)):
            return center
    return ""


def fold(code: str) -> str:
    """A code with its look-alike characters spelled one way (see _LOOK_ALIKES)."""
    return booking_code_key(code).translate(_LOOK_ALIKES)


def suggest(code: str, book: BookingBook) -> str | None:
    """The one active code of the day `code` most likely was: the same with look-alikes
    folded, else one character missing, extra or wrong. None when none or several fit:
    guessing between two would hand one visitor another's booking."""
    typed = fold(code)
    if not typed:
        return None
    codes = {b.code for b in book.bookings() if b.state == "active"}
    same = [c for c in codes if fold(c) == typed]
    if same:
        return same[0] if len(same) == 1 else None
    close = [c for c in codes if _one_edit_apart(fold(c), typed)]
    return close[0] if len(close) == 1 else None


def _one_edit_apart(a: str, b: str) -> bool:
    """Exactly one character inserted, deleted or replaced turns `a` into `b`."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    for i in range(len(long)):
        if long[:i] + long[i + 1:] == short:
            return True
    return False
