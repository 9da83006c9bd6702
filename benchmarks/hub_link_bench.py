"""What the link to the city costs a hub, and how fast a hub's backlog reaches the city.

    .venv/bin/python benchmarks/hub_link_bench.py [--events 2000] [--pairs 5] [--backlog 10000]

1. Ingest with and without the link: a real hub process (`mfc-edge hub`) takes ticket events
   from two senders at once (benchmarks/hub_bench.py), in rounds that alternate between its
   center not linked and linked (the outbox triggers of hub/city_outbox.py on; nothing is sent,
   so the outbox grows as it does while the city is out of reach). Rates and the hub's CPU per
   event, median of the rounds, and linked against unlinked.
2. Catch-up: a linked hub takes `--backlog` ticket events while its city is out of reach, then
   its forwarder (hub/city_forwarder.py) drains the outbox into a real city (a private
   PostgreSQL, the city's API on 127.0.0.1): records a second.

Prints its figures; benchmarks/RESULTS.md is written by hand from them.
"""
from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import psycopg  # noqa: E402
from hub_bench import HubProcess, Numbering, enroll, rounds_of_ingest  # noqa: E402

from city.city import City  # noqa: E402
from city.db import migrate  # noqa: E402
from city.hubs import Hubs  # noqa: E402
from city.local_cluster import LocalCluster  # noqa: E402
from city.server import CityThread  # noqa: E402
from hub.city_forwarder import CityForwarder  # noqa: E402
from hub.hub import Hub  # noqa: E402
from tests.helpers.faultproxy import FaultProxy  # noqa: E402

CENTER = "bench"  # hub_bench's center


def linked(hub: HubProcess, on: bool) -> None:
    """The center linked or not, as far as the triggers go: they fire for centers in city_centers."""
    with closing(sqlite3.connect(hub.data_dir / "hub.sqlite", timeout=30)) as db:
        db.execute("INSERT OR IGNORE INTO city_centers VALUES (?)" if on else "DELETE FROM city_centers WHERE "
                   "center = ?", [CENTER])
        db.commit()


def trigger_cost(work: Path, events: int, pairs: int) -> list[str]:
    with HubProcess(work / "hub-ingest") as hub:
        tokens = {device: enroll(hub, device) for device in ("load-1", "load-2")}
        numbering = {device: Numbering(1 + 333 * n) for n, device in enumerate(tokens)}
        rounds_of_ingest(hub, tokens, numbering, events, 1)  # warm-up
        off, on = [], []
        for _ in range(pairs):  # alternated: the machine's speed drifts from one minute to the next
            linked(hub, False)
            off += rounds_of_ingest(hub, tokens, numbering, events, 1)
            linked(hub, True)
            on += rounds_of_ingest(hub, tokens, numbering, events, 1)
    rate = {name: statistics.median(r for r, _ in rounds) for name, rounds in (("off", off), ("on", on))}
    cpu = {name: statistics.median(c for _, c in rounds) for name, rounds in (("off", off), ("on", on))}

    def line(name: str, rounds: list[tuple[float, float]]) -> str:
        rates = [r for r, _ in rounds]
        return (f"{name}: median {rate['on' if name == 'linked' else 'off']:,.0f} events/s ({min(rates):,.0f}–"
                f"{max(rates):,.0f}), {cpu['on' if name == 'linked' else 'off']:.0f} µs of hub CPU per event")

    return [f"ingest, {pairs} rounds each of {events} ticket events:", line("unlinked", off), line("linked", on),
            f"linked/unlinked: rate ×{rate['on'] / rate['off']:.2f}, CPU per event ×{cpu['on'] / cpu['off']:.2f}"]


def catch_up(work: Path, events: int) -> list[str]:
    cluster = LocalCluster(work / "postgres").start()
    try:
        dsn = cluster.create_database("city")
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        city = City(dsn, pool_size=4)
        try:
            with CityThread(city) as server:
                host, port = server.url.removeprefix("http://").split(":")
                with FaultProxy((host, int(port))) as proxy:
                    with HubProcess(work / "hub-backlog") as hub:
                        tokens = {device: enroll(hub, device) for device in ("load-1", "load-2")}
                        code = Hubs(city).make_code("hub-bench", [CENTER])
                        subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "join-city", "--data",
                                        str(hub.data_dir), "--city", proxy.url("http"), "--code", code, "--hub",
                                        "hub-bench"], check=True, capture_output=True)
                        proxy.set(refuse=True)
                        proxy.cut_all()
                        numbering = {device: Numbering(1 + 333 * n) for n, device in enumerate(tokens)}
                        rounds_of_ingest(hub, tokens, numbering, events, 1)
                    proxy.reset()
                    backlog = Hub(work / "hub-backlog")
                    waiting, size = backlog.db.db.execute(
                        "SELECT count(*), sum(length(body)) FROM city_outbox").fetchone()
                    forwarder = CityForwarder(backlog.db, work / "hub-backlog")
                    began = time.perf_counter()
                    answered = forwarder.drain()
                    took = time.perf_counter() - began
                    refused = backlog.db.db.execute("SELECT count(*) FROM city_rejected").fetchone()[0]
                    forwarder.stop()
                    backlog.close()
        finally:
            city.close()
    finally:
        cluster.stop()
    return [f"catch-up: {waiting:,} records waiting ({size / 2**20:.1f} MB of bodies), answered for in {took:.1f} s: "
            f"{answered / took:,.0f} records/s ({refused:,} of them refused by the city)"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000, help="ticket events per round of ingest")
    parser.add_argument("--pairs", type=int, default=5, help="rounds unlinked and linked, alternated")
    parser.add_argument("--backlog", type=int, default=10_000, help="ticket events waiting for the city")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mfc-hub-link-bench-"))
    try:
        lines = trigger_cost(work, args.events, args.pairs) + catch_up(work, args.backlog)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
