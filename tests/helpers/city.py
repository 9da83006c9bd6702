"""A real city and hubs linked to it, for tests that compare what the city shows with what a
hub holds: the city's API served from a thread on 127.0.0.1 over a fresh database of the test
cluster (tests/helpers/postgres.py), and an in-process center (tests/helpers/center.py) whose
hub joined it with a one-time code, as `mfc-edge hub join-city` does.

    def test_x(linked_center, city_server):
        some_tickets(linked_center)
        forward_now(linked_center.hub)     # the hub's outbox, drained into the city now
        ... compare city_server.city's figures with linked_center.hub's ...

The hub runs on the center's hand-set clock (`linked_center.advance(minutes=5)`); the city on
`city_clock`, a clock the test may set (`city_clock.now = ...`), by default the same moment.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from city.city import City
from city.hubs import Hubs
from city.server import CityThread
from hub import city_link
from hub.city_forwarder import CityForwarder
from hub.hub import Hub
from mfc_edge import protocol
from tests.helpers.center import CENTER, InProcessCenter
from tests.helpers.day import at
from tests.helpers.hubprocess import free_port


class CityClock:
    """The city's clock for tests: reads `now`, which the test sets."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def hub_folder(hub: Hub) -> Path:
    return hub.db.path.parent


def join(hub: Hub, city: City, url: str, hub_id: str, centers: list[str]) -> city_link.Link:
    """Link `hub` to the city at `url` for `centers`, with a code the city's office made."""
    code = Hubs(city).make_code(hub_id, centers)
    link, _ = city_link.join(hub.db, hub_folder(hub), url, code, hub_id)
    return link


def forward_now(hub: Hub) -> int:
    """Send the hub's whole outbox to its city now, in order; how many records the city answered
    for. Raises ForwardError when the city cannot take them. Not while the hub's own forwarder
    runs in this process (a hub process is a separate one: it may)."""
    forwarder = CityForwarder(hub.db, hub_folder(hub))
    try:
        return forwarder.drain()
    finally:
        forwarder.stop()


def city_rows(dsn: str, query: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows of the city's database, read directly (what the city stored, not what it shows)."""
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return list(conn.execute(query, params or []).fetchall())


@pytest.fixture
def city_clock() -> CityClock:
    return CityClock(at(10))


@pytest.fixture
def city_server(city_dsn: str, city_clock: CityClock) -> Iterator[CityThread]:
    """The city's API on 127.0.0.1 (`city_server.url`, `city_server.city`)."""
    city = City(city_dsn, city_clock, pool_size=4)
    server = CityThread(city).start()
    try:
        yield server
    finally:
        server.stop()
        city.close()


@pytest.fixture
def linked_center(tmp_path: Path, city_server: CityThread) -> Iterator[InProcessCenter]:
    """Center `strogino` (tests/helpers/center.py), its hub joined to `city_server` as hub-1."""
    center = InProcessCenter(tmp_path / "center", at(10))
    try:
        join(center.hub, city_server.city, city_server.url, "hub-1", [CENTER])
        yield center
    finally:
        center.close()


class CityProcess:
    """A city process (`mfc-edge city`) on 127.0.0.1 over `dsn`: several of them on one database
    are what runs behind a city's load balancer. `stop` ends it gently, `kill` as a crash; `start`
    again serves on the same port."""

    def __init__(self, dsn: str, port: int | None = None):
        self.dsn, self.port = dsn, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> CityProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "mfc_edge.cli", "city", "--dsn", self.dsn,
                                      "--port", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if requests.get(f"{self.url}{protocol.HEALTH_PATH}", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the city process did not start within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
