"""Any JSON the hub serves to devices, polled in the background with an ETag (an unchanged
answer costs a 304): the queue feed, the load chart, the day's ratings.

Screens read `latest()`, which is None once the hub has been out of reach for longer than
`stale_after`, so they fall back to their own data and say so; `last_known()` gives the last
answer whatever its age. With a `cache_file`, the last good answer is kept on disk and read
at start, so a screen that restarts while the hub is away still has, say, its load chart.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from mfc_edge.files import atomic_write
from offline_cache.background import Every
from offline_cache.hub_client import HubClient

log = logging.getLogger(__name__)

# A 304 only confirms the cached answer; writing that down more often than this would wear an
# SD card for nothing more than a fresher "saved at".
CACHE_CONFIRM_EVERY = 600.0


class HubPoller:
    def __init__(self, hub: HubClient, path: str, *, interval: float = 3.0,
                 stale_after: float = 60.0, timeout: float = 5.0, cache_file: str | Path | None = None,
                 on_change: Callable[[dict[str, Any]], None] | None = None, name: str | None = None):
        """`path` is the endpoint with any query, e.g. "/api/v1/load?weeks=4". `on_change` is
        called on the polling thread with each new answer (hand it to the UI thread yourself)."""
        if not path.startswith("/"):
            raise ValueError(f"path {path!r} must start with /")
        self.hub, self.path = hub, path
        self.interval, self.stale_after, self.timeout = interval, stale_after, timeout
        self.cache_file = Path(cache_file) if cache_file else None
        self.on_change, self.name = on_change, name or f"poller {path}"
        self._lock = threading.Lock()
        self._data: dict[str, Any] | None = None
        self._etag: str | None = None
        self._fresh_at: float | None = None  # time.monotonic() of the last answer known good
        self._saved_at = 0.0  # time.monotonic() of the last write of the cache file
        self._every: Every | None = None
        self.last_status: int | None = None  # the hub's last HTTP status, None when unreachable
        if self.cache_file:
            self._read_cache()

    def poll_once(self) -> bool:
        """Ask the hub; True when the answer is current (changed or not)."""
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            reply = self.hub.get(self.path, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            log.debug("%s: hub unreachable: %s", self.name, exc)
            self.last_status = None
            return False
        self.last_status = reply.status_code
        changed = None
        if reply.status_code == 200:
            try:
                data = reply.json()
            except ValueError:
                return False
            if not isinstance(data, dict):
                return False
            with self._lock:
                changed = data if data != self._data else None
                self._data, self._etag = data, reply.headers.get("ETag")
        elif reply.status_code != 304 or self._data is None:
            log.debug("%s: hub answered %s", self.name, reply.status_code)
            return False
        now = time.monotonic()
        with self._lock:
            self._fresh_at = now
        if self.cache_file and (changed is not None or now - self._saved_at >= CACHE_CONFIRM_EVERY):
            self._write_cache()
        if changed is not None and self.on_change:
            try:
                self.on_change(changed)
            except Exception:  # the screen's trouble must not stop the polling
                log.exception("%s: on_change failed", self.name)
        return True

    def age(self) -> float | None:
        """Seconds since the hub last confirmed the answer (also before a restart, from the
        cache file); None when never, or when the device's clock makes it unknowable."""
        with self._lock:
            return None if self._fresh_at is None else max(0.0, time.monotonic() - self._fresh_at)

    def latest(self) -> dict[str, Any] | None:
        """The answer, unless it is older than `stale_after` (or there is none)."""
        age = self.age()
        with self._lock:
            return self._data if age is not None and age <= self.stale_after else None

    def last_known(self) -> dict[str, Any] | None:
        """The last answer whatever its age: for data that ages slowly, like the load chart."""
        with self._lock:
            return self._data

    def start(self) -> HubPoller:
        self._every = Every(self.interval, self.poll_once, self.name).start()
        return self

    def stop(self) -> None:
        if self._every:
            self._every.stop(timeout=self.timeout + 1)

    def _write_cache(self) -> None:
        with self._lock:
            record = {"path": self.path, "etag": self._etag, "saved_at": time.time(), "data": self._data}
        assert self.cache_file is not None
        try:
            atomic_write(self.cache_file, json.dumps(record, ensure_ascii=False))
            self._saved_at = time.monotonic()
        except OSError as exc:  # a full or read-only disk costs the cache, never the screen
            log.warning("%s: cannot save %s: %s", self.name, self.cache_file, exc)

    def _read_cache(self) -> None:
        assert self.cache_file is not None
        try:
            record = json.loads(self.cache_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("%s: ignoring unreadable %s: %s", self.name, self.cache_file, exc)
            return
        if not (isinstance(record, dict) and record.get("path") == self.path and isinstance(record.get("data"), dict)
                and isinstance(record.get("saved_at"), (int, float))):
            log.warning("%s: ignoring %s: not a saved answer of %s", self.name, self.cache_file, self.path)
            return
        self._data = record["data"]
        self._etag = record.get("etag") if isinstance(record.get("etag"), str) else None
        # Wall-clock age, the only kind that survives a restart. A file from the "future" means
        # the clock was set back (a Pi without a real-time clock): its age is then unknown.
        age = time.time() - record["saved_at"]
        self._fresh_at = time.monotonic() - age if age >= 0 else None
