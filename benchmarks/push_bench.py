"""A call on the console → a screen's FeedPoller has it: the push (a long poll of the feed)
against the plain 3 s ETag poll, in the same run. Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/push_bench.py [--calls 40] [--screens 10]

A real hub process (`mfc-edge hub`) on 127.0.0.1 with a line waiting. `--screens` screens keep
the feed by the push (FeedPoller, its plain poll set to a minute so that it cannot help), and
one more by the plain poll every 3 s (FeedPoller with the push off), as screens did before.
An operator on the console's API finishes the visitor at window 5 and calls the next, one
call every 0.2-0.8 s (random); a sample is the time from just before the call-next POST to
the screen's poller holding a feed whose calls include it (its on_change, on its thread).
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import percentile, write_section  # noqa: E402

from hub.api import Hub  # noqa: E402
from hub.db import iso  # noqa: E402
from offline_cache.feed import FeedPoller  # noqa: E402
from offline_cache.hub_client import HubClient  # noqa: E402
from tests.helpers.hubprocess import HubProcess  # noqa: E402

SECTION = "## Call on the console → a screen has it: push against the 3 s poll (issue 18)"
CENTER, WINDOW, SERVICE = "strogino", "5", "passport-rf"
PASSWORD = "correct horse 42"
GOAL_P99_S = 0.5


def prepare(data: Path, tickets: int, screens: int) -> list[str]:
    """The hub's file before it starts: an operator, a line for one service today, and the
    screens' device tokens."""
    hub = Hub(data)
    try:
        hub.operators.add(CENTER, "ivanova", "Иванова Мария", PASSWORD, "operator")
        today = hub.centers.today(CENTER)[0]
        first = hub.db.now() - timedelta(hours=1)
        with hub.db.transaction() as d:
            d["tickets"].insert_all({"id": f"t{n}", "center": CENTER, "device": "kiosk-1", "number": f"П{n:03d}",
                                     "service": SERVICE, "day": today, "priority": 0,
                                     "issued_at": iso(first + timedelta(seconds=n)),
                                     "status_token": f"bench-{n:05d}-abcdefghijklmnop", "state": "waiting"}
                                    for n in range(1, tickets + 1))
            hub.db.bump_feed(d, CENTER)
        return [hub.identity.enroll(hub.identity.create_code(CENTER, "signage"), f"screen-{i}")[1]
                for i in range(screens)]
    finally:
        hub.close()


class Screen:
    """A screen's feed: when each call was first seen in it."""

    def __init__(self, url: str, token: str, push: bool):
        self.seen: dict[str, float] = {}
        self.changed = threading.Condition()
        self.poller = FeedPoller(HubClient(url, token), interval=60.0 if push else 3.0, push=push,
                                 on_change=self._on_change)

    def _on_change(self, feed: dict[str, Any]) -> None:
        now = time.monotonic()
        with self.changed:
            for call in feed["calls"]:
                self.seen.setdefault(call["number"], now)
            self.changed.notify_all()

    def wait_for(self, number: str, timeout: float) -> float | None:
        with self.changed:
            self.changed.wait_for(lambda: number in self.seen, timeout)
            return self.seen.get(number)


def figures(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "p99": percentile(samples, 0.99), "max": max(samples),
            "min": min(samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--screens", type=int, default=10)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pushed: list[float] = []
    polled: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "hub"
        tokens = prepare(data, args.calls + 1, args.screens + 1)
        with HubProcess(data) as hub:
            session = requests.Session()
            session.trust_env = False
            session.post(f"{hub.url}/console/api/sign-in", timeout=10,
                         json={"center": CENTER, "login": "ivanova", "password": PASSWORD}).raise_for_status()
            session.post(f"{hub.url}/console/api/open-window", json={"window": WINDOW, "services": [SERVICE]},
                         timeout=10).raise_for_status()
            screens = [Screen(hub.url, token, push=True) for token in tokens[:-1]]
            plain = Screen(hub.url, tokens[-1], push=False)
            for screen in [*screens, plain]:
                screen.poller.start()
            time.sleep(2.0)  # every screen has its first feed; the pushed ones wait on the hub
            try:
                for _ in range(args.calls):
                    time.sleep(rng.uniform(0.2, 0.8))
                    start = time.monotonic()
                    reply = session.post(f"{hub.url}/console/api/call-next", json={"window": WINDOW}, timeout=10)
                    reply.raise_for_status()
                    number = reply.json()["ticket"]["number"]
                    for screen in screens:
                        at = screen.wait_for(number, 10)
                        if at is None:
                            raise SystemExit(f"a pushed screen never saw {number}")
                        pushed.append(at - start)
                    at = plain.wait_for(number, 10)
                    if at is None:
                        raise SystemExit(f"the polling screen never saw {number}")
                    polled.append(at - start)
                    for action in ("start", "finish"):
                        session.post(f"{hub.url}/console/api/{action}", json={"window": WINDOW},
                                     timeout=10).raise_for_status()
            finally:
                for screen in [*screens, plain]:
                    screen.poller.stop()
    push, poll = figures(pushed), figures(polled)
    rows = "\n".join(f"| {name} | {push[name] * 1000:.0f} ms | {poll[name] * 1000:.0f} ms |"
                     for name in ("median", "p99", "max", "min"))
    met = push["p99"] <= GOAL_P99_S
    section = "\n".join([
        SECTION, "",
        f"`.venv/bin/python benchmarks/push_bench.py --calls {args.calls} --screens {args.screens}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} (shared with "
        "other work while it ran); a real hub process on 127.0.0.1 (HTTP, no TLS). "
        f"{args.screens} screens keep the feed by the push (FeedPoller's long poll of `/api/v1/feed?wait=25`, "
        "its plain poll set to a minute), one more by the plain ETag poll every 3 s, as before. The operator calls "
        "the next visitor on the console's API at random moments (0.2-0.8 s apart); a sample is the time from just "
        "before the call-next POST to the screen's poller holding a feed with the call in it.", "",
        "| figure | call → a pushed screen's feed has it | call → the 3 s polling screen's feed has it |",
        "| --- | --- | --- |", rows, "",
        f"{len(pushed)} push samples ({args.calls} calls × {args.screens} screens), {len(polled)} polling samples.",
        "",
        f"**Goal p99 ≤ {GOAL_P99_S * 1000:.0f} ms (call → the screen's feed): {'met' if met else 'NOT met'}** — the "
        "hub looks at the center's feed version every 0.2 s for all waiting devices at once (hub/feed_watch.py) and "
        "answers them as soon as it has moved.", "",
        "Not measured here: the screen's highlight drawn by a real SignageApp and the announcement's start "
        "(signage/announcer.py) after the feed arrives; HTTPS; a reverse proxy between screens and hub.", ""])
    write_section(SECTION, section)
    print(section)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
