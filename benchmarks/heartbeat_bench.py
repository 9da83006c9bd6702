"""Heartbeat cost on the hub: 1,000 devices beating once a minute, with time compressed.
Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/heartbeat_bench.py [--devices 1000] [--seconds 15] [--rounds 5] [--real-rounds 1]

A real hub process (`mfc-edge hub`) on 127.0.0.1 with `--devices` enrolled devices. Each round
sends one beat per device (a minute of real beating), spread evenly over `--seconds` (then
`--real-rounds` over 60 s, the real rate), from 32 client threads with a session each, and reads
the hub process's CPU time before and after; an idle stretch of the same length before it (the
hub's own alert sweep every 15 s included) is measured too and taken off. Response times are
from the client's side, over loopback.
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


def measure(hub: HubProcess, tokens: dict[str, str], seconds: float) -> dict[str, float]:
    """One round: an idle stretch of `seconds`, then one beat per device spread over `seconds`."""
    assert hub.proc is not None
    process = psutil.Process(hub.proc.pid)
    idle_from = cpu_seconds(process)
    time.sleep(seconds)
    idle = cpu_seconds(process) - idle_from
    busy_from, began = cpu_seconds(process), time.monotonic()
    latencies = beat_round(hub.url, tokens, seconds)
    wall = time.monotonic() - began
    busy = cpu_seconds(process) - busy_from
    # CPU for one minute of real beating: the beats themselves, plus a minute of the idle hub.
    beats_cpu = max(0.0, busy - idle * wall / seconds)
    found = {"beats_cpu": beats_cpu, "idle_per_min": idle * 60 / seconds,
             "share": (beats_cpu + idle * 60 / seconds) / 60 * 100, "p50": percentile(latencies, 0.5),
             "p99": percentile(latencies, 0.99), "max": max(latencies), "load": os.getloadavg()[0]}
    print(f"{len(tokens)} beats in {wall:.1f} s: hub CPU {beats_cpu:.2f} s for the beats, idle "
          f"{found['idle_per_min']:.2f} s/min; share of one core per real minute {found['share']:.2f} %; p50 "
          f"{found['p50']:.1f} ms, p99 {found['p99']:.1f} ms; load average {found['load']:.1f}", flush=True)
    return found


ROWS = (("beats_cpu", "hub CPU for the beats of one real minute, idle hub taken off", "{:.2f} s"),
        ("idle_per_min", "idle hub (alert sweep every 15 s), per minute", "{:.2f} s"),
        ("share", "share of one core, per real minute of beating", "{:.2f} %"),
        ("p50", "response time p50", "{:.1f} ms"), ("p99", "response time p99", "{:.1f} ms"),
        ("max", "response time max", "{:.1f} ms"), ("load", "machine's load average (1 min) after the round", "{:.1f}"))


def table(compressed: list[dict[str, float]], real: list[dict[str, float]], seconds: float) -> str:
    def median(rounds: list[dict[str, float]], key: str, form: str) -> str:
        return form.format(statistics.median(r[key] for r in rounds)) if rounds else "—"

    lines = [f"| figure | spread over {seconds:g} s, median | spread over 60 s (real time), median | "
             f"rounds over {seconds:g} s |", "| --- | --- | --- | --- |"]
    for key, name, form in ROWS:
        lines.append(f"| {name} | {median(compressed, key, form)} | {median(real, key, form)} | "
                     + ", ".join(form.split(' ')[0].format(r[key]) for r in compressed) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15.0, help="one minute of beating is sent in this time")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--real-rounds", type=int, default=1, help="rounds at the real rate, spread over 60 s")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heartbeat-bench-") as folder:
        data = Path(folder) / "hub"
        tokens = enroll(data, args.devices)
        with HubProcess(data) as hub:
            compressed = [measure(hub, tokens, args.seconds) for _ in range(args.rounds)]
            real = [measure(hub, tokens, 60.0) for _ in range(args.real_rounds)]
        sweeps = sweep_ms(data)
    section = (
        f"{SECTION}\n\n"
        f"`.venv/bin/python benchmarks/heartbeat_bench.py --devices {args.devices} --seconds {args.seconds:g} "
        f"--rounds {args.rounds} --real-rounds {args.real_rounds}`  \n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; a real hub "
        f"process on 127.0.0.1 (HTTP, no TLS), {args.devices} enrolled devices. A round sends one beat per device "
        f"(a minute of real beating) spread evenly over {args.seconds:g} s ({60 / args.seconds:g} times the real "
        f"rate) or over 60 s, from {CLIENTS} client threads in the benchmark's process, after an idle stretch as "
        "long whose CPU is taken off. Response times are the client's, over loopback.\n\n"
        f"{table(compressed, real, args.seconds)}\n\n"
        f"One alert sweep over the {args.devices} devices (hub/alerts.py, on the same file in the benchmark's "
        f"process, after the rounds): median {statistics.median(sweeps):.0f} ms, max {max(sweeps):.0f} ms of "
        f"{len(sweeps)}; the hub runs one every 15 s on a worker thread.\n\n"
        "Not measured: HTTPS (a center's hub serves HTTPS; devices keep their connection open, so the handshake is "
        "not paid per beat), a Raspberry Pi as the hub, beats arriving together with event batches.\n")
    print(section)
    if not args.no_write:
        write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
