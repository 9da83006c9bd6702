"""How long a month's report takes on a year of one busy center (hub/reports.py).

    python benchmarks/report_bench.py [--tickets 250000] [--runs 15] [--write]

Fills a fresh hub data folder (in a temporary folder) with a year of service days of one
center: ~685 tickets a day spread over 10 services, 12 windows and 16 operators, each with the
history the queue writes (called, serving, done; some no-shows, transfers, holds and returns,
cancellations, expiries), booked visitors and walk-ins among them, a printed estimate on most, the
services of each finished visit with their outcomes (one in five visits with two), and a rating for
every third served ticket. Then times the monthly report (a busy month, 31 days) by service, by
window and by operator, and by service as a series of days: `runs` runs each, the first after the
file is opened included. Goal: ≤ 1 s. With --write its section of RESULTS.md is replaced.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.results import percentile, write_section  # noqa: E402
from hardware.clock import ManualClock  # noqa: E402
from hub.api import Hub  # noqa: E402
from hub.db import iso  # noqa: E402
from hub.reports import Reports  # noqa: E402

CENTER = "strogino"
FIRST_DAY = date(2025, 12, 1)
DAYS = 365
SERVICES = [f"service-{n}" for n in range(10)]
WINDOWS = [str(n) for n in range(1, 13)]
OPERATORS = [f"operator-{n}" for n in range(16)]
OUTCOMES = ("done", "done", "done", "documents_missing", "refused", "consultation")
MONTH = (date(2026, 3, 1), date(2026, 3, 31))


def fill(hub: Hub, tickets: int, seed: int = 18) -> int:
    rnd = random.Random(seed)
    per_day = tickets // DAYS
    rows, history, ratings, services = [], [], [], []
    hid = 0
    for day_n in range(DAYS):
        day = FIRST_DAY + timedelta(days=day_n)
        opens = datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)  # 08:00 in Moscow
        for n in range(per_day):
            tid = f"{day.isoformat()}-{n}"
            issued = opens + timedelta(seconds=rnd.uniform(0, 12 * 3600))
            booked = rnd.random() < 0.1
            slot = iso(issued + timedelta(minutes=rnd.uniform(-5, 15))) if booked else ""
            called = issued + timedelta(minutes=rnd.expovariate(1 / 6))
            started = called + timedelta(minutes=1)
            finished = started + timedelta(minutes=rnd.expovariate(1 / 9))
            window, operator, fate = rnd.choice(WINDOWS), rnd.choice(OPERATORS), rnd.random()
            steps: list[tuple[str, datetime, str | None]] = []
            row = {"id": tid, "center": CENTER, "device": "kiosk-1", "number": f"П{n:04d}",
                   "service": rnd.choice(SERVICES), "day": day.isoformat(), "priority": int(rnd.random() < 0.1),
                   "issued_at": iso(issued), "status_token": f"tok-{tid}", "state": "done", "called_at": iso(called),
                   "window": window, "started_at": iso(started), "finished_at": iso(finished), "booking": "",
                   "slot_at": slot, "operator": operator, "walk_in": 0,
                   "estimate_minutes": rnd.randint(0, 20) if rnd.random() < 0.9 else None}
            if booked:
                row["booking"] = "b-" + tid
            if fate < 0.02:
                row.update(state="expired", called_at=None, window=None, started_at=None, finished_at=None)
                steps = [("expired", opens + timedelta(hours=19), None)]
            elif fate < 0.04:
                row.update(state="cancelled", called_at=None, window=None, started_at=None, finished_at=iso(called))
                steps = [("cancelled", called, None)]
            elif fate < 0.08:
                row.update(state="no_show", started_at=None)
                steps = [("called", called, window), ("no_show", called + timedelta(minutes=3), window)]
            else:
                if fate < 0.12:  # transferred once, then served after a second wait
                    steps = [("called", called - timedelta(minutes=20), window),
                             ("transferred", called - timedelta(minutes=15), window),
                             ("waiting", called - timedelta(minutes=15), window)]
                elif fate < 0.15:  # sent to pay the fee, then called back to the same window
                    steps = [("called", called - timedelta(minutes=12), window),
                             ("held", called - timedelta(minutes=10), window)]
                elif fate < 0.18:  # a walk-in: served at once
                    row.update(walk_in=1, issued_at=iso(called), estimate_minutes=None)
                steps += [("called", called, window), ("serving", started, window), ("done", finished, window)]
                for service in {row["service"], *([rnd.choice(SERVICES)] if rnd.random() < 0.2 else [])}:
                    services.append({"ticket": tid, "center": CENTER, "service": service,
                                     "outcome": rnd.choice(OUTCOMES), "window": window, "operator": operator,
                                     "at": iso(finished)})
                if rnd.random() < 0.33:
                    ratings.append({"event": "r-" + tid, "center": CENTER, "device": "console", "window": window,
                                    "ticket": tid, "score": rnd.randint(1, 5), "scale": 5, "day": day.isoformat(),
                                    "at": iso(finished)})
            rows.append(row)
            for state, moment, at_window in steps:
                hid += 1
                history.append({"id": hid, "ticket": tid, "center": CENTER, "state": state, "at": iso(moment),
                                "window": at_window, "detail": "", "operator": operator if at_window else ""})
    with hub.db.transaction() as d:
        d["tickets"].insert_all(rows, batch_size=5000)
        d["ticket_history"].insert_all(history, batch_size=5000)
        d["ratings"].insert_all(ratings, batch_size=5000)
        d["visit_services"].insert_all(services, batch_size=5000)
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="replace this benchmark's section of RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        hub = Hub(Path(folder) / "hub", clock=ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC)))
        started = time.perf_counter()
        stored = fill(hub, args.tickets)
        print(f"{stored} tickets stored in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        hub.close()
        hub = Hub(Path(folder) / "hub", clock=ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC)))
        reports = Reports(hub.db, hub.centers)
        lines = []
        for by, every in (("service", None), ("window", None), ("operator", None), ("service", "day")):
            times = []
            for _ in range(args.runs):
                began = time.perf_counter()
                found = reports.report(CENTER, *MONTH, by, every)
                times.append(time.perf_counter() - began)
            lines.append(f"| monthly report by {by}{' every day' if every else ''} ({found['total']['issued']} "
                         "tickets) | "
                         f"{statistics.median(times) * 1000:.0f} | {percentile(times, 0.99) * 1000:.0f} | "
                         f"{min(times) * 1000:.0f}–{max(times) * 1000:.0f} | {args.runs} |")
        hub.close()
    table = "| report | median ms | p99 ms | range ms | runs |\n| --- | --- | --- | --- | --- |\n" + "\n".join(lines)
    print(table)
    if args.write:
        write_section("## Reports (hub/reports.py)", (
            "## Reports (hub/reports.py)\n\n"
            f"Command: `.venv/bin/python benchmarks/report_bench.py --tickets {args.tickets} --runs {args.runs} "
            "--write`\n"
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} "
            f"(shared with other work while it ran); {date.today().isoformat()}.\n\n"
            + textwrap.fill(
                f"A year of one center: {stored} tickets over {DAYS} service days, 10 services, 12 windows, "
                "16 operators, with the queue's history of each (some no-shows, transfers, holds and returns, "
                "cancellations, expiries), one in ten booked, 3 in 100 walk-ins, a printed estimate on 9 in 10, "
                "the outcomes of each finished visit's services (one in five with two services), a rating for a "
                "third of the served. The report is March's, 31 days, with every column (walk-ins, holds, "
                "outcomes, the estimates' error), timed from the query to the figures, the first run after the "
                "file is opened included. Goal: ≤ 1 s.", 100)
            + "\n\n" + table + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
