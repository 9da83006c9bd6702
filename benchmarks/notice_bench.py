"""Urgent notice posted on the console → known to the center's kiosks and screens (goal: p99 ≤ 5 s).
Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/notice_bench.py [--devices 30] [--posts 30]

A real hub process (`mfc-edge hub`) on 127.0.0.1; `--devices` enrolled devices, kiosks and
screens in turn, each with the NoticeBoard it runs (offline_cache/notices.py: a poll every 2 s
with an ETag, on its own thread). A supervisor posts a notice through the console's API (the
request Chromium sends for «Опубликовать»); the time from just before the POST to the moment
each board's `current()` lists it is one sample. The notice is then withdrawn and the next one
posted after a random pause, so posts fall anywhere in the boards' poll cycles. A kiosk's and
a screen's Kivy screens ask their board every second: what a visitor sees comes at most 1 s
after the board has it, added as such below.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import percentile, write_section  # noqa: E402

from hub.api import Hub  # noqa: E402
from offline_cache.hub_client import HubClient  # noqa: E402
from offline_cache.notices import POLL_EVERY_S, NoticeBoard  # noqa: E402
from tests.helpers.hubprocess import HubProcess  # noqa: E402

SECTION = "## Urgent notice posted → on kiosks and screens (issue 16)"
CENTER = "bench"
PASSWORD = "correct horse 42"
DISPLAY_TICK_S = 1.0  # the kiosk's and the screen's notice banner look at the board every second
GIVE_UP_S = 30.0


def prepare(data: Path, count: int) -> dict[str, str]:
    """A supervisor, and `count` devices (device id -> token), kiosks and screens in turn."""
    hub = Hub(data)
    try:
        hub.operators.add(CENTER, "chief", "Главный", PASSWORD, "supervisor")
        tokens = {}
        for n in range(count):
            role = "kiosk" if n % 2 == 0 else "signage"
            device = f"{role}-{n:03d}"
            tokens[device] = hub.identity.enroll(hub.identity.create_code(CENTER, role), device)[1]
        return tokens
    finally:
        hub.close()


def one_post(console: requests.Session, url: str, boards: dict[str, NoticeBoard], n: int) -> list[float]:
    """Post notice `n`, wait until every board lists it, withdraw it; each board's delay in s."""
    seen: dict[str, float] = {}
    began = time.monotonic()
    reply = console.post(f"{url}/console/api/notices", timeout=10,
                         json={"text_ru": f"Срочное объявление № {n}", "expires_in_minutes": 30})
    if reply.status_code != 201:
        raise RuntimeError(f"posting failed: {reply.status_code} {reply.text[:200]}")
    notice = reply.json()["id"]
    while len(seen) < len(boards) and time.monotonic() - began < GIVE_UP_S:
        now = datetime.now(UTC)
        for device, board in boards.items():
            if device not in seen and any(x.id == notice for x in board.current(now)):
                seen[device] = time.monotonic() - began
        time.sleep(0.01)
    if len(seen) < len(boards):
        raise RuntimeError(f"notice {n}: {len(boards) - len(seen)} boards never showed it within {GIVE_UP_S:g} s")
    console.post(f"{url}/console/api/notices/{notice}/withdraw", timeout=10).raise_for_status()
    return list(seen.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=30)
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    random.seed(16)
    with tempfile.TemporaryDirectory(prefix="notice-bench-") as folder:
        data = Path(folder) / "hub"
        tokens = prepare(data, args.devices)
        with HubProcess(data) as hub:
            assert hub.proc is not None
            process = psutil.Process(hub.proc.pid)
            console = requests.Session()
            console.post(f"{hub.url}/console/api/sign-in", timeout=10,
                         json={"center": CENTER, "login": "chief", "password": PASSWORD}).raise_for_status()
            boards = {device: NoticeBoard.polling(HubClient(hub.url, token)).start()
                      for device, token in tokens.items()}
            try:
                time.sleep(POLL_EVERY_S * 2)  # every board has had its first answer
                cpu_from, wall_from = sum(process.cpu_times()[:2]), time.monotonic()
                delays, per_post = [], []
                for n in range(args.posts):
                    time.sleep(random.uniform(0, POLL_EVERY_S))
                    found = one_post(console, hub.url, boards, n)
                    delays += found
                    per_post.append(max(found))
                    print(f"notice {n}: every board within {max(found):.2f} s (median {statistics.median(found):.2f})",
                          flush=True)
                cpu_share = (sum(process.cpu_times()[:2]) - cpu_from) / (time.monotonic() - wall_from) * 100
            finally:
                for board in boards.values():
                    board.stop()
    p50, p99, worst = statistics.median(delays), percentile(delays, 0.99), max(delays)
    kiosks = sum(1 for d in tokens if d.startswith("kiosk"))
    section = (
        f"{SECTION}\n\n"
        f"`.venv/bin/python benchmarks/notice_bench.py --devices {args.devices} --posts {args.posts}`  \n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; a real hub "
        f"process on 127.0.0.1 (HTTP, no TLS); {kiosks} kiosks and {len(tokens) - kiosks} screens, each with its "
        f"NoticeBoard polling every {POLL_EVERY_S:g} s (ETag) on a thread of the benchmark's process. "
        f"{args.posts} notices posted through the console's API at random moments, each withdrawn once every "
        "board had it; a sample is the time from just before the POST to the board listing it.\n\n"
        "| figure | posted → board has it | posted → on the screen (board + the banner's 1 s tick, worst case) |\n"
        "| --- | --- | --- |\n"
        f"| median | {p50:.2f} s | {p50 + DISPLAY_TICK_S:.2f} s |\n"
        f"| p99 | {p99:.2f} s | {p99 + DISPLAY_TICK_S:.2f} s |\n"
        f"| max | {worst:.2f} s | {worst + DISPLAY_TICK_S:.2f} s |\n"
        f"| min | {min(delays):.2f} s | |\n\n"
        f"{len(delays)} samples ({args.posts} notices × {len(tokens)} boards); the slowest board per notice: median "
        f"{statistics.median(per_post):.2f} s, range {min(per_post):.2f}-{max(per_post):.2f} s. Hub process CPU "
        f"while {len(tokens)} devices polled and notices came and went: {cpu_share:.1f} % of one core.\n\n"
        f"**Goal p99 ≤ 5 s: {'met' if p99 + DISPLAY_TICK_S <= 5 else 'NOT met'}** — the delay is the poll "
        f"interval ({POLL_EVERY_S:g} s, so about {POLL_EVERY_S / 2:g} s on average) plus one request; "
        "the banner's tick adds up to 1 s. The Kivy screens themselves were not driven here: they read the "
        "same board every second.\n\n"
        "Not measured: HTTPS, a Raspberry Pi as the device (its poll is one small request every 2 s), "
        "a center's Wi-Fi.\n")
    print(section)
    if not args.no_write:
        write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
