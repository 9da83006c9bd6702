"""A quarter of the city's history in PostgreSQL, for the city's benchmarks.

    python benchmarks/city_data.py [--folder var/city-bench] [--days 85] [--centers 110]
                                   [--per-day 640] [--reload] [--quick]

Loads straight into the projection the dashboard, the public page and the reports read
(centers, hubs, tickets, ratings, windows, devices) with COPY, in a private PostgreSQL cluster
(city/local_cluster.py, fsync on as in production) whose folder is kept between runs:
city_query_bench.py starts it again and finds the history (loaded again when the city's schema
steps changed). Rows go in a day at a time, in the order of issue across all centers, so that a
center's day is spread over the day's pages as it is when hubs' records arrive. The city's log
is left empty here: the dashboard and the reports read the projection, and the log's own growth
is what city_ingest_bench.py measures. Booked visitors (slot_at) are not drawn: every wait
begins at the ticket's issue.

The history: `centers` centers in 12 districts of Moscow, each with its own size (0.5-1.5 of
the mean), its number of windows and its usual wait; `days` working days back from today
(Monday to Friday 8:00-20:00 with a morning rise, a lunch lull and an evening peak; Saturday
10:00-17:00, about half as busy; Sunday closed), `per-day` tickets per center per working day
on average, over 12 services of their own shares and lognormal service times. The wait grows
with the hour's load; 5% priority tickets wait half as long; 3% no-shows, 1% cancelled, 1%
expired unserved, 3% walk-ins served at once; a printed estimate on 9 in 10; a rating for 30%
of the served (mostly happy). Today is filled up to the moment the benchmark runs
(`replace_today`): people waiting and being served now, windows open and paused, a few devices
offline, two centers whose hubs fell silent.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from city.db import migrate, steps  # noqa: E402
from city.local_cluster import LocalCluster  # noqa: E402

MOSCOW = timezone(timedelta(hours=3))  # no summer time since 2014
DATABASE = "city_bench"
FOLDER = Path(__file__).resolve().parent.parent / "var" / "city-bench"
DISTRICTS = ("ЦАО", "САО", "СВАО", "ВАО", "ЮВАО", "ЮАО", "ЮЗАО", "ЗАО", "СЗАО", "ЗелАО", "НАО", "ТАО")


@dataclass(frozen=True)
class Service:
    id: str
    letter: str
    share: float
    median_minutes: float
    sigma: float


SERVICES = (
    Service("passport-rf", "П", 0.20, 14.0, 0.45),
    Service("foreign-passport", "З", 0.08, 12.0, 0.4),
    Service("residence-registration", "Р", 0.10, 12.0, 0.5),
    Service("adult-snils", "С", 0.12, 6.0, 0.5),
    Service("oms-policy", "В", 0.10, 8.0, 0.45),
    Service("tax-deduction", "Б", 0.10, 10.0, 0.6),
    Service("property-registration", "Н", 0.08, 18.0, 0.5),
    Service("child-benefits", "Д", 0.07, 15.0, 0.5),
    Service("pension", "Е", 0.05, 11.0, 0.5),
    Service("driving-licence", "А", 0.04, 9.0, 0.4),
    Service("birth-certificate", "Г", 0.03, 10.0, 0.4),
    Service("consultation", "К", 0.03, 5.0, 0.7),
)
SERVICE_WEIGHTS = [s.share for s in SERVICES]
# Visitors per local hour, relative (hub/day_profiles.py's weekday and Saturday shapes).
WEEKDAY_HOURS = {8: 18, 9: 30, 10: 40, 11: 40, 12: 32, 13: 30, 14: 33, 15: 35, 16: 38, 17: 40, 18: 34, 19: 22}
SATURDAY_HOURS = {10: 30, 11: 38, 12: 40, 13: 36, 14: 30, 15: 24, 16: 16}
SATURDAY_SHARE = 0.45  # of a weekday's visitors
# Weekdays get a little more than the mean so that five weekdays and a Saturday average `per_day`.
WEEKDAY_FACTOR = 6 / (5 + SATURDAY_SHARE)

TICKET_COLUMNS = ("center", "id", "number", "service", "day", "priority", "state", "issued_at",
                  "first_called_at", "called_at", "started_at", "finished_at", "window", "operator",
                  "walk_in", "estimate_minutes", "hub_seq")
RATING_COLUMNS = ("center", "event", "window", "ticket", "score", "scale", "day", "at", "hub_seq")


@dataclass(frozen=True)
class Center:
    id: str
    name: str
    district: str
    size: float  # of the mean center's visitors
    windows: int
    mean_wait: float  # minutes, at the day's busiest hour the wait is ~1.6 times this

    @property
    def hub(self) -> str:
        return f"hub-{self.id}"


def make_centers(count: int, seed: int = 19) -> list[Center]:
    rnd = random.Random(seed)
    sizes = [rnd.uniform(0.5, 1.5) for _ in range(count)]
    mean = sum(sizes) / count  # the city's mean center has `per_day` visitors, whatever the draw
    centers = []
    for n, drawn in enumerate(sizes):
        size = drawn / mean
        centers.append(Center(f"c{n + 1:03d}", f"МФЦ № {n + 1}", DISTRICTS[n % len(DISTRICTS)], size,
                              max(6, round(12 * size + rnd.uniform(-2, 2))), rnd.uniform(2.0, 7.0)))
    return centers


def working_days(last: date, count: int) -> list[date]:
    """`count` days the centers open (Sunday closed), the last one `last` or before it."""
    days: list[date] = []
    day = last
    while len(days) < count:
        if day.weekday() != 6:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def _ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _ticket_id(rnd: random.Random, seconds: float) -> str:
    """A UUID v7 of the issue time, as the hub's kiosks make them (mfc_edge/ids.py)."""
    value = (int(seconds * 1000) << 80) | (0x7 << 76) | (rnd.getrandbits(12) << 64) | (0b10 << 62) \
        | rnd.getrandbits(62)
    return str(uuid.UUID(int=value))


def center_day(rnd: random.Random, c: Center, day: date, count: int, seq: Iterator[int],
               until: float | None = None) -> tuple[list[str], list[str]]:
    """COPY lines of the tickets and ratings of `c` on `day`; with `until` (a Unix time) only
    what had happened by then, the rest of the tickets in the state they had at that moment."""
    hours = SATURDAY_HOURS if day.weekday() == 5 else WEEKDAY_HOURS
    peak = max(hours.values())
    midnight = datetime(day.year, day.month, day.day, tzinfo=MOSCOW).timestamp()
    chosen = rnd.choices(list(hours), list(hours.values()), k=count)
    issued_times = sorted(midnight + h * 3600 + rnd.uniform(0, 3600) for h in chosen)
    services = rnd.choices(SERVICES, SERVICE_WEIGHTS, k=count)
    tickets, ratings = [], []
    day_s = day.isoformat()
    counters: dict[str, int] = {}
    for issued, service in zip(issued_times, services, strict=True):
        if until is not None and issued > until:
            break
        number = counters.get(service.letter, 0) + 1
        counters[service.letter] = number
        hour = int((issued - midnight) // 3600)
        priority = rnd.random() < 0.05
        load = hours.get(hour, peak) / peak
        wait = rnd.expovariate(1 / (c.mean_wait * (0.4 + 1.2 * load) * (0.5 if priority else 1.0))) * 60
        walk_in = rnd.random() < 0.03
        if walk_in:
            wait = 0.0
        called = issued + wait
        started = called + rnd.uniform(20, 120)
        finished = started + 60 * service.median_minutes * math.exp(rnd.gauss(0, service.sigma))
        window = str(rnd.randint(1, c.windows))
        operator = f"op-{c.id}-{window}"
        fate = rnd.random()
        state = "done"
        first_called: float | None = called
        start: float | None = started
        finish: float | None = finished
        if fate < 0.03 and not walk_in:
            state, start, finish = "no_show", None, called + 180
        elif fate < 0.04 and not walk_in:
            state, first_called, start, finish = "cancelled", None, None, issued + wait / 2
        elif fate < 0.05 and not walk_in:
            state, first_called, start, finish = "expired", None, None, None
        if until is not None:  # the ticket as it stands at `until`
            if state == "expired":  # a ticket left unserved today counts as a visitor who gave up and left
                state, finish = "cancelled", issued + wait / 2
            if first_called is None or first_called > until:
                state, first_called, start, finish = ("waiting", None, None, None) \
                    if state != "cancelled" or finish is None or finish > until else (state, None, None, finish)
            elif state == "no_show" and finish is not None and finish > until:
                state, finish = "called", None
            elif state == "done" and start is not None and start > until:
                state, start, finish = "called", None, None
            elif state == "done" and finish is not None and finish > until:
                state, finish = "serving", None
        called_s = _ts(first_called) if first_called is not None else r"\N"
        if first_called is None:
            window_s, operator_s = "", ""
        else:
            window_s, operator_s = window, operator
        estimate = r"\N" if walk_in or rnd.random() < 0.1 else str(max(0, round(wait / 60 + rnd.gauss(0, 2))))
        tid = _ticket_id(rnd, issued)
        tickets.append("\t".join((
            c.id, tid, f"{service.letter}{number:03d}", service.id, day_s, "1" if priority else "0", state,
            _ts(issued), called_s, called_s, _ts(start) if start is not None else r"\N",
            _ts(finish) if finish is not None else r"\N", window_s, operator_s, "t" if walk_in else "f",
            estimate, str(next(seq)))))
        if state == "done" and finish is not None and rnd.random() < 0.3:
            score = rnd.choices((5, 4, 3, 2, 1), (70, 15, 7, 3, 5))[0]
            at = finish + rnd.uniform(2, 40)
            if until is None or at <= until:
                ratings.append("\t".join((c.id, _ticket_id(rnd, at), window, tid, str(score), "5", day_s, _ts(at),
                                          str(next(seq)))))
    return tickets, ratings


def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...], lines: list[str]) -> None:
    if not lines:
        return
    quoted = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        copy.write("\n".join(lines) + "\n")


def day_count(rnd: random.Random, c: Center, day: date, per_day: int) -> int:
    factor = SATURDAY_SHARE * WEEKDAY_FACTOR if day.weekday() == 5 else WEEKDAY_FACTOR
    return max(10, round(per_day * c.size * factor * rnd.gauss(1.0, 0.08)))


def load_history(conn: psycopg.Connection, centers: list[Center], days: list[date], per_day: int,
                 seed: int = 19) -> tuple[int, int]:
    """Every center's finished days, a day at a time, each day's rows in the order of their time
    across all centers (as the hubs' records arrive: a center's day is spread over the day's
    pages, not kept together); (tickets, ratings) stored."""
    rnd = random.Random(seed)
    seqs = {c.id: iter(range(1, 10**12)) for c in centers}
    stored = [0, 0]
    for day in days:
        tickets: list[str] = []
        ratings: list[str] = []
        for c in centers:
            t, r = center_day(rnd, c, day, day_count(rnd, c, day, per_day), seqs[c.id])
            tickets += t
            ratings += r
        tickets.sort(key=lambda line: line.split("\t", 8)[7])  # issued_at, UTC ISO text
        ratings.sort(key=lambda line: line.split("\t", 8)[7])  # at
        with conn.transaction():
            _copy(conn, "tickets", TICKET_COLUMNS, tickets)
            _copy(conn, "ratings", RATING_COLUMNS, ratings)
        stored[0] += len(tickets)
        stored[1] += len(ratings)
    return stored[0], stored[1]


def load_centers(conn: psycopg.Connection, centers: list[Center]) -> None:
    with conn.transaction():
        for c in centers:
            conn.execute("INSERT INTO hubs (id, token_hash) VALUES (%s, %s)", [c.hub, os.urandom(32).hex()])
            conn.execute("INSERT INTO centers (id, name, district, hub) VALUES (%s, %s, %s, %s)",
                         [c.id, c.name, c.district, c.hub])


def replace_today(conn: psycopg.Connection, centers: list[Center], per_day: int, now: datetime,
                  seed: int = 20) -> int:
    """Today's tickets, ratings, windows, devices and hub contacts as they stand at `now`
    (today's rows made before are replaced); the tickets stored."""
    rnd = random.Random(seed)
    today = now.astimezone(MOSCOW).date()
    until = now.timestamp()
    count = 0
    with conn.transaction():
        conn.execute("DELETE FROM tickets WHERE day >= %s", [today])
        conn.execute("DELETE FROM ratings WHERE day >= %s", [today])
        conn.execute("DELETE FROM windows")
        conn.execute("DELETE FROM devices")
        tickets: list[str] = []
        ratings: list[str] = []
        windows: list[str] = []
        devices: list[str] = []
        seq = iter(range(10**11, 10**12))
        for c in centers:
            if today.weekday() != 6:
                t, r = center_day(rnd, c, today, day_count(rnd, c, today, per_day), seq, until)
                tickets += t
                ratings += r
            hours = SATURDAY_HOURS if today.weekday() == 5 else WEEKDAY_HOURS
            opened = datetime(today.year, today.month, today.day, min(hours), tzinfo=MOSCOW)
            is_open = today.weekday() != 6 and opened <= now < opened + timedelta(hours=len(hours) + 1)
            for w in range(1, c.windows + 1):
                open_since = _ts(opened.timestamp() + rnd.uniform(0, 900)) if is_open and rnd.random() < 0.8 else r"\N"
                paused = _ts(until - rnd.uniform(60, 1200)) if open_since != r"\N" and rnd.random() < 0.1 else r"\N"
                services = "{" + ",".join(s.id for s in rnd.sample(SERVICES, 4)) + "}"
                windows.append("\t".join((c.id, str(w), open_since, services, f"op-{c.id}-{w}" if open_since != r"\N"
                                          else "", paused, "обед" if paused != r"\N" else "", str(next(seq)))))
            roles = ["kiosk"] * 3 + ["signage"] * 4 + ["console"] * c.windows
            for n, role in enumerate(roles):
                online = "f" if rnd.random() < 0.02 else "t"
                devices.append("\t".join((c.id, f"{c.id}-{role}-{n}", role, online,
                                          _ts(until - rnd.uniform(60, 36000)), "f", str(next(seq)))))
        _copy(conn, "tickets", TICKET_COLUMNS, tickets)
        _copy(conn, "ratings", RATING_COLUMNS, ratings)
        _copy(conn, "windows", ("center", "window", "open_since", "services", "operator", "paused_since",
                                "pause_reason", "hub_seq"), windows)
        _copy(conn, "devices", ("center", "id", "role", "online", "since", "revoked", "hub_seq"), devices)
        conn.execute("UPDATE hubs SET last_contact = %s", [now - timedelta(seconds=20)])
        # Two centers whose hubs fell silent an hour ago: the dashboard and the public page say "unknown".
        conn.execute("UPDATE hubs SET last_contact = %s WHERE id IN (%s, %s)",
                     [now - timedelta(hours=1), centers[0].hub, centers[len(centers) // 2].hub])
        count = len(tickets)
    return count


class KeptCluster(LocalCluster):
    """The benchmarks' cluster, in a folder kept between runs (a test's cluster is thrown away;
    as root its folder is handed to the `postgres` user, who runs the server)."""

    def __init__(self, folder: Path):
        super().__init__(folder, durable=True)
        if self._as_postgres:
            shutil.rmtree(self.folder, ignore_errors=True)  # the temporary folder the parent made
            self.folder = Path(folder)
            self.data = self.folder / "data"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def new_database(cluster: LocalCluster, name: str) -> str:
    """The DSN of a new database `name` (one of that name before is dropped) with the city's schema."""
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(cluster.dsn(name)) as conn:
        migrate(conn)
    return cluster.dsn(name)


def schema_fingerprint() -> str:
    """Of the city's schema steps as they are now: a history loaded under other steps (a step
    not yet released may still change) is loaded again."""
    return hashlib.sha256("\0".join(f"{name}\0{sql}" for name, sql in steps()).encode()).hexdigest()[:16]


KEYS = ("centers", "days", "per_day", "tickets", "ratings", "seconds", "first_day", "last_day", "schema")


def loaded(dsn: str) -> dict | None:
    """What was loaded into the database (the arguments, the time it took, the schema), or None."""
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('bench_history')").fetchone() == (None,):
            return None
        try:
            row = conn.execute(f"SELECT {', '.join(KEYS)} FROM bench_history").fetchone()
        except psycopg.errors.UndefinedColumn:  # loaded by an earlier version of this file
            return None
    return None if row is None else dict(zip(KEYS, row, strict=True))


def load(dsn: str, centers: int, days: int, per_day: int) -> dict:
    """Loads the history into the city tables of a new database; what `loaded` says."""
    the_centers = make_centers(centers)
    yesterday = datetime.now(MOSCOW).date() - timedelta(days=1)
    the_days = working_days(yesterday, days)
    with psycopg.connect(dsn) as conn:
        began = time.perf_counter()
        load_centers(conn, the_centers)
        tickets, ratings = load_history(conn, the_centers, the_days, per_day)
        print(f"copied {tickets} tickets, {ratings} ratings in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        seconds = time.perf_counter() - began
        conn.execute("CREATE TABLE bench_history (centers int, days int, per_day int, tickets bigint, "
                     "ratings bigint, seconds real, first_day date, last_day date, schema text)")
        conn.execute("INSERT INTO bench_history VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                     [centers, days, per_day, tickets, ratings, seconds, the_days[0], the_days[-1],
                      schema_fingerprint()])
    found = loaded(dsn)
    assert found is not None
    return found


def database_size(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    return str(row[0]) if row else "?"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", type=Path, default=None,
                   help="the cluster's folder, kept between runs (var/city-bench, or var/city-bench-quick)")
    p.add_argument("--centers", type=int, default=110)
    p.add_argument("--days", type=int, default=85, help="working days of history before today")
    p.add_argument("--per-day", type=int, default=640, help="tickets per center per working day, on average")
    p.add_argument("--quick", action="store_true", help="20 centers, 10 days, in a database of its own")
    p.add_argument("--reload", action="store_true", help="load again even if the history is there")
    return p


def cluster_folder(args: argparse.Namespace) -> Path:
    """A quick run has a cluster of its own, so that it can run while the full history loads."""
    return args.folder or FOLDER.with_name(FOLDER.name + ("-quick" if args.quick else ""))


def prepare(args: argparse.Namespace, cluster: LocalCluster) -> tuple[str, dict, list[Center]]:
    """The database of the history the arguments ask for, loaded if it is not yet; its DSN, what
    was loaded and the centers."""
    if args.quick:
        args.centers, args.days = 20, 10
    dsn = cluster.dsn(DATABASE)
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
    found = loaded(dsn) if exists else None
    wanted = {"centers": args.centers, "days": args.days, "per_day": args.per_day, "schema": schema_fingerprint()}
    if args.reload or found is None or any(found[k] != v for k, v in wanted.items()):
        print(f"loading {args.centers} centers × {args.days} days × ~{args.per_day} tickets…", file=sys.stderr)
        dsn = new_database(cluster, DATABASE)
        found = load(dsn, args.centers, args.days, args.per_day)
    return dsn, found, make_centers(found["centers"])


def main() -> int:
    args = parser().parse_args()
    with KeptCluster(cluster_folder(args)) as cluster:
        dsn, found, _ = prepare(args, cluster)
        print(f"{found['tickets']} tickets and {found['ratings']} ratings of {found['centers']} centers, "
              f"{found['first_day']}..{found['last_day']}, loaded in {found['seconds']:.0f} s; "
              f"database {database_size(dsn)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
