"""Ticket numbers and the time a ticket is dated with, as pure functions.

A number is the service's letter and three digits (А042). Each kiosk draws from its own
configured range, so kiosks that cannot reach each other never hand out the same number
for a letter on the same day. The day is the center's local date of the ticket's time,
and that time never goes backwards: a Raspberry Pi without a real-time clock may boot in
1970 or in the past, and a clock behind the last ticket must neither restart numbering
nor date tickets before it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from mfc_edge.times import CLOCK_FLOOR

# The step between tickets issued while the clock is behind, to keep their order.
STEP = timedelta(milliseconds=1)
# A clock this far behind the last ticket is reported, not just stepped over.
SUSPECT_AFTER = timedelta(minutes=1)


def ticket_time(wall: datetime, last_issued: datetime | None,
                floor: datetime = CLOCK_FLOOR) -> tuple[datetime, bool]:
    """The time to date a new ticket with, and whether the wall clock looked wrong.

    Never earlier than the floor, never at or before the last ticket.
    """
    suspect = wall < floor
    moment = max(wall, floor)
    if last_issued is not None and moment <= last_issued:
        suspect = suspect or last_issued - wall > SUSPECT_AFTER
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
