"""The test day: one Monday every test that needs a date works on, and moments on it."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")
TEST_DAY = date(2026, 11, 23)  # a Monday


def at(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0, *, days: int = 0,
       tz: tzinfo | None = MSK) -> datetime:
    """`hour:minute` on the test day (or `days` after it) on the clocks of `tz`: Moscow unless
    told otherwise, naive with `tz=None`."""
    return datetime.combine(TEST_DAY + timedelta(days=days), time(hour, minute, second, microsecond), tzinfo=tz)


MONDAY_10AM = at(10)
