"""How busy a center is by weekday and hour: the waiting-area screens' load chart and their
"best time to come".

The figures come from the tickets the hub holds, each counted once at its time of issue in
the center's local time (see hub/centers.py):

- The window is the last `weeks` whole local days before today: today is left out because
  its later hours have not happened yet and would pull its weekday's averages down.
- A weekday's average for an hour is the tickets issued in that hour on that weekday,
  divided by the number of days of that weekday *that had any ticket*. A day without a
  single ticket is taken as a day the center was closed (a holiday, a power cut, the hub
  not yet installed) and is not counted, so it does not drag the averages towards zero.
  `days` says how many days each weekday's averages stand on.
- An hour counts as a working hour of a weekday when tickets were issued in it on at least
  two of the counted days (on the one day, when only one was counted): one stray ticket at
  22:00 is a late test or an exception, not opening hours.
- `busiest` is the working hour with the highest average (the earliest on a tie); `quietest`
  are the QUIETEST working hours with the lowest averages, the busiest one excepted, in
  order of the clock. A weekday with no counted day has null and [].
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from hub.centers import Centers
from hub.db import HubDB, iso
from mfc_edge.protocol import WEEKDAYS

DEFAULT_WEEKS = 8
MAX_WEEKS = 52
QUIETEST = 3
# The figures change once a day and with late tickets of past days; a few minutes late is fine.
MAX_AGE_SECONDS = 300.0


def _local_hour_counts(db: Database, center: str, zone: ZoneInfo, since: date,
                       until: date) -> dict[tuple[date, int], int]:
    """Tickets per (local date, local hour) for local days since <= day < until.

    SQLite counts per UTC quarter of an hour, which maps into exactly one local hour in
    every zone (all offsets in use are whole quarters), so a busy center's 50 000 tickets
    come back as a few thousand rows rather than one row each."""
    start = iso(datetime.combine(since, day_time(), zone))
    end = iso(datetime.combine(until, day_time(), zone))
    rows = db.execute(
        "SELECT substr(issued_at, 1, 13), CAST(substr(issued_at, 15, 2) AS INTEGER) / 15, count(*) FROM tickets "
        "WHERE center = ? AND issued_at >= ? AND issued_at < ? GROUP BY 1, 2", [center, start, end]).fetchall()
    counts: dict[tuple[date, int], int] = defaultdict(int)
    for utc_hour, quarter, n in rows:
        moment = datetime.fromisoformat(utc_hour).replace(tzinfo=UTC) + timedelta(minutes=15 * quarter)
        local = moment.astimezone(zone)
        counts[(local.date(), local.hour)] += n
    return counts


def load_figures(db: Database, center: str, zone: ZoneInfo, today: date, weeks: int = DEFAULT_WEEKS) -> dict[str, Any]:
    """The load chart of `center` over the `weeks` weeks of local days before `today`."""
    since = today - timedelta(weeks=weeks)
    counts = _local_hour_counts(db, center, zone, since, today)
    open_days: dict[str, set[date]] = {wd: set() for wd in WEEKDAYS}
    totals = {wd: [0] * 24 for wd in WEEKDAYS}
    days_in_hour = {wd: [0] * 24 for wd in WEEKDAYS}
    for (day, hour), n in counts.items():
        wd = WEEKDAYS[day.weekday()]
        open_days[wd].add(day)
        totals[wd][hour] += n
        days_in_hour[wd][hour] += 1
    days, hours, busiest, quietest = {}, {}, {}, {}
    for wd in WEEKDAYS:
        n_days = len(open_days[wd])
        days[wd] = n_days
        hours[wd] = [round(total / n_days, 2) if n_days else 0.0 for total in totals[wd]]
        worked = [h for h in range(24) if n_days and days_in_hour[wd][h] >= min(2, n_days)]
        top = max(worked, key=lambda h: (hours[wd][h], -h)) if worked else None
        busiest[wd] = top
        calm = sorted((h for h in worked if h != top), key=lambda h: (hours[wd][h], h))[:QUIETEST]
        quietest[wd] = sorted(calm)
    return {"center": center, "timezone": zone.key, "weeks": weeks, "since": since.isoformat(),
            "until": (today - timedelta(days=1)).isoformat(), "days": days, "hours": hours,
            "busiest": busiest, "quietest": quietest}


def figures_etag(figures: dict[str, Any]) -> str:
    """Weak: the same figures computed at another moment are the same representation."""
    same = {k: v for k, v in figures.items() if k != "computed_at"}
    digest = hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()[:24]
    return f'W/"load-{digest}"'


class LoadCache:
    """The load figures per (center, weeks), computed again at most every `max_age` seconds."""

    def __init__(self, db: HubDB, centers: Centers, max_age: float = MAX_AGE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic):
        self.db, self.centers, self.max_age, self.monotonic = db, centers, max_age, monotonic
        self._cache: dict[tuple[str, int], tuple[float, str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, center: str, weeks: int = DEFAULT_WEEKS) -> tuple[str, dict[str, Any]]:
        """(ETag, figures with `computed_at`) for the center."""
        key = (center, weeks)
        with self._lock:  # one computation at a time: a crowd of screens asking at once waits for one
            found = self._cache.get(key)
            if found and self.monotonic() - found[0] < self.max_age:
                return found[1], found[2]
            now = self.db.now()
            zone = self.centers.timezone(center)
            figures = load_figures(self.db.db, center, zone, now.astimezone(zone).date(), weeks)
            figures["computed_at"] = iso(now)
            etag = figures_etag(figures)
            self._cache[key] = (self.monotonic(), etag, figures)
            return etag, figures

    def forget(self, center: str | None = None) -> None:
        """Drop cached figures (of one center, or all): the next `get` computes them afresh."""
        with self._lock:
            for key in [k for k in self._cache if center is None or k[0] == center]:
                del self._cache[key]
