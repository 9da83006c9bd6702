"""The kids' room of a center: its hours and activities (master classes), from the kiosk bundle's `kids.toml`.

    hours = ["mon-fri 09:00-20:00", "sat 10:00-17:00"]   # as in mfc_edge/week_hours.py
    note = "Дети от 3 до 10 лет, пока родители в центре"   # optional, with note_en
    note_en = "Children aged 3 to 10 while their parents are in the center"

    [[activities]]
    title = "Лепим из пластилина"
    title_en = "Plasticine modelling"
    days = "mon,wed"          # DAYS as in week hours; or a date: date = 2026-11-26
    time = "11:00-11:45"
    ages = [4, 7]             # optional: from, to (years)

Russian and English texts are separate keys, as in the catalog's consultations. `load_kids_room`
checks the whole file; a problem raises one `KidsRoomError` naming the file, the entry, the key,
the value and what is allowed, so a technician can fix it from the message alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from mfc_edge.catalog import Bilingual, Entry
from mfc_edge.files import read_toml
from mfc_edge.week_hours import WeekHours, parse_days, parse_span

TOP_KEYS = {"hours", "note", "note_en", "activities"}
ACTIVITY_KEYS = {"title", "title_en", "days", "date", "time", "ages"}
MAX_AGE = 17


class KidsRoomError(ValueError):
    """A kids.toml that cannot be used; the message says why and where."""


class _Entry(Entry):
    error = KidsRoomError


@dataclass(frozen=True)
class Activity:
    title: Bilingual
    weekdays: frozenset[int]  # Monday 0; empty when the activity is on one date
    on_date: date | None
    start: time
    end: time
    ages: tuple[int, int] | None

    def takes_place(self, day: date) -> bool:
        return day == self.on_date or day.weekday() in self.weekdays


@dataclass(frozen=True)
class KidsRoom:
    hours: WeekHours  # the center's local time
    note: Bilingual | None
    activities: tuple[Activity, ...]

    def activities_on(self, day: date) -> list[Activity]:
        """The day's activities, earliest first."""
        return sorted((a for a in self.activities if a.takes_place(day)), key=lambda a: (a.start, a.end))


def _activity(entry: _Entry) -> Activity:
    entry.only_keys(ACTIVITY_KEYS)
    title = Bilingual(entry.text("title"), entry.text("title_en"))
    table = entry.table
    if ("days" in table) == ("date" in table):
        raise entry.fail("days", 'weekdays such as "mon,wed" or a date = 2026-11-26 instead, one of the two')
    weekdays: frozenset[int] = frozenset()
    on_date = None
    if "days" in table:
        try:
            weekdays = frozenset(parse_days(table["days"] if isinstance(table["days"], str) else ""))
        except ValueError:
            raise entry.fail("days", 'weekdays such as "mon", "mon-fri" or "mon,wed,fri"') from None
    elif isinstance(table["date"], date) and not hasattr(table["date"], "hour"):
        on_date = table["date"]
    else:
        raise entry.fail("date", "a date such as 2026-11-26 (without quotes)")
    try:
        span = table.get("time")
        start, end = parse_span(span if isinstance(span, str) else "")
    except ValueError:
        raise entry.fail("time", "HH:MM-HH:MM with the start before the end") from None
    ages = table.get("ages")
    if ages is not None:
        if (not isinstance(ages, list) or len(ages) != 2
                or not all(isinstance(a, int) and not isinstance(a, bool) and 0 <= a <= MAX_AGE for a in ages)
                or ages[0] > ages[1]):
            raise entry.fail("ages", f"[from, to]: whole years from 0 to {MAX_AGE}, from not above to")
        ages = (ages[0], ages[1])
    return Activity(title, weekdays, on_date, start, end, ages)


def _parse(path: Path, data: dict[str, Any]) -> KidsRoom:
    top = _Entry(path, "top level", data)
    top.only_keys(TOP_KEYS)
    hours = top.week_hours("hours")
    note = None
    if "note" in data or "note_en" in data:
        note = Bilingual(top.text("note"), top.text("note_en"))
    tables = data.get("activities", [])
    if not isinstance(tables, list):
        raise top.fail("activities", "a list of [[activities]] tables")
    activities = []
    for i, table in enumerate(tables):
        entry = _Entry(path, f"activities[{i}]", table)
        if isinstance(table.get("title"), str):
            entry.where = f"activities[{i}] ({table['title']})"
        activities.append(_activity(entry))
    return KidsRoom(hours, note, tuple(activities))


def load_kids_room(path: str | Path) -> KidsRoom:
    path = Path(path)
    return _parse(path, read_toml(path, KidsRoomError))
