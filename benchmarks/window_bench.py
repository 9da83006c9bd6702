"""Window hardware benchmarks: button press to the rating's event stored in the outbox, and
button press to the rating shown by the hub. Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/window_bench.py [--presses 1000] [--shown 50]

Presses are gpiozero MockFactory edges; everything after the edge is the real code path:
debounce, rating console, the device's SQLite outbox (synchronous=FULL), the sync agent
over HTTP to a real hub process on 127.0.0.1, the hub's ingest, and its console API.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import requests  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402
from results import percentile, write_section  # noqa: E402

from hardware.clock import SystemClock  # noqa: E402
from mfc_edge.config import load_config  # noqa: E402
from offline_cache.enrollment import enroll  # noqa: E402
from tests.helpers.hubprocess import HubProcess  # noqa: E402
from tests.helpers.window import PASSWORD, write_console_config  # noqa: E402
from window_device.wiring import open_window_device  # noqa: E402

SECTION = "## Window hardware"


def press(factory: MockFactory, pin: int) -> float:
    """Press and release; the seconds from the edge to the event committed to the outbox."""
    start = time.perf_counter()
    factory.pin(pin).drive_low()  # the rating is recorded inside this call, on the edge's thread
    elapsed = time.perf_counter() - start
    time.sleep(0.035)  # past the debounce window
    factory.pin(pin).drive_high()
    time.sleep(0.035)
    return elapsed


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, p99 {percentile(values, 0.99) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=1000)
    parser.add_argument("--shown", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="window-bench-"))
    with HubProcess(folder / "hub") as hub:
        subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "add-operator", "--data", str(hub.data_dir),
                        "--center", "strogino", "--login", "bench", "--name", "Bench"], input=PASSWORD + "\n",
                       text=True, check=True, capture_output=True)
        device = load_config(write_console_config(folder, hub.url))
        code = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "enroll-code", "--data", str(hub.data_dir),
                               "--center", "strogino", "--role", "console", "--window", device.console.window],
                              capture_output=True, text=True, check=True).stdout.strip()
        enroll(device, code)  # bound to its window, as a technician enrolls a console
        operator = requests.Session()
        operator.post(f"{hub.url}/console/api/sign-in", timeout=10,
                      json={"center": "strogino", "login": "bench", "password": PASSWORD}).raise_for_status()

        factory = MockFactory()
        window_device = open_window_device(device, SystemClock(), pin_factory=factory)
        console = window_device.console
        console.rating.cooldown_s = 0  # every press a new visitor: the benchmark measures the path
        pins = device.console.rating.buttons
        try:
            to_outbox = [press(factory, pins[i % len(pins)]) for i in range(args.presses)]
            shown = []
            for i in range(args.shown):
                before = operator.get(f"{hub.url}/console/api/ratings", timeout=10).json()["total"]["count"]
                start = time.perf_counter()
                factory.pin(pins[i % len(pins)]).drive_low()
                while operator.get(f"{hub.url}/console/api/ratings", timeout=10).json()["total"]["count"] == before:
                    time.sleep(0.005)
                shown.append(time.perf_counter() - start)
                factory.pin(pins[i % len(pins)]).drive_high()
                time.sleep(0.035)
        finally:
            window_device.close()

    section = (
        f"{SECTION}\n\n"
        f"`.venv/bin/python benchmarks/window_bench.py --presses {args.presses} --shown {args.shown}`, "
        f"{time.strftime('%Y-%m-%d')}. Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; gpiozero MockFactory pins, a real hub process on 127.0.0.1.\n\n"
        "| measure | goal | result |\n| --- | --- | --- |\n"
        f"| button press → rating event committed to the outbox (SQLite, synchronous=FULL), {args.presses} presses "
        f"| p99 ≤ 20 ms | {ms(to_outbox)} |\n"
        f"| button press → rating returned by the hub's console API (sync agent woken by the press), "
        f"{args.shown} presses | ≤ 2 s | {ms(shown)}, max {max(shown) * 1000:.0f} ms |\n\n"
        "The operator console page asks the hub every second, so a rating is on screen at most a second after the "
        "hub has it.\n")
    write_section(SECTION, section)
    print(section)


if __name__ == "__main__":
    main()
