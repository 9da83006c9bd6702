"""A hub cut off from its city for a full day catches up: how long its outbox takes to drain.

    python benchmarks/city_catchup_bench.py [--days 1] [--scale 2] [--quick] [--write]

A real hub folder joins a city (`hub/city_link.join`, the city's one-time code) while the city
runs; then the city goes away, and a busy center's day is replayed through the hub's own queue
by hub/simulator.py: the weekday of hub/day_profiles.py with `scale` times its visitors and
windows (2: ~820 visitors at 20 windows, a busy center of the city), each ticket issued by the
kiosk's event, called, served or missed at a window, with the windows' openings, pauses and
lunches. Everything it changes lands in the hub's city outbox (hub/city_outbox.py's triggers).
Then the city comes back and the hub is started as a real process (`mfc-edge hub`), whose
forwarder (hub/city_forwarder.py) sends the outbox in seq order in batches of up to 1,000
records; the time runs from the hub answering its health check to the city's `last_seq` for
the hub reaching the last record of the day, and then to the outbox found empty.
The city process, PostgreSQL (fsync on) and the hub share the machine's cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.city_data import FOLDER, KeptCluster  # noqa: E402
from benchmarks.city_ingest_bench import CityProcess, fresh_database, load_average  # noqa: E402
from benchmarks.results import write_section  # noqa: E402
from city.local_cluster import free_port  # noqa: E402
from tests.helpers.hubprocess import HubProcess  # noqa: E402

HEADING = "## City tier (issue 19): a hub cut off for a day catches up"
HUB = "hub-sim"


def busy_profile(scale: int) -> Any:
    from hub.day_profiles import WEEKDAY

    windows = tuple(dataclasses.replace(w, name=str(int(w.name) + 10 * copy))
                    for copy in range(scale) for w in WEEKDAY.windows)
    return dataclasses.replace(WEEKDAY, name=f"busy×{scale}", windows=windows,
                               arrivals={h: r * scale for h, r in WEEKDAY.arrivals.items()})


def cut_off_day(folder: Path, city_dsn: str, port: int, days: list[date], scale: int) -> dict[str, Any]:
    """Join the hub in `folder` to a city on `city_dsn`, then replay `days` with the city gone;
    what the outbox holds."""
    from city.city import City
    from city.hubs import Hubs
    from hub import city_link
    from hub.simulator import CENTER, DaySimulator

    simulator = DaySimulator(seed=19, folder=folder)
    try:
        city = City(city_dsn, pool_size=1)
        try:
            code = Hubs(city).make_code(HUB, [CENTER])
        finally:
            city.close()
        server = CityProcess(city_dsn, port)
        try:
            city_link.join(simulator.hub.db, folder, server.url, code, HUB)
        finally:
            server.stop()  # the link is cut: nothing below reaches the city until the hub runs again
        began = time.perf_counter()
        visitors = sum(simulator.day(day, busy_profile(scale)).visitors for day in days)
        simulated = time.perf_counter() - began
        db = simulator.hub.db.db
        kinds = dict(db.execute("SELECT type, count(*) FROM city_outbox GROUP BY type").fetchall())
        top = db.execute("SELECT max(seq), count(*) FROM city_outbox").fetchone()
    finally:
        simulator.close()
    return {"visitors": visitors, "simulated_s": simulated, "kinds": kinds, "last_seq": int(top[0]),
            "records": int(top[1])}


def outbox_left(folder: Path) -> int:
    with sqlite3.connect(f"file:{folder / 'hub.sqlite'}?mode=ro", uri=True, timeout=10) as conn:
        return int(conn.execute("SELECT count(*) FROM city_outbox").fetchone()[0])


def city_seq(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT last_seq FROM hubs WHERE id = %s", [HUB]).fetchone()
    return int(row[0]) if row else 0


def catch_up(folder: Path, city_dsn: str, port: int, target_seq: int, limit_s: float) -> dict[str, float]:
    """Start the city (at the address the hub joined) and the hub; seconds until the city has
    every record up to `target_seq`, and until the hub's outbox is empty."""
    server = CityProcess(city_dsn, port)
    try:
        with HubProcess(folder):
            ready = time.perf_counter()
            at_city = emptied = None
            while time.perf_counter() - ready < limit_s:
                now = time.perf_counter()
                if at_city is None and city_seq(city_dsn) >= target_seq:
                    at_city = now - ready
                if at_city is not None and outbox_left(folder) == 0:
                    emptied = now - ready
                    break
                time.sleep(0.05)
    finally:
        server.stop()
    if at_city is None or emptied is None:
        raise RuntimeError(f"the hub did not catch up within {limit_s:.0f} s")
    return {"at_city_s": at_city, "emptied_s": emptied}


def weekdays_before(today: date, count: int) -> list[date]:
    days: list[date] = []
    day = today - timedelta(days=1)
    while len(days) < count:
        if day.weekday() < 5:
            days.insert(0, day)
        day -= timedelta(days=1)
    return days


def scenario(cluster: KeptCluster, days: list[date], scale: int) -> dict[str, Any]:
    """One hub cut off for `days`, then caught up; the figures."""
    with tempfile.TemporaryDirectory(prefix="mfc-catchup-") as hub_folder:
        dsn = fresh_database(cluster, "city_catchup")
        port = free_port()
        day = cut_off_day(Path(hub_folder), dsn, port, days, scale)
        print(f"{day['visitors']} visitors simulated in {day['simulated_s']:.0f} s: {day['records']} records "
              f"waiting {day['kinds']}", file=sys.stderr)
        took = catch_up(Path(hub_folder), dsn, port, day["last_seq"], limit_s=600)
        with psycopg.connect(dsn) as conn:
            stored = conn.execute("SELECT count(*) FROM log WHERE hub = %s AND seq <= %s",
                                  [HUB, day["last_seq"]]).fetchone()
            later = dict(conn.execute("SELECT type, count(*) FROM log WHERE hub = %s AND seq > %s GROUP BY type",
                                      [HUB, day["last_seq"]]).fetchall())
    return {**day, **took, "days": len(days), "stored": int(stored[0]) if stored else 0, "later": later,
            "rate": day["records"] / took["at_city_s"] if took["at_city_s"] else float("inf")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, action="append",
                        help="weekdays the hub is cut off (repeat for more runs; default 1 and 5)")
    parser.add_argument("--scale", type=int, default=2, help="times the weekday's visitors and windows")
    parser.add_argument("--quick", action="store_true", help="one day of a center of the weekday's size")
    parser.add_argument("--write", action="store_true", help="replace this benchmark's section of RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.scale, args.days = 1, args.days or [1]
    args.days = args.days or [1, 5]
    today = datetime.now(UTC).date()
    with KeptCluster(FOLDER.with_name(FOLDER.name + ("-quick" if args.quick else "-ingest"))) as cluster:
        runs = [scenario(cluster, weekdays_before(today, n), args.scale) for n in args.days]
    lines = ["| cut off for | visitors | records in the outbox | hub ready → the city has them | "
             "hub ready → outbox empty | records/s | of them in the city's log | made by the hub after its start |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items(), key=lambda kv: -kv[1]))
        lines.append(f"| {r['days']} weekday{'s' if r['days'] > 1 else ''} | {r['visitors']} | {r['records']} "
                     f"({kinds}) | {r['at_city_s']:.1f} s | {r['emptied_s']:.1f} s | {r['rate']:.0f} | {r['stored']} "
                     f"| {', '.join(f'{k} {v}' for k, v in r['later'].items()) or '–'} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_section(HEADING, (
            f"{HEADING}\n\n"
            "Command: `.venv/bin/python benchmarks/city_catchup_bench.py "
            + " ".join(f"--days {n}" for n in args.days) + f" --scale {args.scale} --write`  \n"
            f"Machine: {platform.machine()}, {os.cpu_count()} cores shared by the hub process, one city process, "
            f"PostgreSQL (fsync on) and other work (load average {load_average()} at the end); Python "
            f"{platform.python_version()}; {today.isoformat()}.\n\n"
            f"Each weekday cut off is hub/day_profiles.py's weekday with {args.scale}× its visitors and windows, "
            "replayed by hub/simulator.py through the hub's queue while the city was away (the last weekdays "
            "before the run). The hub's forwarder then sends batches of up to 1,000 records one after "
            "another. \"Made by the hub after its start\": records the serving hub wrote once it ran again "
            "(its devices judged online or not), sent after the day's. The simulator's kiosk sends "
            "ticket.issued only: a real day also has its screens' slide.played, the kiosk's ticket.printed "
            "and the consoles' ratings: about 1.7 times the records with city_ingest_bench.py's mix.\n\n"
            + table + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
