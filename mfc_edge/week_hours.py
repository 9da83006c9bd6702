"""Weekly hours written as short lines: when agency specialists are on line, when the kids' room is open.

One line is `DAYS HH:MM-HH:MM`, in the center's local time:

    hours = ["mon-fri 10:00-13:00", "mon-fri 14:00-17:00", "sat 10:00-14:00"]

DAYS is a day (`mon tue wed thu fri sat sun`), a range of days (`mon-fri`), or a comma list of
either (`mon,wed,fri`, `mon-wed,sat`), without spaces. The start is before the end (nothing
runs past midnight), and one day's intervals do not overlap. Several lines make a lunch break
or different Saturday hours. `parse_week_hours` raises ValueError for anything else, and
callers name the file and key with `WEEK_HOURS_RULE`.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from mfc_edge.protocol import WEEKDAYS

WEEK_HOURS_RULE = ('a non-empty list of "DAYS HH:MM-HH:MM" such as "mon-fri 10:00-17:00" '
                   "(DAYS: mon tue wed thu fri sat sun, a range mon-fri or a list mon,wed,fri)")
SHORT_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # message ids in the gettext catalogs
_SPAN = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")

Interval = tuple[time, time]


@dataclass(frozen=True)
class WeekHours:
    lines: tuple[str, ...]  # as written, for showing them back
    by_weekday: tuple[tuple[Interval, ...], ...]  # Monday first; each day's intervals in order

    def is_on(self, local: datetime) -> bool:
        return any(start <= local.time() < end for start, end in self.by_weekday[local.weekday()])

    def until(self, local: datetime) -> time | None:
        """The end of the interval `local` is in, or None when outside them."""
        return next((end for start, end in self.by_weekday[local.weekday()] if start <= local.time() < end), None)

    def next_start(self, local: datetime) -> datetime | None:
        """The next start after `local` within a week (same time zone), or None if there is none."""
        for days in range(8):
            day = (local + timedelta(days=days)).date()
            for start, _end in self.by_weekday[day.weekday()]:
                moment = datetime.combine(day, start, tzinfo=local.tzinfo)
                if moment > local:
                    return moment
        return None

    def today(self, local: datetime) -> tuple[Interval, ...]:
        return self.by_weekday[local.weekday()]

    def describe(self, tr: Callable[[str], str]) -> list[str]:
        """The lines for visitors, day names in their language: «Пн–Пт 10:00–17:00»."""
        def day_names(days: str) -> str:
            return ", ".join("–".join(tr(SHORT_DAYS[WEEKDAYS.index(d)]) for d in part.split("-"))
                             for part in days.split(","))
        shown = []
        for line in self.lines:
            days, span = line.split(" ")
            shown.append(f"{day_names(days)} {span.replace('-', '–')}")
        return shown


def parse_days(spec: str) -> list[int]:
    """The weekdays (Monday 0) of a DAYS spec such as "mon-wed,fri"; ValueError if it is not one."""
    found: list[int] = []
    for part in spec.split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(end not in WEEKDAYS for end in ends):
            raise ValueError(part)
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        if last < first:  # "fri-mon" is more likely a slip than a weekend spanning range
            raise ValueError(part)
        found.extend(range(first, last + 1))
    return found


def parse_span(text: str) -> Interval:
    """"HH:MM-HH:MM", the start before the end; ValueError otherwise."""
    match = _SPAN.match(text)
    if not match:
        raise ValueError(text)
    h1, m1, h2, m2 = map(int, match.groups())
    start, end = time(h1, m1), time(h2, m2)  # 25:00 raises ValueError
    if not start < end:
        raise ValueError(text)
    return start, end


def parse_week_hours(value: object) -> WeekHours:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(value)
    days: list[list[Interval]] = [[] for _ in WEEKDAYS]
    for line in value:
        days_spec, space, span = line.strip().partition(" ")
        if not space:
            raise ValueError(line)
        for day in parse_days(days_spec):
            days[day].append(parse_span(span))
    for intervals in days:
        intervals.sort()
        if any(later[0] < earlier[1] for earlier, later in itertools.pairwise(intervals)):
            raise ValueError(value)
    return WeekHours(tuple(line.strip() for line in value), tuple(tuple(d) for d in days))

