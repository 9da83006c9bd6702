"""Heartbeat cost on the hub: 1,000 devices beating once a minute, with time compressed.
Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/heartbeat_bench.py [--devices 1000] [--seconds 15] [--rounds 5]

A real hub process (`mfc-edge hub`) on 127.0.0.1 with `--devices` enrolled devices. Each round
sends one beat per device (a minute of real beating), spread evenly over `--seconds`, from 32
client threads with a session each, and reads the hub process's CPU time before and after; an
idle stretch of the same length before it (the hub's own alert sweep every 15 s included) is
measured too and taken off. Response times are from the client's side, over loopback.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import percentile, write_section  # noqa: E402

from hub.api import Hub  # noqa: E402
from mfc_edge import protocol  # noqa: E402
from tests.helpers.hubprocess import HubProcess  # noqa: E402

SECTION = "## Heartbeat cost on the hub (issue 14)"
CENTER = "bench"
CLIENTS = 32


def beat(device: str) -> dict:
    """A kiosk's beat as offline_cache/heartbeat.py sends one from a Pi."""
    return {"center": CENTER, "device": device, "version": "0.1.0", "every_s": 60.0,
            "sent_at": "2026-11-23T07:00:00.000000+00:00", "uptime_s": 86400.5, "system_uptime_s": 90000.0,
            "outbox": 0, "disk": {"free_bytes": 20_000_000_000, "total_bytes": 31_000_000_000},
            "cpu_temp_c": 51.6, "throttling": {"raw": "0x0", "now": [], "since_boot": []},
            "clock_offset_s": 0.012, "printer": "ok",
            "display": {"connector": "HDMI-A-1", "status": "connected", "power": "On"}}


def enroll(data: Path, count: int) -> dict[str, str]:
    """device id -> token, enrolled in the hub's file before it starts."""
    hub = Hub(data)
    try:
        return {f"kiosk-{n:04d}": hub.identity.enroll(hub.identity.create_code(CENTER, "kiosk"), f"kiosk-{n:04d}")[1]
                for n in range(count)}
    finally:
        hub.close()


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def beat_round(url: str, tokens: dict[str, str], seconds: float) -> list[float]:
    """One beat per device, spread over `seconds`; each response time in ms (all must be 200)."""
    local = threading.local()
    start = time.monotonic() + 0.2
    step = seconds / len(tokens)

    def send(item: tuple[int, tuple[str, str]]) -> float:
        n, (device, token) = item
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = False
        time.sleep(max(0.0, start + n * step - time.monotonic()))
        began = time.perf_counter()
        reply = session.post(url + protocol.HEARTBEAT_PATH, json=beat(device),
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
        took = (time.perf_counter() - began) * 1000
        if reply.status_code != 200:
            raise RuntimeError(f"{device}: {reply.status_code} {reply.text[:200]}")
        return took

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(send, enumerate(tokens.items())))


def sweep_ms(data: Path, rounds: int = 5) -> list[float]:
    """The alert sweep over every device (hub/alerts.py), in this process on the same file."""
    hub = Hub(data)
    try:
        timings = []
        for _ in range(rounds):
            began = time.perf_counter()
            hub.alerts.sweep()
            timings.append((time.perf_counter() - began) * 1000)
        return timings
    finally:
        hub.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15.0, help="one minute of beating is sent in this time")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heartbeat-bench-") as folder:
        data = Path(folder) / "hub"
        tokens = enroll(data, args.devices)
        rounds = []
        with HubProcess(data) as hub:
            assert hub.proc is not None
            process = psutil.Process(hub.proc.pid)
            for number in range(args.rounds):
                idle_from = cpu_seconds(process)
                time.sleep(args.seconds)
                idle = cpu_seconds(process) - idle_from
                busy_from, began = cpu_seconds(process), time.monotonic()
                latencies = beat_round(hub.url, tokens, args.seconds)
                wall = time.monotonic() - began
                busy = cpu_seconds(process) - busy_from
                # CPU for one minute of real beating: the beats themselves, plus a minute of the idle hub.
                beats_cpu = max(0.0, busy - idle * wall / args.seconds)
                share = (beats_cpu + idle * 60 / args.seconds) / 60 * 100
                rounds.append({"beats_cpu": beats_cpu, "idle_per_min": idle * 60 / args.seconds, "share": share,
                               "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
                               "max": max(latencies), "wall": wall})
                print(f"round {number + 1}: {args.devices} beats in {wall:.1f} s: hub CPU {beats_cpu:.2f} s for the "
                      f"beats, idle {idle * 60 / args.seconds:.2f} s/min; share of one core per real minute "
                      f"{share:.2f} %; p50 {rounds[-1]['p50']:.1f} ms, p99 {rounds[-1]['p99']:.1f} ms", flush=True)
        sweeps = sweep_ms(data)
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    section = (
        f"{SECTION}\n\n"
        f"`.venv/bin/python benchmarks/heartbeat_bench.py --devices {args.devices} --seconds {args.seconds:g} "
        f"--rounds {args.rounds}`  \n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; a real hub "
        f"process on 127.0.0.1 (HTTP, no TLS), {args.devices} enrolled devices; each round sends one beat per device "
        f"(one minute of real beating) spread over {args.seconds:g} s from {CLIENTS} client threads.\n\n"
        "| figure | median of rounds | rounds |\n| --- | --- | --- |\n"
        f"| hub CPU for {args.devices} beats (one real minute), idle hub taken off | {median['beats_cpu']:.2f} s | "
        + ", ".join(f"{r['beats_cpu']:.2f}" for r in rounds) + " |\n"
        f"| idle hub with {args.devices} devices (alert sweep every 15 s), per minute | "
        f"{median['idle_per_min']:.2f} s | " + ", ".join(f"{r['idle_per_min']:.2f}" for r in rounds) + " |\n"
        f"| share of one core, per real minute of beating | {median['share']:.2f} % | "
        + ", ".join(f"{r['share']:.2f}" for r in rounds) + " |\n"
        f"| response time p50 | {median['p50']:.1f} ms | " + ", ".join(f"{r['p50']:.1f}" for r in rounds) + " |\n"
        f"| response time p99 | {median['p99']:.1f} ms | " + ", ".join(f"{r['p99']:.1f}" for r in rounds) + " |\n"
        f"| response time max | {median['max']:.1f} ms | " + ", ".join(f"{r['max']:.1f}" for r in rounds) + " |\n\n"
        f"One alert sweep over the {args.devices} devices (hub/alerts.py, on the same file in the benchmark's "
        f"process, after the rounds): median {statistics.median(sweeps):.0f} ms, max {max(sweeps):.0f} ms of "
        f"{len(sweeps)}; the hub runs one every 15 s on a worker thread.\n\n"
        f"Time is compressed {60 / args.seconds:g}-fold: response times here are under a load "
        f"{60 / args.seconds:g} times the real one, so they are an upper bound. Not measured: HTTPS (a center's "
        "hub serves HTTPS; TLS adds its handshake per new connection, and devices keep theirs open), a Raspberry "
        "Pi as the hub, beats arriving together with event batches.\n")
    print(section)
    if not args.no_write:
        write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
