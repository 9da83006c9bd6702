"""The hub's queue feed, kept current in the background: pushed by a long poll, with the plain
ETag poll (an unchanged feed costs a 304) whenever the long poll does not work.

Devices read `latest()`; when the hub has been out of reach for longer than `stale_after`
the feed is reported as missing, so screens fall back to their own data and say so. The
answers are handled by `HubPoller`, shared with the other JSON the hub serves to devices.

The push is the plainest that survives proxies and reconnects: the device asks for the feed
with its ETag and `?wait=N`, and the hub holds the request until the feed changes (a call on
a console) or N seconds pass, then the device asks again at once. A hub that does not say it
holds such requests (protocol.FEED_WAIT_HEADER), a cut connection, a refusal (503 with
Retry-After when too many devices wait) all send the device back to the plain poll every
`interval` seconds, and it tries the long poll again after a jittered, growing back-off: a
hub that restarts under a hundred screens is not met by a hundred requests in the same
instant. Nothing is missed or doubled by switching: the feed is a snapshot of the line, and
each call in it carries its own id and time.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from mfc_edge.protocol import FEED_PATH, FEED_WAIT_HEADER
from offline_cache.hub_client import HubClient
from offline_cache.hub_poller import HubPoller

log = logging.getLogger(__name__)

PUSH_WAIT_S = 25  # what the device asks for; the hub may allow less (its FEED_WAIT_HEADER)
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
NO_PUSH_RETRY_S = 600.0  # a hub that does not hold long polls is asked again after this long (it may be updated)


class _LongPolling:
    """The HubClient a FeedPoller's HubPoller sees: it adds `?wait=` to a request while a long
    poll is wanted, and notes what the answer says of the hub's push."""

    def __init__(self, hub: HubClient, timeout: float):
        self.hub, self.timeout = hub, timeout
        self.wait = 0  # seconds to ask for; 0: a plain poll
        self.allowed: int | None = None  # the hub's longest wait, None when it does not push
        self.retry_after: float | None = None

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        if self.wait:
            path = f"{path}?wait={self.wait}"
            kwargs["timeout"] = self.wait + self.timeout  # the hub answers within `wait` at the latest
            kwargs["held"] = True
        reply = self.hub.get(path, **kwargs)
        try:
            self.allowed = int(reply.headers.get(FEED_WAIT_HEADER, ""))
        except ValueError:
            self.allowed = None
        try:
            self.retry_after = float(reply.headers.get("Retry-After", "")) if reply.status_code == 503 else None
        except ValueError:
            self.retry_after = None
        return reply


class FeedPoller(HubPoller):
    def __init__(self, hub: HubClient, *, interval: float = 3.0, stale_after: float = 60.0, timeout: float = 5.0,
                 push: bool = True, push_wait: int = PUSH_WAIT_S,
                 on_change: Callable[[dict[str, Any]], None] | None = None):
        """`interval`: the plain poll's, used while the push does not work. `push`: try the long
        poll. `on_change`: as HubPoller's, called on the polling thread with each new feed."""
        self._client = _LongPolling(hub, timeout)
        super().__init__(hub, FEED_PATH, interval=interval, stale_after=stale_after, timeout=timeout,
                         on_change=on_change, name="feed-poller")
        self.hub = self._client  # type: ignore[assignment]  # all HubPoller uses of a HubClient is get()
        self.push, self.push_wait = push, push_wait
        self.pushed = False  # the last answer came by the long poll: the push works now
        self._backoff = 0.0
        self._retry_push_at = 0.0  # time.monotonic() after which the long poll is tried again
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def long_poll_once(self) -> bool:
        """One long poll; True when it worked as a push (the hub held it or answered a change).
        On failure the next one waits a jittered back-off, and plain polls fill the time."""
        self._client.wait = min(self.push_wait, self._client.allowed or self.push_wait)
        started = time.monotonic()
        try:
            ok = self.poll_once()
        finally:
            self._client.wait = 0
        held = self.last_status == 200 or time.monotonic() - started >= self._client.wait / 2
        # A quick 304 is a hub releasing its waiting requests as it stops, not a push.
        self.pushed = ok and self._client.allowed is not None and held
        if self.pushed:
            self._backoff = 0.0
            return True
        now = time.monotonic()
        if ok and self._client.allowed is None:
            delay = NO_PUSH_RETRY_S
        elif self._client.retry_after is not None:
            delay = self._client.retry_after * random.uniform(1.0, 2.0)
        else:
            self._backoff = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, self._backoff * 2))
            delay = random.uniform(self._backoff / 2, self._backoff)
        self._retry_push_at = now + delay
        log.debug("%s: no push (%s); plain polls for %.1f s", self.name, self.last_status, delay)
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.push and time.monotonic() >= self._retry_push_at:
                    if self.long_poll_once():
                        continue
                else:
                    self.pushed = False
                    self.poll_once()
            except Exception:  # the thread must outlive any one surprise
                log.exception("%s failed", self.name)
            pause = self.interval
            if self.push:
                pause = min(pause, max(0.0, self._retry_push_at - time.monotonic()))
            self._stop.wait(pause)

    def start(self) -> FeedPoller:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """A long poll in flight is not waited for (up to half a minute): the thread is a daemon,
        and ends when its request does."""
        self._stop.set()
        if self._thread and self._thread.is_alive():
            self._thread.join(timeout=0.2)
