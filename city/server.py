"""Running a city process: uvicorn on the given address, the schema brought up to date first.

A city runs as several such processes behind a load balancer; `CityThread` serves one from a
thread of this process, for the demo's city in a box and for tests.
"""
from __future__ import annotations

import threading
import time

import uvicorn

from city.app import create_app
from city.city import City


def serve(dsn: str, host: str, port: int, workers_pool: int = 10, reports_dsn: str | None = None) -> None:
    city = City(dsn, pool_size=workers_pool, reports_dsn=reports_dsn)
    try:
        uvicorn.run(create_app(city), host=host, port=port, log_level="info")
    finally:
        city.close()


class CityThread:
    """`with CityThread(city) as server:` the city's API at `server.url` until the block ends."""

    def __init__(self, city: City, host: str = "127.0.0.1", port: int = 0):
        self.city = city
        self.app = create_app(city)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=port, log_level="warning"))
        self._thread = threading.Thread(target=self.server.run, name="city", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout: float = 20) -> CityThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the city did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> CityThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
