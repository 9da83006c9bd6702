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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1, help="weekdays the hub is cut off")
    parser.add_argument("--scale", type=int, default=2, help="times the weekday's visitors and windows")
    parser.add_argument("--quick", action="store_true", help="a center of the weekday's size, in its own cluster")
    parser.add_argument("--write", action="store_true", help="replace this benchmark's section of RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.scale = 1
    last = datetime.now(UTC).date() - timedelta(days=1)
    days = []
    while len(days) < args.days:
        if last.weekday() < 5:
            days.insert(0, last)
        last -= timedelta(days=1)
    with KeptCluster(FOLDER.with_name(FOLDER.name + ("-quick" if args.quick else ""))) as cluster, \
            tempfile.TemporaryDirectory(prefix="mfc-catchup-") as hub_folder:
        dsn = fresh_database(cluster, "city_catchup")
        port = free_port()
        day = cut_off_day(Path(hub_folder), dsn, port, days, args.scale)
        print(f"{day['visitors']} visitors simulated in {day['simulated_s']:.0f} s: {day['records']} records "
              f"waiting {day['kinds']}", file=sys.stderr)
        took = catch_up(Path(hub_folder), dsn, port, day["last_seq"], limit_s=600)
        with psycopg.connect(dsn) as conn:
            stored = conn.execute("SELECT count(*) FROM log WHERE hub = %s", [HUB]).fetchone()
    rate = day["records"] / took["at_city_s"] if took["at_city_s"] else float("inf")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(day["kinds"].items(), key=lambda kv: -kv[1]))
    table = ("| figure | value |\n| --- | --- |\n"
             f"| visitors in the day cut off | {day['visitors']} |\n"
             f"| records in the outbox | {day['records']} ({kinds}) |\n"
             f"| hub ready → the city has the day | {took['at_city_s']:.1f} s |\n"
             f"| hub ready → the outbox empty | {took['emptied_s']:.1f} s |\n"
             f"| records/s | {rate:.0f} |\n"
             f"| rows of the hub in the city's log | {stored[0] if stored else 0} |")
    print(table)
    if args.write:
        write_section(HEADING, (
            f"{HEADING}\n\n"
            f"Command: `.venv/bin/python benchmarks/city_catchup_bench.py --days {args.days} --scale {args.scale} "
            "--write`  \n"
            f"Machine: {platform.machine()}, {os.cpu_count()} cores shared by the hub process, one city process, "
            f"PostgreSQL (fsync on) and other work (load average {load_average()} at the end); Python "
            f"{platform.python_version()}; {datetime.now(UTC).date().isoformat()}.\n\n"
            f"The day: {', '.join(d.isoformat() for d in days)}, hub/day_profiles.py's weekday with {args.scale}× its "
            "visitors and windows, replayed by hub/simulator.py through the hub's queue while the city was "
            "away. The hub's forwarder sends batches of up to 1,000 records one after another.\n\n"
            + table + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
