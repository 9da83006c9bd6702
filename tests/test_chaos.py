"""Chaos: three kiosks issue thousands of tickets while the network misbehaves and the hub
is killed and restarted. At the end the hub holds every ticket exactly once, in order."""
from __future__ import annotations

import random
import threading
import time

import pytest
import requests

from hardware.clock import ManualClock
from hub.db import HubDB
from kiosk.tickets import TicketStore
from offline_cache.hub_client import HubClient
from offline_cache.sync import SyncAgent
from tests.helpers.day import MSK
from tests.helpers.faultproxy import FaultProxy
from tests.helpers.hubprocess import HubProcess, hub_today

pytestmark = pytest.mark.slow  # thousands of tickets through the fault proxy, the hub killed

KIOSKS = 3
TICKETS_PER_KIOSK = 1000
LETTERS = "АБВГДЕЖИКЛ"
MIN_ROUNDS = 6


def test_every_ticket_reaches_the_hub_exactly_once_in_order(tmp_path):
    rng = random.Random(42)
    hub = HubProcess(tmp_path / "hub").start()
    proxy = FaultProxy(upstream=("127.0.0.1", hub.port)).start()
    stores, agents = [], []
    try:
        for k in range(KIOSKS):
            token = requests.post(f"{hub.url}/api/v1/enroll", timeout=10,
                                  json={"code": hub.enroll_code(), "device_id": f"kiosk-{k}"}).json()["token"]
            store = TicketStore(tmp_path / f"kiosk-{k}.sqlite", center_id="strogino", device_id=f"kiosk-{k}",
                               timezone=MSK, ticket_range=(333 * k + 1, 333 * k + 333),
                               clock=ManualClock(hub_today(8).replace(second=k)))
            stores.append(store)
            agents.append(SyncAgent(store, HubClient(proxy.url("http"), token), batch_size=100, timeout=2, idle_poll=0.1,
                                    backoff_base=0.02, backoff_cap=0.3, rng=random.Random(k)).start())

        def issue(store: TicketStore, k: int) -> None:
            for i in range(TICKETS_PER_KIOSK):
                store.clock.advance(seconds=3)  # kiosks interleave in time
                store.issue_ticket(service_id="passport-rf", letter=LETTERS[i % len(LETTERS)], priority=False)
                if i % 25 == 0:
                    time.sleep(0.02)

        issuers = [threading.Thread(target=issue, args=(s, k)) for k, s in enumerate(stores)]
        for t in issuers:
            t.start()
        faults = [dict(latency=0.05), dict(reset_after_bytes=4000), dict(drop=True), dict(half_open=True),
                  dict(bandwidth=100_000), dict(refuse=True), dict(latency=0.2, bandwidth=300_000)]
        restarted, rounds, failures_seen = False, 0, 0
        # At least MIN_ROUNDS of faults whatever the machine's speed: once the kiosks have issued
        # everything, their outboxes still drain through the faults.
        while rounds < MIN_ROUNDS or any(t.is_alive() for t in issuers):
            rounds += 1
            fault = rng.choice(faults)
            proxy.set(**fault)
            time.sleep(rng.uniform(0.2, 0.6))
            failures_seen += sum(a.failures for a in agents)
            proxy.reset()
            if rng.random() < 0.3:
                proxy.cut_all()
            if rounds == 3:
                hub.kill()  # mid-traffic, like a power cut of the back office
                time.sleep(0.3)
                hub.start()
                restarted = True
            time.sleep(rng.uniform(0.1, 0.3))
        proxy.reset()
        assert restarted
        assert failures_seen > 0, "the faults never made a sync fail: the test proved nothing"
        deadline = time.monotonic() + 120
        while any(s.outbox_size() for s in stores) and time.monotonic() < deadline:
            for agent in agents:
                agent.wake()
            time.sleep(0.2)
        assert all(s.outbox_size() == 0 for s in stores), "outboxes did not drain after the faults ended"
    finally:
        for agent in agents:
            agent.stop()
        proxy.stop()
        hub.stop()

    issued = sorted((t for s in stores for t in s.tickets()), key=lambda t: t.issued_at)
    db = HubDB(tmp_path / "hub")
    try:
        held = list(db.db.query("SELECT id, number, issued_at FROM tickets ORDER BY issued_at, id"))
        events = db.db["events"].count
    finally:
        db.close()
    assert len(issued) == KIOSKS * TICKETS_PER_KIOSK
    assert [h["id"] for h in held] == [t.id for t in issued]  # each once, ordered by time of issue
    assert events == len(issued)  # one ticket.issued event each, stored once through every retry
    assert all(not s.rejected_events() for s in stores)
    for s in stores:
        s.close()
