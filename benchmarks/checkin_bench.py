"""Check-in at the kiosk: how long a visitor waits between the code (typed or scanned) and the
answer. Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/checkin_bench.py [--bookings 700] [--runs 300]

- The rules (kiosk/checkin.py) against a copy of `--bookings` bookings (a large center's day and
  tomorrow morning): a code found, and an unknown code, which also looks for the one code it
  most likely was (every code of the day folded and compared).
- The copy parsed from the hub's answer (once per new answer, not per visitor).
- The whole screen path, offscreen at 1280x800: a scan (6 keys and Enter through Kivy's window)
  to the answer laid out and drawn, and a booked ticket taken from there (recorded in the
  kiosk's SQLite file with synchronous=FULL, the receipt laid out; printing is asynchronous).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")

from results import percentile, write_section  # noqa: E402

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 10:00 in Moscow


def wire_bookings(count: int) -> dict:
    """A day of `count` bookings from 08:00, 5 a quarter of an hour, codes like «KD-4821»."""
    items = []
    for i in range(count):
        start = NOW - timedelta(hours=2) + timedelta(minutes=15 * (i // 5))
        items.append({"id": f"portal-{i}", "code": f"{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}-{1000 + i}",
                      "service": "passport-rf", "slot_start": start.isoformat(),
                      "slot_end": (start + timedelta(minutes=15)).isoformat(), "initial": "",
                      "state": "active", "checked_in": False})
    return {"center": "strogino", "day": "2026-11-23", "bookings": items}


def timed(action, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    return (f"| {name} | {statistics.median(times):.3f} | {percentile(times, 0.95):.3f} | "
            f"{min(times):.3f}–{max(times):.3f} | {len(times)} |")


def screen_path(runs: int) -> tuple[list[float], list[float]]:
    from hardware.display import prepare_kivy

    prepare_kivy(headless=True)
    from kivy.core.window import Window

    from hardware.clock import ManualClock
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config
    from offline_cache.bookings import BookingBook, parse_bookings
    from tests.helpers.devices import write_config

    clock = ManualClock(NOW)
    scans, tickets = [], []
    with tempfile.TemporaryDirectory() as folder:
        device = load_config(write_config(Path(folder)))  # no printer listening: printing fails aside
        kiosk = open_kiosk(device, clock, connect=False)
        data = wire_bookings(runs)
        for item in data["bookings"]:  # every slot on time now, each code checked in once
            item["slot_start"] = NOW.isoformat()
            item["slot_end"] = (NOW + timedelta(minutes=15)).isoformat()
        book = BookingBook.of(parse_bookings(data))
        app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, bookings=book)
        keys = [0.0]
        app.checkin.monotonic = lambda: keys[0]
        with HeadlessKiosk(app, (1280, 800)) as k:
            for item in data["bookings"]:
                start = time.perf_counter()
                for char in item["code"]:
                    keys[0] += 0.01
                    Window.dispatch("on_textinput", char)
                keys[0] += 0.01
                Window.dispatch("on_key_down", 13, 40, None, [])
                k.frames(1)
                scans.append((time.perf_counter() - start) * 1000)
                assert k.screen == "booking-outcome"
                start = time.perf_counter()
                k.tap("take-booked")
                tickets.append((time.perf_counter() - start) * 1000)
                assert k.screen == "result"
                app.go_home()
                k.frames(1)
        kiosk.close()
    return scans, tickets


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=700)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    from kiosk.checkin import UNKNOWN, check_in
    from offline_cache.bookings import BookingBook, parse_bookings

    data = wire_bookings(args.bookings)
    parse = timed(lambda: parse_bookings(data), 20)
    book = BookingBook.of(parse_bookings(data))
    codes = [b.code for b in book.bookings()]
    found = timed(lambda: check_in(codes[len(codes) // 2], book, set(), NOW), args.runs)
    assert check_in("ZZ-0000", book, set(), NOW).kind == UNKNOWN
    unknown = timed(lambda: check_in("ZZ-0000", book, set(), NOW), args.runs)
    scans, tickets = screen_path(min(args.runs, 100))

    section = f"""## Check-in at the kiosk (kiosk/checkin.py, kiosk/booking_screens.py)

Command: `.venv/bin/python benchmarks/checkin_bench.py --bookings {args.bookings} --runs {args.runs}`
Machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()} (2 cores shared with other
work while it ran); {datetime.now(UTC).date().isoformat()}.

A copy of {args.bookings} bookings (a large center's day and tomorrow morning). The screen path runs
offscreen at 1280x800 on the real kiosk screens: a scan is 6–7 keys and Enter dispatched through
Kivy's window, timed to the answer laid out and one frame drawn; the ticket is the tap on
«Получить талон по записи» to the ticket's screen, three frames drawn (the ticket and its event
written durably, the receipt and the QR code made; the print runs aside: here to no printer).

| step | median ms | p95 ms | range ms | runs |
| --- | --- | --- | --- | --- |
{row("rules: a code found", found)}
{row("rules: an unknown code, with the look for a likely one", unknown)}
{row(f"the copy parsed from the hub's answer ({args.bookings} bookings)", parse)}
{row("screen: scan → the answer shown", scans)}
{row("screen: «Получить талон по записи» → the ticket shown", tickets)}

The rules and the copy cost well under a frame; what the visitor waits for is the screen's
layout and the ticket's durable write.
"""
    write_section("## Check-in at the kiosk", section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
