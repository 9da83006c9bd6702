"""The hub's queue feed, polled in the background with an ETag (an unchanged feed costs a 304).

Devices read `latest()`; when the hub has been out of reach for longer than `stale_after`
the feed is reported as missing, so screens fall back to their own data and say so.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import requests

from offline_cache.background import Every

log = logging.getLogger(__name__)


class FeedPoller:
    def __init__(self, hub_url: str, token: str, *, ca_file: str | None = None, interval: float = 3.0,
                 stale_after: float = 60.0, timeout: float = 5.0):
        self.url = hub_url.rstrip("/") + "/api/v1/feed"
        self.interval, self.stale_after, self.timeout = interval, stale_after, timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        # Never off: a custom CA file at most. Given per request, because requests lets
        # REQUESTS_CA_BUNDLE from the environment override a session's setting.
        self.verify: str | bool = ca_file or True
        self._feed: dict[str, Any] | None = None
        self._etag: str | None = None
        self._fresh_at = 0.0
        self._every: Every | None = None

    def poll_once(self) -> bool:
        """Ask the hub; True when the feed is current (changed or not)."""
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            reply = self.session.get(self.url, headers=headers, timeout=self.timeout, verify=self.verify)
        except requests.RequestException as exc:
            log.debug("feed: hub unreachable: %s", exc)
            return False
        if reply.status_code == 200:
            try:
                self._feed = reply.json()
            except ValueError:
                return False
            self._etag = reply.headers.get("ETag")
        elif reply.status_code != 304:
            return False
        self._fresh_at = time.monotonic()
        return True

    def latest(self) -> dict[str, Any] | None:
        if self._feed is None or time.monotonic() - self._fresh_at > self.stale_after:
            return None
        return self._feed

    def start(self) -> "FeedPoller":
        self._every = Every(self.interval, self.poll_once, "feed-poller").start()
        return self

    def stop(self) -> None:
        if self._every:
            self._every.stop(timeout=self.timeout + 1)
        self.session.close()
