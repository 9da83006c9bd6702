"""The hub reaches its city over HTTPS with the certificate checked: a city whose certificate the
hub cannot trust is refused in one line, and trusted with the city's CA file; the forwarder keeps
using that CA file."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from city.app import create_app
from city.city import City
from city.hubs import Hubs
from hardware.clock import ManualClock
from hub import city_link
from hub.hub import Hub
from tests.helpers.city import city_rows, forward_now
from tests.helpers.day import at
from tests.helpers.hubprocess import free_port, make_test_ca


@pytest.fixture
def tls_city(tmp_path, city_dsn) -> Iterator[tuple[City, str, str]]:
    """The city's API over HTTPS on 127.0.0.1: the city, its address and its CA file."""
    cert, key, ca = make_test_ca(tmp_path / "tls")
    city = City(city_dsn, pool_size=2)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(city), host="127.0.0.1", port=port, log_level="warning",
                                           ssl_certfile=str(cert), ssl_keyfile=str(key)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the city did not start"
        time.sleep(0.02)
    try:
        yield city, f"https://127.0.0.1:{port}", str(ca)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        city.close()


@pytest.mark.slow  # two RSA keys made for it
def test_the_city_s_certificate_is_checked(tmp_path, tls_city, city_dsn):
    city, url, ca = tls_city
    hub = Hub(tmp_path / "hub", clock=ManualClock(at(10)))
    try:
        code = Hubs(city).make_code("hub-1", ["strogino"])
        with pytest.raises(city_link.CityLinkError, match="not trusted.*--ca-file"):
            city_link.join(hub.db, tmp_path / "hub", url, code, "hub-1")
        assert city_link.link_of(hub.db) is None
        city_link.join(hub.db, tmp_path / "hub", url, code, "hub-1", ca)  # the code was not used up
        hub.centers.set("strogino", "Europe/Moscow", "Строгино")
        assert forward_now(hub) >= 1
        assert city_rows(city_dsn, "SELECT name FROM centers WHERE id = 'strogino'") == [{"name": "Строгино"}]
    finally:
        hub.close()
