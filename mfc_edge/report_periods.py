"""What a center's reports (hub/reports.py) and the city's (city/reports.py) share: the
periods a report covers and the thresholds of its figures, so both count the same way."""
from __future__ import annotations

import calendar
from datetime import date, timedelta

OVER_MINUTES = 15  # "waited over 15 minutes"
ESTIMATE_CLOSE_MINUTES = 5  # "estimate within 5 minutes"
PERIODS = ("day", "week", "month")
MAX_DAYS = 366
TOTAL = "всего / total"


class ReportError(ValueError):
    """A report that cannot be made as asked; the message says why, in one line."""


def parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ReportError(f"{name} {text!r}: give a date as YYYY-MM-DD") from None


def period(kind: str, day: date) -> tuple[date, date]:
    """The day, the Monday-to-Sunday week or the calendar month that holds `day`."""
    if kind == "week" and day > date.max - timedelta(days=6):
        raise ReportError(f"on {day}: no week of the calendar ends after it")
    if kind == "day":
        return day, day
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if kind == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    raise ReportError(f"period {kind!r}: one of {', '.join(PERIODS)}")


def check_range(first: date, last: date, by: str, groups: tuple[str, ...], every: str | None = None) -> None:
    if by not in groups:
        raise ReportError(f"by {by!r}: one of {', '.join(groups)}")
    if every is not None and every not in PERIODS:
        raise ReportError(f"every {every!r}: one of {', '.join(PERIODS)}")
    if last < first:
        raise ReportError(f"the period ends ({last}) before it begins ({first})")
    if (last - first).days >= MAX_DAYS:
        raise ReportError(f"a report covers at most {MAX_DAYS} days")
