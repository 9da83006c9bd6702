"""Running the hub: uvicorn on the given address, with TLS when given a certificate."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn

from hub.alerts import SWEEP_EVERY_S
from hub.api import END_OF_DAY_CHECK_S, create_app
from hub.hub import Hub
from hub.queue import DEFAULT_PRIORITY_STREAK


def serve(data_dir: Path, host: str, port: int, certfile: Path | None = None, keyfile: Path | None = None,
          priority_streak: int = DEFAULT_PRIORITY_STREAK, docs: bool = False) -> None:
    """`docs`: also serve Swagger UI at /docs (its scripts come from a CDN: development only)."""
    hub = Hub(data_dir, priority_streak)
    try:
        uvicorn.run(create_app(hub, docs=docs), host=host, port=port, log_level="info",
                    ssl_certfile=str(certfile) if certfile else None, ssl_keyfile=str(keyfile) if keyfile else None)
    finally:
        hub.close()


class HubThread:
    """A hub serving from a thread of this process: the demo's center in a box, where the
    hub shares the kiosk's hand-set clock. A real center runs `mfc-edge hub` instead."""

    def __init__(self, hub: Hub, host: str = "127.0.0.1", port: int = 0, end_of_day_every: float = END_OF_DAY_CHECK_S,
                 docs: bool = False, alerts_every: float = SWEEP_EVERY_S):
        self.hub = hub
        self.server = uvicorn.Server(uvicorn.Config(create_app(hub, end_of_day_every, docs, alerts_every), host=host,
                                                    port=port, log_level="warning"))
        self._thread = threading.Thread(target=self.server.run, name="hub", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout: float = 20) -> HubThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the hub did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> HubThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
