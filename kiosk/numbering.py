"""Ticket numbers and the time a ticket is dated with, as pure functions.

A number is the service's letter and three digits (А042). Each kiosk draws from its own
configured range, so kiosks that cannot reach each other never hand out the same number
for a letter on the same day. The day is the center's local date of the ticket's time.

That time is the hub's as soon as the kiosk has heard it in this boot (offline_cache/hub_time.py),
else the kiosk's own clock; and it never goes backwards: a Raspberry Pi without a real-time
clock may boot in 1970 or in the past, and a clock behind the last ticket must neither restart
numbering nor date tickets before it. A clock that ran *ahead* is the other danger: one ticket
dated tomorrow or next year would date every later one after it, across restarts and with no
daily reset. The kiosk cannot tell by itself which of its two readings is wrong, but the hub's
time can: a last ticket dated more than SKEW_LIMIT ahead of it no longer holds the clock back.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from mfc_edge.times import CLOCK_FLOOR, SKEW_LIMIT

# The step between tickets issued while the clock is behind, to keep their order.
STEP = timedelta(milliseconds=1)
# A clock this far behind the last ticket is reported, not just stepped over.
SUSPECT_AFTER = timedelta(minutes=1)


def ran_ahead(last_issued: datetime | None, hub_time: datetime | None) -> bool:
    """Whether the last ticket was dated by a clock that ran ahead of the hub's."""
    return last_issued is not None and hub_time is not None and last_issued - hub_time > SKEW_LIMIT


def ticket_time(wall: datetime, last_issued: datetime | None, floor: datetime = CLOCK_FLOOR,
                hub_time: datetime | None = None) -> tuple[datetime, bool]:
    """The time to date a new ticket with, and whether the clock looked wrong.

    The hub's time when known, else the wall clock; never earlier than the floor, never at or
    before the last ticket, unless that one `ran_ahead` of the hub's time.
    """
    now = wall if hub_time is None else hub_time
    if ran_ahead(last_issued, hub_time):
        last_issued = None
    suspect = now < floor
    moment = max(now, floor)
    if last_issued is not None and moment <= last_issued:
        suspect = suspect or last_issued - now > SUSPECT_AFTER
        moment = last_issued + STEP
    return moment, suspect


def next_number(last: int | None, first: int, final: int) -> tuple[int, bool]:
    """The next number in a kiosk's range [first, final], and whether it wrapped around.

    The first ticket of a day is `first` itself: 001 for a kiosk whose range starts at 1.
    """
    if last is None:
        return first, False
    if last >= final:
        return first, True
    return last + 1, False


def format_number(letter: str, number: int) -> str:
    return f"{letter}{number:03d}"
