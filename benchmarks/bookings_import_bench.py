"""Import of 10,000 bookings into the hub: through the integration API in batches, and from a
CSV file with `mfc-edge hub import-bookings`. Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bookings_import_bench.py [--bookings 10000] [--batch 1000] [--runs 5]

Each run starts from an empty data folder. API: a real hub process (`mfc-edge hub`) on
127.0.0.1, an integration token for the center, the bookings POSTed one batch after another
(the time from the first request to the last reply), then the same batches again (a replay:
every booking unchanged), then one kiosk's read of its center's day (GET /api/v1/bookings/today).
CSV: the same bookings in one file, the command's wall time (Python's start included) and the
file's size. The bookings are one center's, 500 a day over 20 days from today, 15-minute
slots, each with a code of its own.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import write_section  # noqa: E402

from hub.api import Hub  # noqa: E402
from mfc_edge.protocol import BOOKINGS_IMPORT_PATH, BOOKINGS_TODAY_PATH  # noqa: E402
from tests.helpers.hubprocess import HubProcess  # noqa: E402

CENTER = "strogino"
PER_DAY = 500
SERVICES = ("passport-rf", "property-rights")


def make_bookings(count: int) -> list[dict]:
    moscow = ZoneInfo("Europe/Moscow")
    first = datetime.now(moscow).replace(hour=8, minute=0, second=0, microsecond=0)
    bookings = []
    for i in range(count):
        day, nth = divmod(i, PER_DAY)
        start = first + timedelta(days=day, minutes=15 * (nth % 48))  # 48 slots from 08:00, ~10 people each
        bookings.append({"id": f"portal-{i:06d}", "center": CENTER, "code": f"Q{i:07d}",
                         "service": SERVICES[i % 2], "slot_start": start.isoformat(),
                         "slot_end": (start + timedelta(minutes=15)).isoformat(), "initial": "И", "version": 1})
    return bookings


def api_run(work: Path, bookings: list[dict], batch: int) -> tuple[float, float, float, int, int]:
    """Seconds to import, seconds to replay, seconds for a kiosk's read of its day, that answer's
    bytes and bookings."""
    hub = Hub(work / "hub")
    _, token = hub.integration_tokens.issue(CENTER, "benchmark")
    code = hub.identity.create_code(CENTER, "kiosk")
    hub.close()
    headers = {"Authorization": f"Bearer {token}"}
    batches = [bookings[i:i + batch] for i in range(0, len(bookings), batch)]
    with HubProcess(work / "hub") as process, requests.Session() as session:
        times = []
        for expected in ("created", "unchanged"):
            began = time.perf_counter()
            for items in batches:
                reply = session.post(f"{process.url}{BOOKINGS_IMPORT_PATH}", json={"bookings": items},
                                     headers=headers, timeout=120)
                assert reply.status_code == 200 and reply.json()[expected] == len(items), reply.text[:300]
            times.append(time.perf_counter() - began)
        device = session.post(f"{process.url}/api/v1/enroll", json={"code": code, "device_id": "kiosk-1"},
                              timeout=10).json()["token"]
        began = time.perf_counter()
        day = session.get(f"{process.url}{BOOKINGS_TODAY_PATH}", headers={"Authorization": f"Bearer {device}"},
                          timeout=30)
        read = time.perf_counter() - began
        assert day.status_code == 200
    return times[0], times[1], read, len(day.content), len(day.json()["bookings"])


def csv_run(work: Path, bookings: list[dict]) -> tuple[float, int]:
    path = work / "bookings.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "code", "service", "slot_start", "slot_end", "initial",
                                               "version"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(bookings)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "import-bookings", str(path), "--data",
                           str(work / "hub"), "--center", CENTER], capture_output=True, text=True)
    took = time.perf_counter() - began
    assert done.returncode == 0 and f"{len(bookings)} created" in done.stdout, done.stdout + done.stderr
    return took, path.stat().st_size


def figures(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (range {min(values):.2f}–{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bookings = make_bookings(args.bookings)
    imports, replays, reads, csvs = [], [], [], []
    size = day_bytes = day_count = 0
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            took, replay, read, day_bytes, day_count = api_run(Path(folder), bookings, args.batch)
            imports.append(took), replays.append(replay), reads.append(read)
        with tempfile.TemporaryDirectory() as folder:
            took, size = csv_run(Path(folder), bookings)
            csvs.append(took)
        print(f"run {run + 1}: API {imports[-1]:.2f} s, replay {replays[-1]:.2f} s, CSV {csvs[-1]:.2f} s", flush=True)
    rate = args.bookings / statistics.median(imports)
    command = (f"benchmarks/bookings_import_bench.py --bookings {args.bookings} --batch {args.batch} "
               f"--runs {args.runs}")
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}, "
               f"Python {platform.python_version()}, the machine shared with other work; {datetime.now().date()}")
    read = (f"{statistics.median(reads) * 1000:.0f} ms (range {min(reads) * 1000:.0f}–"
            f"{max(reads) * 1000:.0f})")
    section = f"""## Import of {args.bookings:,} bookings (issue 17)

Command: `.venv/bin/python {command}`
Machine: {machine}.

One center's bookings, {PER_DAY} a day over {args.bookings // PER_DAY} days, 15-minute slots, each with its own code;
each run on an empty data folder. API: a real hub process on 127.0.0.1 (HTTP), an integration
token for the center, {args.bookings // args.batch} POSTs of {args.batch} one after another; the replay posts the same
batches again (every booking unchanged). CSV: `mfc-edge hub import-bookings FILE --center {CENTER}`,
the command's wall time with Python's start ({size / 1e6:.1f} MB file).

| {args.runs} runs | median (range) |
| --- | --- |
| API, {args.bookings:,} new bookings | {figures(imports)} — {rate:,.0f} bookings/s |
| API, the same again (all unchanged) | {figures(replays)} |
| CSV file, {args.bookings:,} new bookings | {figures(csvs)} |
| a kiosk's read of today and tomorrow morning ({day_count} bookings, {day_bytes / 1000:.0f} kB) | {read} |

Each booking is validated (the center's catalog, its code against the center's other active
bookings) and stored in one transaction per batch. Not measured: HTTPS, a hub already holding
months of bookings, several systems posting at once (their batches take turns at the database).
"""
    write_section(f"## Import of {args.bookings:,} bookings", section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
