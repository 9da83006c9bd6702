"""Public waiting times: what residents and the city portal read, for every center.

The answer (README, "A city of centers", has the format) is made from the figures the dashboard
shows (city/figures.py), so the two never disagree, plus three things only the public asks for:

* **wait_minutes** — the wait of a visitor who takes a ticket now, by the hub's SIMPLE rule
  (hub/estimates.py): everyone waiting is ahead of them, each visit lasts the mean of the
  center's last 30 visits (10 minutes when it has none yet), and the windows open and not
  paused share the line (one, when all are paused). Rounded up. For a service group, the
  people waiting for its services shared by the windows serving any of them.
* **groups** — the catalog's categories (`service_groups`): waiting and wait per category; a
  service the catalog does not know counts in "other".
* **best_time** — for the coming days, the hours with the lowest typical wait: the median wait
  (issue to first call, walk-ins left out) of the center's tickets of the last weeks, by weekday
  and hour of the center's clock. An hour counts as one the center is open only if tickets were
  issued in it on at least half of those weeks' days of that weekday. Null in a fresh process's
  first answers: the weeks are read in the background, not while a reader waits.

A center whose hub has gone silent is "unknown": its current figures are null, never 0, since
nobody knows them. A center with no window open is "closed". Nothing personal is given: no
ticket numbers, operators, windows or devices.

Every process computes the answer at most once per `cache_seconds`: the first request finds the
answer made (a burst waits for one computation), and later an expired answer is served while
one thread makes the next, so a reader never waits for the database.
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import psycopg
from psycopg.rows import dict_row

from city.city import City
from city.figures import center_figures
from city.services import service_groups

DEFAULT_SERVICE_MINUTES = 10.0  # as the hub's SIMPLE rule when a center has served nobody yet
RECENT_VISITS = 30
RECENT_DAYS = 3  # the last visits are looked for in these days only: a bounded read per center
GZIP_FROM = 1024  # bytes of an answer worth compressing
OTHER_GROUP = {"id": "other", "name_ru": "Другие услуги", "name_en": "Other services"}


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublicSettings:
    cache_seconds: float = 15.0
    history_seconds: float = 3600.0  # best times change slowly: read the weeks of history hourly
    history_weeks: int = 4
    best_days: int = 3  # the coming days the answer gives best hours for
    best_hours: int = 3  # per day
    rate_per_second: float = 2.0  # per client address, refilled continuously
    burst: int = 30


def wait_minutes(ahead: int, mean_service_minutes: float, windows: int) -> int:
    """The hub's SIMPLE rule (hub/estimates.py wait_minutes): rounded up, since told "about 10
    minutes" a visitor minds waiting 11 far more than waiting 9."""
    return math.ceil(round(ahead * mean_service_minutes / max(1, windows), 6))


def local_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Moscow")  # the city's own zone rather than no answer at all


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


# --- the database's part -----------------------------------------------------------------

def _now_figures(conn: psycopg.Connection[Any], today_of: dict[str, date]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per center, the people waiting by service and the windows open and not paused with their
    services; and the mean visit of its last visits."""
    waiting: dict[str, dict[str, int]] = {}
    windows: dict[str, list[list[str]]] = {}
    cur = conn.cursor(row_factory=dict_row)
    for r in cur.execute("SELECT center, day, service, count(*) AS n FROM tickets WHERE state = 'waiting' "
                          "GROUP BY center, day, service"):
        if today_of.get(r["center"]) == r["day"]:
            waiting.setdefault(r["center"], {})[r["service"]] = r["n"]
    for r in cur.execute('SELECT center, services FROM windows WHERE open_since IS NOT NULL AND paused_since IS NULL'):
        windows.setdefault(r["center"], []).append(list(r["services"]))
    first_day = min(today_of.values(), default=date.today()) - timedelta(days=RECENT_DAYS)
    means = {r["id"]: r["mean"] for r in cur.execute(
        "SELECT c.id, m.mean FROM centers c CROSS JOIN LATERAL ("
        " SELECT (avg(extract(epoch FROM s.finished_at - s.started_at)) / 60)::float8 AS mean FROM ("
        "  SELECT started_at, finished_at FROM tickets t WHERE t.center = c.id AND t.day >= %s"
        "  AND t.state = 'done' AND t.started_at IS NOT NULL AND t.finished_at IS NOT NULL"
        "  ORDER BY t.finished_at DESC LIMIT %s) s) m", [first_day, RECENT_VISITS])}
    return {"waiting": waiting, "windows": windows}, means


def typical_waits(conn: psycopg.Connection[Any], since: date) -> dict[str, dict[tuple[int, int], tuple[int, float]]]:
    """Per center, per (ISO weekday, hour of issue) of its own clock: the days tickets were issued
    then and the median wait in minutes of those called; a wait begins as the hub's reports say
    (at issue, or at a booked visitor's slot if later). Hours with nobody called are left out."""
    found: dict[str, dict[tuple[int, int], tuple[int, float]]] = {}
    # Center by center down the (center, day) index: the weeks asked for are read, not the years kept.
    for r in conn.cursor(row_factory=dict_row).execute(
            "SELECT c.id AS center, h.* FROM centers c CROSS JOIN LATERAL ("
            " SELECT extract(isodow FROM t.issued_at AT TIME ZONE c.timezone)::int AS dow,"
            "  extract(hour FROM t.issued_at AT TIME ZONE c.timezone)::int AS hour, count(DISTINCT t.day) AS days,"
            "  percentile_cont(0.5) WITHIN GROUP"
            "   (ORDER BY extract(epoch FROM t.first_called_at - GREATEST(t.slot_at, t.issued_at)))"
            "   FILTER (WHERE t.first_called_at IS NOT NULL) AS median_s"
            "  FROM tickets t WHERE t.center = c.id AND t.day >= %s AND NOT t.walk_in AND NOT t.awaiting_event"
            "  GROUP BY 1, 2) h", [since]):
        if r["median_s"] is not None:
            found.setdefault(r["center"], {})[(r["dow"], r["hour"])] = (r["days"], max(0.0, r["median_s"]) / 60)
    return found


def best_time(history: dict[tuple[int, int], tuple[int, float]], local_now: datetime,
              settings: PublicSettings) -> list[dict[str, Any]]:
    """The next `best_days` days the center is open (today's hours still to come included), each
    with its `best_hours` hours of the lowest typical wait, in the order of the day."""
    enough_days = max(1, settings.history_weeks // 2)
    days = []
    for ahead in range(8):
        day = local_now.date() + timedelta(days=ahead)
        hours = [(wait, hour) for (dow, hour), (seen, wait) in history.items()
                 if dow == day.isoweekday() and seen >= enough_days and (ahead or hour > local_now.hour)]
        if hours:
            best = sorted(sorted(hours)[:settings.best_hours], key=lambda h: h[1])
            days.append({"date": day.isoformat(), "weekday": day.isoweekday(),
                         "hours": [{"from": f"{hour:02d}:00", "to": f"{(hour + 1) % 24:02d}:00",
                                    "wait_minutes": math.ceil(round(wait, 6))} for wait, hour in best]})
        if len(days) == settings.best_days:
            break
    return days


# --- the answer ----------------------------------------------------------------------------

def _groups(waiting: dict[str, int], windows: list[list[str]], mean: float) -> list[dict[str, Any]]:
    groups = service_groups()
    by_group: dict[str, int] = {}
    for service, n in waiting.items():
        group_id = groups.of_service.get(service, OTHER_GROUP["id"])
        by_group[group_id] = by_group.get(group_id, 0) + n
    out = []
    for group in (*groups.order, OTHER_GROUP):
        services = {s for s, g in groups.of_service.items() if g == group["id"]}
        serving = sum(1 for w in windows if services.intersection(w)) if group is not OTHER_GROUP else len(windows)
        n = by_group.get(group["id"], 0)
        if n or (serving and group is not OTHER_GROUP):
            out.append({**group, "waiting": n, "wait_minutes": wait_minutes(n, mean, serving)})
    return out


def make_waits(conn: psycopg.Connection[Any], now: datetime, settings: PublicSettings,
               history: dict[str, dict[tuple[int, int], tuple[int, float]]] | None) -> dict[str, Any]:
    """The whole public answer at `now` (UTC), from the figures and the history given (None while
    it is still being read: best times null, "not known yet", rather than a reader waiting)."""
    figures = center_figures(conn, now)
    current, means = _now_figures(conn, {f["id"]: f["today"] for f in figures})
    centers = []
    for f in figures:
        center = f["id"]
        entry: dict[str, Any] = {"id": center, "name": f["name"], "district": f["district"]}
        mean = means.get(center) or DEFAULT_SERVICE_MINUTES
        windows = current["windows"].get(center, [])
        if f["silent"]:
            entry.update(state="unknown", waiting=None, wait_minutes=None, longest_wait_minutes=None, groups=[])
        else:
            is_open = bool(f["windows_open"])
            entry.update(
                state="open" if is_open else "closed", waiting=f["waiting"],
                wait_minutes=wait_minutes(f["waiting"], max(1.0, mean), len(windows)) if is_open else None,
                longest_wait_minutes=math.ceil(round(f["longest_wait_s"] / 60, 6)) if f["longest_wait_s"] else 0,
                groups=_groups(current["waiting"].get(center, {}), windows, max(1.0, mean)) if is_open else [])
        entry["best_time"] = None if history is None else best_time(
            history.get(center, {}), now.astimezone(local_zone(f["timezone"])), settings)
        entry["last_contact"] = _iso(f["last_contact"])
        centers.append(entry)
    return {"made_at": _iso(now), "centers": centers}


@dataclass
class Answer:
    """One made answer, as bytes (and gzipped once, for the many readers who take it so), with
    what HTTP caches need."""

    body: bytes
    gzipped: bytes | None  # None when too small to be worth it
    etag: str
    made_at: datetime
    made_monotonic: float
    data: dict[str, Any]
    per_center: dict[str, Answer] = field(default_factory=dict)

    @classmethod
    def of(cls, data: dict[str, Any], made_at: datetime, made_monotonic: float) -> Answer:
        body = orjson.dumps(data)
        gzipped = gzip.compress(body, compresslevel=6, mtime=0) if len(body) > GZIP_FROM else None
        return cls(body, gzipped, f'"{hashlib.sha256(body).hexdigest()[:32]}"', made_at, made_monotonic, data)

    @property
    def last_modified(self) -> str:
        return format_datetime(self.made_at.replace(microsecond=0), usegmt=True)

    def center(self, center: str) -> Answer | None:
        """The answer for one center (made once per answer), or None for a center not in it."""
        if center not in self.per_center:
            found = next((c for c in self.data["centers"] if c["id"] == center), None)
            if found is None:
                return None  # not remembered: asking for made-up ids must not fill the memory
            self.per_center[center] = Answer.of({"made_at": self.data["made_at"], "center": found},
                                                self.made_at, self.made_monotonic)
        return self.per_center[center]


class PublicWaits:
    """The answer of this process, made at most once per `cache_seconds`."""

    def __init__(self, city: City, settings: PublicSettings | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.city, self.settings, self.monotonic = city, settings or PublicSettings(), monotonic
        self.computations = 0  # how many answers this process made (tests, benchmarks)
        self._answer: Answer | None = None
        self._history: tuple[float, dict[str, dict[tuple[int, int], tuple[int, float]]]] | None = None
        self._making = threading.Lock()
        self._refreshing = False
        self._reading_history = False

    def answer(self) -> Answer:
        """The current answer; raises psycopg.Error only when there never was one."""
        answer = self._answer
        if answer is None:
            with self._making:  # a burst on a fresh process: the first makes it, the others find it made
                if self._answer is None:
                    self._answer = self._make()
                return self._answer
        if self.monotonic() - answer.made_monotonic >= self.settings.cache_seconds and self._making.acquire(False):
            if not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="public-waits", daemon=True).start()
            self._making.release()
        return answer

    def max_age(self, answer: Answer) -> int:
        return max(0, math.ceil(self.settings.cache_seconds - (self.monotonic() - answer.made_monotonic)))

    def _refresh(self) -> None:
        try:
            with self._making:
                self._answer = self._make()
        except psycopg.Error:
            pass  # the last answer stays; the next request past its age tries again
        finally:
            self._refreshing = False

    def _make(self) -> Answer:
        started, now = self.monotonic(), self.city.now()
        known = self._history  # taken before a new read starts: this answer is made with what it had
        due = known is None or started - known[0] >= self.settings.history_seconds
        if due and not self._reading_history:
            # Weeks of every center's tickets take seconds to read: never on a reader's time.
            self._reading_history = True
            threading.Thread(target=self._read_history_quietly, name="public-history", daemon=True).start()
        with self.city.db.connection() as conn:
            data = make_waits(conn, now, self.settings, known[1] if known else None)
        self.computations += 1
        return Answer.of(data, now, started)

    def read_history(self) -> None:
        """Read the typical waits by weekday and hour of the last weeks, the best times' source."""
        started, now = self.monotonic(), self.city.now()
        since = now.date() - timedelta(weeks=self.settings.history_weeks, days=1)
        with self.city.db.connection() as conn:
            self._history = (started, typical_waits(conn, since))

    def _read_history_quietly(self) -> None:
        try:
            self.read_history()
        except Exception:  # a database away or closing: the next answer made tries again
            log.warning("public waits: the typical waits could not be read", exc_info=True)
        finally:
            self._reading_history = False



def screenshot_page(browser: Any, city_url: str, path: Path, lang: str = "ru",
                    viewport: tuple[int, int] = (390, 844)) -> None:
    """Save the /waits page as a resident's phone shows it, once its figures are drawn.
    `browser`: a playwright Browser (the demo's, the tests')."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=2,
                            locale="en-GB" if lang == "en" else "ru-RU", timezone_id="Europe/Moscow")
    try:
        page.goto(f"{city_url}/waits" + ("?lang=en" if lang == "en" else ""))
        page.wait_for_selector("body[data-loaded='yes']", timeout=15_000)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.close()
