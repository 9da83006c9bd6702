"""What a device keeps of one list the hub serves it (notices, bookings, applications): the
last answer of its poller, parsed once per answer rather than at every look, the poller's cache
file keeping it across restarts; or a fixed value without a hub (tests, the demo)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar

from offline_cache.hub_poller import HubPoller

T = TypeVar("T")


class HubCopy(Generic[T]):
    """`parse` turns the hub's answer (None before the first) into what lookups read."""

    def __init__(self, poller: HubPoller | None, parse: Callable[[dict[str, Any] | None], T], fixed: T):
        self.poller, self._parse = poller, parse
        self._lock = threading.Lock()
        self._parsed_from: dict[str, Any] | None = None
        self._parsed = fixed

    def _current(self) -> T:
        if self.poller is None:
            return self._parsed
        data = self.poller.last_known()
        with self._lock:
            if data is not self._parsed_from:
                self._parsed_from, self._parsed = data, self._parse(data)
            return self._parsed

    def start(self) -> Self:
        if self.poller:
            self.poller.start()
        return self

    def stop(self) -> None:
        if self.poller:
            self.poller.stop()
