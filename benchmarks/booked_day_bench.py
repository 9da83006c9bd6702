"""A simulated day of one center with booked visitors and walk-ins, through the real queue
(hub/queue.py, hub/queue_order.py): the share of booked visitors called within 5 minutes of
their slot (goal ≥ 95 %) and of walk-ins within 15 minutes of their ticket (goal ≥ 96 %).
Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/booked_day_bench.py [--days 10] [--seed 17] [--windows 10,11]

The center, 08:00–20:00: 10 windows. Windows 1–4 serve the passport and the international
passport, 5–8 the other services, 9 and 10 everything. Booked slots: each of the windows
1–4 takes one booked visit per 20 minutes of passport or international passport from 09:00
to 19:00 (4 × 30 slots), 90 % of them come, between 25 minutes before and 10 minutes after
the slot. Walk-ins: Poisson arrivals, 48 an hour at the morning and evening peaks
(10–12, 17–19), 34 otherwise, a third for the passports. Visits last 4 to 30 minutes,
lognormal, median 9. Each day is run twice on the same visitors: with the slot rule, and with
booked visitors treated as walk-ins checking in (the queue before issue 17), for comparison.
The hub's clock is a hand-set one moved from event to event (tests/helpers/booked_day.py).
"""
from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import write_section  # noqa: E402

from hardware.clock import ManualClock  # noqa: E402
from hub.centers import Centers  # noqa: E402
from hub.db import HubDB  # noqa: E402
from hub.queue import Queue  # noqa: E402
from hub.queue_order import BOOKED_NORM, WALK_IN_NORM  # noqa: E402
from tests.helpers.booked_day import Day, Visitor, Window, clear, simulate  # noqa: E402
from tests.helpers.day import TEST_DAY, at  # noqa: E402

PASSPORTS = ("passport-rf", "international-passport")
OTHERS = ("adult-snils", "child-snils", "registration", "inn")
WINDOWS = ([Window(str(n), PASSPORTS) for n in range(1, 5)] + [Window(str(n), OTHERS) for n in range(5, 9)]
           + [Window(str(n), PASSPORTS + OTHERS) for n in (9, 10)])
BOOKED_WINDOWS, SLOT_EVERY = 4, timedelta(minutes=20)
PEAKS = ((10, 12), (17, 19))
PEAK_RATE, RATE = 48, 34  # walk-ins an hour


def visit_minutes(rng: random.Random) -> float:
    return min(30.0, max(4.0, rng.lognormvariate(math.log(9), 0.45)))


def one_day(rng: random.Random) -> list[Visitor]:
    people: list[Visitor] = []
    slot = at(9)
    while slot < at(19):
        for _ in range(BOOKED_WINDOWS):
            if rng.random() < 0.9:  # a tenth of bookings are no-shows
                arrives = slot + timedelta(minutes=rng.uniform(-25, 10))
                people.append(Visitor(f"B{len(people):04d}", rng.choice(PASSPORTS), arrives, visit_minutes(rng), slot))
        slot += SLOT_EVERY
    moment = at(8)
    while True:
        hour = moment.hour
        rate = PEAK_RATE if any(start <= hour < end for start, end in PEAKS) else RATE
        moment += timedelta(hours=rng.expovariate(rate))
        if moment >= at(19, 45):
            break
        service = rng.choice(PASSPORTS) if rng.random() < 1 / 3 else rng.choice(OTHERS)
        people.append(Visitor(f"W{len(people):04d}", service, moment, visit_minutes(rng),
                              priority=rng.random() < 0.05))
    return people


def shares(day: Day, people: list[Visitor]) -> tuple[float, float, float]:
    """Booked called within 5 minutes of their slot (or late check-in), walk-ins within 15, the
    walk-ins' longest wait in minutes."""
    called = day.called_at()
    booked = [v for v in people if v.slot]
    walk_ins = [v for v in people if not v.slot]

    def due(v: Visitor) -> datetime:
        assert v.slot is not None
        return max(v.slot, v.arrives)

    on_time = sum(called[v.name] <= due(v) + BOOKED_NORM for v in booked) / len(booked)
    waits = [(called[v.name] - v.arrives) for v in walk_ins]
    return on_time, sum(w <= WALK_IN_NORM for w in waits) / len(waits), max(waits).total_seconds() / 60


def windows(count: int) -> list[Window]:
    """The center's 10 windows, and more serving every service (a busier day's extra staff)."""
    return WINDOWS + [Window(str(n), PASSPORTS + OTHERS) for n in range(11, count + 1)]


Figures = tuple[float, float, float]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--windows", default="10,11", help="staffing levels to run each day with, e.g. 10,11")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    args = parser.parse_args()
    levels = [int(n) for n in args.windows.split(",")]
    rng = random.Random(args.seed)
    days = [one_day(rng) for _ in range(args.days)]
    results: dict[tuple[int, str], list[Figures]] = {}
    elapsed: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(at(8))
        db = HubDB(Path(folder), clock=clock)
        queue = Queue(db, Centers(db))
        for n, people in enumerate(days):
            for level in levels:
                for mode in ("rule", "walk-in"):
                    # The queue before issue 17: a booked visitor is a walk-in from their check-in.
                    run = people if mode == "rule" else [replace(v, slot=None) for v in people]
                    clear(queue)
                    started = time.perf_counter()
                    day = simulate(queue, clock, run, windows(level), TEST_DAY.isoformat())
                    elapsed.append(time.perf_counter() - started)
                    results.setdefault((level, mode), []).append(shares(day, people))
                rule, plain = results[level, "rule"][-1], results[level, "walk-in"][-1]
                print(f"day {n + 1}, {level} windows: with the rule {rule[0]:.1%} / {rule[1]:.1%}; "
                      f"as walk-ins {plain[0]:.1%} / {plain[1]:.1%}", flush=True)
        db.close()
    counts = [(sum(1 for v in people if v.slot), sum(1 for v in people if not v.slot)) for people in days]
    write(args, levels, results, counts, elapsed)


def figure(values: list[float], percent: bool = True) -> str:
    show = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{v:.0f} min")
    return f"{show(statistics.median(values))} (range {show(min(values))}–{show(max(values))})"


def write(args: argparse.Namespace, levels: list[int], results: dict[tuple[int, str], list[Figures]],
          counts: list[tuple[int, int]], elapsed: list[float]) -> None:
    booked, walk_ins = (statistics.median(c[k] for c in counts) for k in (0, 1))
    rows = []
    for level in levels:
        rule, plain = results[level, "rule"], results[level, "walk-in"]
        for k, what in ((0, "booked called within 5 min of slot (or late check-in), goal ≥ 95 %"),
                        (1, "walk-ins called within 15 min, goal ≥ 96 %"), (2, "walk-ins' longest wait")):
            rows.append(f"| {level} | {what} | {figure([r[k] for r in rule], k < 2)} | "
                        f"{figure([r[k] for r in plain], k < 2)} |")
    table = "\n".join(rows)
    command = f"benchmarks/booked_day_bench.py --days {args.days} --seed {args.seed} --windows {args.windows}"
    section = f"""## A simulated day with booked visits (issue 17)

Command: `.venv/bin/python {command}`
Machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}; {datetime.now():%Y-%m-%d}.

One center 08:00–20:00, 10 windows: 1–4 the passport and the international passport, 5–8 the
other four services, 9–10 all (an 11th, when run with 11, all too). Booked: one slot per 20
minutes at each of 4 windows, 09:00–19:00 (120 slots), 90 % come, 25 minutes early to 10 late.
Walk-ins: Poisson, {PEAK_RATE} an hour 10–12 and 17–19, {RATE} otherwise, a third for the
passports, 5 % priority. Visits 4–30 min, lognormal, median 9. Per day: {booked:.0f} booked
visitors, {walk_ins:.0f} walk-ins (medians over the {args.days} days; each staffing level runs
the same days). Every call is `Queue.call_next` on the hub's SQLite file
(tests/helpers/booked_day.py); a day of calls took {statistics.median(elapsed):.1f} s (median).
The same visitors run again with the booked ones as plain walk-ins from their check-in, the
queue before issue 17.

| windows | {args.days} days, median (range) | slot rule (hub/queue_order.py) | booked as walk-ins |
| --- | --- | --- | --- |
{table}
"""
    print(section)
    if not args.no_write:
        write_section("## A simulated day with booked visits", section)


if __name__ == "__main__":
    main()
