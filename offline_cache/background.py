"""A task repeated in a background thread: a device's chores that must never hold up its screen."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Every:
    """Run `task` now and then every `interval` seconds, until stopped; `wake()` runs it at once."""

    def __init__(self, interval: float, task: Callable[[], Any], name: str):
        self.interval, self.task, self.name = interval, task, name
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.task()
            except Exception:  # the thread must outlive any one surprise
                log.exception("%s failed", self.name)
            self._wake.wait(self.interval)
            self._wake.clear()

    def start(self) -> Every:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)
