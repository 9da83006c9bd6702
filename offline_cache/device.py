"""What every device's wiring gives back: the same shape for a kiosk, a screen and a window device.

`open_kiosk`, `open_screen` and `open_window_device` each return a `Device` subclass: the
device's file, its store, its client for the hub, sync agent and heartbeat when it is
enrolled, the bundle follower where it has content, and `close()`, which stops every part
it started.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from mfc_edge.config import DeviceConfig
from offline_cache.bundle_follower import BundleFollower
from offline_cache.heartbeat import Heartbeat
from offline_cache.hub_client import HubClient
from offline_cache.outbox import DeviceStore
from offline_cache.sync import SyncAgent


class Stoppable(Protocol):
    def stop(self) -> Any: ...


@dataclass
class Device:
    device: DeviceConfig
    store: DeviceStore
    hub: HubClient | None = None
    sync: SyncAgent | None = None
    bundles: BundleFollower | None = None
    # Background parts the wiring started, stopped in reverse order before the sync agent.
    workers: list[Stoppable] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.hub:  # every answer of the hub teaches the store the hub's time (offline_cache/hub_time.py)
            self.hub.keep_time(self.store)

    def report(self, event_type: str, body: dict[str, Any]) -> None:
        """Put an event in the outbox and sync it soon."""
        self.store.record_event(event_type, body)
        if self.sync:
            self.sync.wake()

    def start_sync(self, **options: Any) -> None:
        """With a hub, push the outbox to it in the background."""
        if self.hub:
            self.sync = SyncAgent(self.store, self.hub, **options).start()

    def start_heartbeat(self, **options: Any) -> None:
        """With a hub, tell it once a minute how this device is (offline_cache/heartbeat.py)."""
        if self.hub:
            self.workers.append(Heartbeat(self.store, self.hub, self.device.data_dir, **options).start())

    def close(self) -> None:
        for worker in reversed([*([self.bundles] if self.bundles else []), *self.workers]):
            worker.stop()
        if self.sync:
            self.sync.stop()
        self.close_parts()
        if self.hub:
            self.hub.close()
        self.store.close()

    def close_parts(self) -> None:
        """The device's own parts, closed once its background workers have stopped."""
