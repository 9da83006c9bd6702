"""Times as every device and the hub spell and count them.

Times are stored in UTC, in one text form that sorts as text; a service day is the
center's local date, never the UTC one (a Moscow evening ticket after 21:00 is not tomorrow's).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# No event can be older than this release of the software: a clock before it is wrong
# (a Raspberry Pi without a real-time clock boots in 1970 until NTP answers).
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)

# A device clock further than this from the hub's is skewed: the device reports it once
# (`clock.skewed`), and a kiosk's last ticket dated further than this ahead of the hub's time
# no longer holds its clock back (kiosk/numbering.py). Two minutes is far above what a reply's
# round trip and the one-second `Date` header can blur, and far below a day or an hour step.
SKEW_LIMIT = timedelta(minutes=2)


def iso(moment: datetime) -> str:
    """One text form for every stored time, so stored times sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def service_day(moment: datetime, tz: ZoneInfo) -> date:
    """The center's local date at `moment`: the day a ticket belongs to."""
    return moment.astimezone(tz).date()


def in_time_window(start: time, end: time, now: time) -> bool:
    """Whether `now` is in [start, end); a window whose end is not after its start passes midnight."""
    return start <= now < end if start < end else (now >= start or now < end)


def window_day(start: time, end: time, moment: datetime) -> date | None:
    """The local date on which the window holding `moment` began (an overnight window belongs to the
    day it starts), or None when `moment` is outside it."""
    if not in_time_window(start, end, moment.time()):
        return None
    overnight_morning = not start < end and moment.time() < end
    return moment.date() - timedelta(days=1) if overnight_morning else moment.date()


def aware_time_in(item: dict[str, Any], key: str) -> datetime:
    """`item[key]` read as an ISO time with a time zone, as hub answers carry them; anything
    else raises ValueError naming the key, for the reader to leave that entry out."""
    value = item.get(key)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"{key} = {value!r:.60} is not a time with a time zone")
    return moment
