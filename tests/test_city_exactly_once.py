"""Two hubs (two centers) and two city processes on one PostgreSQL database: every event of both
centers is in the city's log exactly once, through a hub killed and started again, a city
process stopped and started again (its hub sent to the other meanwhile, as a load balancer
does), replies lost after the city stored the batch, connections refused and cut mid-request."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from city.city import City
from city.hubs import Hubs
from mfc_edge import protocol
from tests.helpers.city import CityProcess, city_rows
from tests.helpers.faultproxy import FaultProxy
from tests.helpers.hubprocess import HubProcess, hub_today

CENTERS = {"strogino": "hub-a", "tushino": "hub-b"}


class LinkedHub:
    """A hub process for one center, its kiosk, and the proxy it reaches its city through."""

    def __init__(self, folder: Path, center: str, city_port: int):
        self.center, self.folder = center, folder
        self.process = HubProcess(folder).start()
        self.proxy = FaultProxy(("127.0.0.1", city_port)).start()
        code = self.process.enroll_code(center, "kiosk")
        reply = requests.post(f"{self.process.url}{protocol.ENROLL_PATH}",
                              json={"code": code, "device_id": f"kiosk-{center}"}, timeout=10)
        assert reply.status_code == 200, reply.text
        self.auth = {"Authorization": f"Bearer {reply.json()['token']}"}
        self.issued = 0

    def join(self, dsn: str) -> None:
        city = City(dsn, pool_size=1)
        try:
            code = Hubs(city).make_code(CENTERS[self.center], [self.center])
        finally:
            city.close()
        subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "join-city", "--data", str(self.folder),
                        "--city", self.proxy.url("http"), "--code", code, "--hub", CENTERS[self.center]],
                       check=True, capture_output=True, timeout=60)

    def issue(self, count: int) -> None:
        """`count` tickets from the center's kiosk, posted to its hub."""
        start = hub_today()
        events = []
        for _ in range(count):
            self.issued += 1
            moment = start + timedelta(seconds=self.issued)
            events.append(protocol.make_event(protocol.TICKET_ISSUED, self.center, f"kiosk-{self.center}", moment, {
                "ticket": uuid.uuid4().hex, "number": f"П{self.issued:03d}", "service": "passport-rf",
                "day": start.date().isoformat(), "priority": False, "issued_at": moment.isoformat(),
                "status_token": uuid.uuid4().hex}))
        reply = requests.post(f"{self.process.url}{protocol.EVENTS_PATH}", json={"events": events},
                              headers=self.auth, timeout=30)
        assert reply.status_code == 200 and all(r["status"] == "stored" for r in reply.json()["results"])

    def query(self, sql: str) -> list[Any]:
        with closing(sqlite3.connect(f"file:{self.folder / 'hub.sqlite'}?mode=ro", uri=True, timeout=30)) as db:
            return db.execute(sql).fetchall()

    def waiting(self) -> int:
        return int(self.query("SELECT count(*) FROM city_outbox")[0][0])

    def close(self) -> None:
        self.proxy.stop()
        self.process.stop()


@pytest.fixture
def city_pair(city_dsn: str) -> Iterator[tuple[CityProcess, CityProcess]]:
    with ExitStack() as stack:
        first = CityProcess(city_dsn).start()
        stack.callback(first.stop)
        second = CityProcess(city_dsn).start()
        stack.callback(second.stop)
        yield first, second


def stored_unanswered(hub: LinkedHub, dsn: str) -> set[str]:
    """Records the city has stored that the hub still waits to hear about."""
    unanswered = {row[0] for row in hub.query("SELECT id FROM city_outbox")}
    return unanswered & {r["id"] for r in city_rows(dsn, "SELECT id FROM log WHERE center = %s", [hub.center])}


def settle(hubs: list[LinkedHub], timeout: float = 150) -> None:
    """Until every hub's outbox is empty (the forwarders back off up to a minute after faults)."""
    deadline = time.monotonic() + timeout
    while any(h.waiting() for h in hubs):
        assert time.monotonic() < deadline, {h.center: h.waiting() for h in hubs}
        time.sleep(0.5)


@pytest.mark.slow
def test_every_event_of_two_centers_is_in_the_city_once(tmp_path, city_dsn, city_pair):
    first, second = city_pair
    hubs = {"strogino": LinkedHub(tmp_path / "a", "strogino", first.port),
            "tushino": LinkedHub(tmp_path / "b", "tushino", second.port)}
    a, b = hubs["strogino"], hubs["tushino"]
    try:
        for hub in hubs.values():
            hub.issue(15)  # before joining: sent as the hub's backlog
            hub.join(city_dsn)
            hub.issue(15)
        settle([a, b])

        # Replies lost after the city stored the batch; connections closed at once.
        a.proxy.set(close_after_bytes_down=1)
        b.proxy.set(drop=True)
        for hub in hubs.values():
            hub.proxy.cut_all()  # faults apply to new connections: the forwarders' kept ones go
        a.issue(20)
        b.issue(20)
        # A's city stores what it answers for; the hub, never told, will send it again.
        deadline = time.monotonic() + 60
        while not stored_unanswered(a, city_dsn):
            assert time.monotonic() < deadline, "hub A's forwarder never reached its city"
            time.sleep(0.2)
        assert a.waiting() and b.waiting()

        # Hub A crashes and starts again; city process 2 stops, its hub goes to process 1 meanwhile.
        a.process.kill()
        a.process.start()
        second.stop()
        b.proxy.upstream = ("127.0.0.1", first.port)
        b.proxy.reset()
        b.issue(20)
        second.start()
        a.proxy.upstream = ("127.0.0.1", second.port)
        a.proxy.reset()
        a.proxy.set(reset_after_bytes=600)  # connections cut in the middle of a request
        a.proxy.cut_all()
        a.issue(20)
        time.sleep(2)
        a.proxy.reset()
        a.proxy.cut_all()
        settle([a, b])

        for hub in hubs.values():
            events = {row[0] for row in hub.query("SELECT id FROM events")}
            logged = city_rows(city_dsn, "SELECT id, type FROM log WHERE center = %s", [hub.center])
            assert len(events) == hub.issued == 70
            assert sorted(r["id"] for r in logged if r["type"] in protocol.EVENT_TYPES) == sorted(events)
            tickets = dict(hub.query("SELECT id, state FROM tickets"))
            city_tickets = {r["id"]: r["state"] for r in city_rows(
                city_dsn, "SELECT id, state FROM tickets WHERE center = %s", [hub.center])}
            assert city_tickets == tickets
            assert hub.query("SELECT count(*) FROM city_rejected") == [(0,)]
        contacts = city_rows(city_dsn, "SELECT id, last_seq FROM hubs ORDER BY id")
        assert [c["id"] for c in contacts] == ["hub-a", "hub-b"] and all(c["last_seq"] > 0 for c in contacts)
    finally:
        for hub in hubs.values():
            hub.close()
