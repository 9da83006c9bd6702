"""Running the hub: uvicorn on the given address, with TLS when given a certificate.

Under systemd (`Type=notify`) the hub says READY once its socket listens, not before: a
device started after the hub then finds it answering.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from hub.alerts import SWEEP_EVERY_S
from hub.api import END_OF_DAY_CHECK_S, create_app
from hub.backup_schedule import BackupPlan, ServingFolder
from hub.city_bundles import CityBundlePuller
from hub.city_forwarder import CityForwarder
from hub.hub import Hub
from hub.queue import DEFAULT_PRIORITY_STREAK
from mfc_edge.service_notify import ServiceNotifier


def serve(data_dir: Path, host: str, port: int, certfile: Path | None = None, keyfile: Path | None = None,
          priority_streak: int = DEFAULT_PRIORITY_STREAK, docs: bool = False,
          backups: BackupPlan | None = None) -> None:
    """`docs`: also serve Swagger UI at /docs (its scripts come from a CDN: development only).
    `backups`: where and how often to back the hub's file up while it serves (hub/backups.py)."""
    folder = ServingFolder(data_dir, backups)  # this hub's alone: a second hub or a restore is refused
    hub = Hub(data_dir, priority_streak)
    folder.start(hub.db)
    # Idle until the hub joins a city (mfc-edge hub join-city), then forwards its records.
    forwarder = CityForwarder(hub.db, data_dir).start()
    city_content = CityBundlePuller(hub.city_bundles, hub.db, data_dir).start()  # the city's bundles, relayed
    notifier = ServiceNotifier()
    config = uvicorn.Config(create_app(hub, docs=docs), host=host, port=port, log_level="info",
                            ssl_certfile=str(certfile) if certfile else None,
                            ssl_keyfile=str(keyfile) if keyfile else None)
    try:
        _NotifyingServer(config, notifier).run()
    finally:
        city_content.stop()
        forwarder.stop()
        folder.stop()
        notifier.close()
        hub.close()


def release_long_polls(app: Any) -> None:
    """Phone pages waiting for their line to change (hub/feed_watch.py) answer at once: uvicorn's
    graceful shutdown waits for every open request, and theirs would hold it up to half a minute."""
    app.state.feed_watch.close()


class _NotifyingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, notifier: ServiceNotifier):
        super().__init__(config)
        self.notifier = notifier

    async def startup(self, sockets: list | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # False when the address could not be bound: uvicorn exits then
            self.notifier.ready(f"serving on port {self.config.port}")

    async def shutdown(self, sockets: list | None = None) -> None:
        # Said here: after a SIGTERM uvicorn raises the signal again once it has shut down,
        # which ends the process before any `finally` of the caller runs.
        self.notifier.stopping()
        release_long_polls(self.config.app)
        await super().shutdown(sockets)


class HubThread:
    """A hub serving from a thread of this process: the demo's center in a box, where the
    hub shares the kiosk's hand-set clock. A real center runs `mfc-edge hub` instead."""

    def __init__(self, hub: Hub, host: str = "127.0.0.1", port: int = 0, end_of_day_every: float = END_OF_DAY_CHECK_S,
                 docs: bool = False, alerts_every: float = SWEEP_EVERY_S):
        self.hub = hub
        self.app = create_app(hub, end_of_day_every, docs, alerts_every)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=port, log_level="warning"))
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
        release_long_polls(self.app)
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> HubThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
