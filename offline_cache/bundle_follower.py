"""Following the hub's bundles for one role: a check now and then, a callback when one applies."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from offline_cache.background import Every
from offline_cache.bundle_sync import APPLIED, BundleUpdater, UpdateResult
from offline_cache.content import ContentStore
from offline_cache.hub_client import HubClient

CHECK_EVERY_S = 60.0


class BundleFollower:
    """Checks the hub for a newer bundle every minute; `on_applied` runs (on the follower's
    thread) after a new one became the active bundle of `content`."""

    def __init__(self, content: ContentStore, hub: HubClient, *, center: str, role: str,
                 report: Callable[[str, dict[str, Any]], Any],
                 on_applied: Callable[[], None] = lambda: None, every: float = CHECK_EVERY_S):
        self.content, self.on_applied = content, on_applied
        self.updater = BundleUpdater(content, hub, center=center, role=role, report=report)
        self.last: UpdateResult | None = None
        self._lock = threading.Lock()
        self._every = Every(every, self.check, f"{role}-bundles")

    def check(self) -> UpdateResult:
        """One check now (also called by the background thread: one check at a time)."""
        with self._lock:
            self.last = self.updater.check()
            if self.last.status == APPLIED:
                self.on_applied()
            return self.last

    def start(self) -> BundleFollower:
        self._every.start()
        return self

    def stop(self) -> None:
        self._every.stop()
