"""The feed read while two hubs post to two city processes at once: the reader, going on from
each reply's `next`, ends with every event exactly once and each ticket's in its hub's order,
however the ingest transactions interleave and commit."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from city.city import City
from city.hubs import Hubs
from city.integration import IntegrationTokens, Scope
from city.server import CityThread
from mfc_edge.city_protocol import CITY_LOG_PATH, FEED_PATH, HUB_TICKET

T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
TICKETS, PER_BATCH = 60, 7  # per hub; a batch holds the snapshots of a few tickets
STATES = ("waiting", "called", "serving", "done")


def snapshots(center: str) -> list[dict[str, Any]]:
    """Every ticket of the center through its visit, in the hub's order (tickets overlap)."""
    records: list[dict[str, Any]] = []
    for step in range(TICKETS + len(STATES) - 1):
        for n in range(TICKETS):
            k = step - n
            if 0 <= k < len(STATES):
                at = (T0 + timedelta(minutes=step)).isoformat()
                body = {"ticket": f"{center}-{n:03}", "number": f"А{n:03}", "service": "passport",
                        "day": "2026-11-26", "priority": 0, "state": STATES[k], "issued_at": T0.isoformat(),
                        "first_called_at": at if k else None, "called_at": at if k else None,
                        "started_at": at if k >= 2 else None, "finished_at": at if k == 3 else None,
                        "window": "1" if k else "", "operator": "", "walk_in": False, "estimate_minutes": None,
                        "replaces": None}
                records.append({"id": f"{center}-r{len(records)}", "seq": len(records) + 1, "center": center,
                                "type": HUB_TICKET, "device": "", "at": at, "body": body})
    return records


@pytest.fixture
def two_processes(city_dsn: str) -> Iterator[list[str]]:
    cities = [City(city_dsn, pool_size=4) for _ in range(2)]
    servers = [CityThread(c).start() for c in cities]
    try:
        yield [s.url for s in servers]
    finally:
        for s in servers:
            s.stop()
        for c in cities:
            c.close()


@pytest.mark.slow
def test_a_reader_during_concurrent_ingest_sees_every_event_once_in_order(city_dsn: str,
                                                                         two_processes: list[str]) -> None:
    city = City(city_dsn, pool_size=2)
    try:
        hubs = Hubs(city)
        tokens = {c: hubs.enroll(hubs.make_code(f"hub-{c}", [c]), f"hub-{c}").token for c in ("c1", "c2")}
        _, feed_token = IntegrationTokens(city).issue("АИС МФЦ", Scope())
    finally:
        city.close()
    failures: list[str] = []

    def hub(center: str) -> None:
        records = snapshots(center)
        with requests.Session() as session:
            for i in range(0, len(records), PER_BATCH):
                url = two_processes[(i // PER_BATCH) % 2] + CITY_LOG_PATH  # as a load balancer would
                reply = session.post(url, json={"records": records[i:i + PER_BATCH]}, timeout=30,
                                     headers={"Authorization": f"Bearer {tokens[center]}"})
                if reply.status_code != 200 or any(r["status"] != "stored" for r in reply.json()["results"]):
                    failures.append(reply.text[:300])

    posting = [threading.Thread(target=hub, args=(c,)) for c in ("c1", "c2")]
    for t in posting:
        t.start()
    events: list[dict[str, Any]] = []
    cursor = None
    with requests.Session() as reader:
        while True:
            done = not any(t.is_alive() for t in posting)  # judged before the read: a last full read follows
            params: dict[str, Any] = {"limit": 25, **({"after": cursor} if cursor else {})}
            page = reader.get(two_processes[len(events) % 2] + FEED_PATH, params=params, timeout=30,
                              headers={"Authorization": f"Bearer {feed_token}"}).json()
            events += page["events"]
            cursor = page["next"]
            if done and not page["more"]:
                break
    for t in posting:
        t.join()

    assert failures == []
    assert len({e["cursor"] for e in events}) == len(events)
    by_ticket: dict[str, list[str]] = {}
    for e in events:
        by_ticket.setdefault(e["ticket"], []).append(e["type"])
    assert len(by_ticket) == 2 * TICKETS
    assert set(map(tuple, by_ticket.values())) == {
        ("ticket.issued", "ticket.called", "ticket.started", "ticket.served")}
