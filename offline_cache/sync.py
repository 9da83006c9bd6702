"""The sync agent: pushes the outbox to the hub in batches, in the background.

An event leaves the outbox only after the hub answered for it: stored, already had, or
refused (then it is kept aside with the reason). Failures back off exponentially with
full jitter; 429 and 503 answers are obeyed to the second of their Retry-After. Nothing
here runs on the kiosk's UI thread.
"""
from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from mfc_edge import protocol
from offline_cache.hub_client import HubClient
from offline_cache.outbox import DeviceStore

log = logging.getLogger(__name__)

class SyncError(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds, from either of its two forms (seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class SyncAgent:
    def __init__(self, store: DeviceStore, hub: HubClient, *, batch_size: int = 200, timeout: float = 10.0,
                 idle_poll: float = 5.0, backoff_base: float = 0.5, backoff_cap: float = 60.0,
                 rng: random.Random | None = None):
        self.store, self.hub = store, hub
        self.batch_size = min(batch_size, protocol.MAX_BATCH_EVENTS)
        self.timeout, self.idle_poll = timeout, idle_poll
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.rng = rng or random.Random()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self._unreachable = False  # the last push could not reach the hub: an answer to anyone ends the wait

    def push_once(self) -> int:
        """Send one batch; return how many events the hub answered for. Raises SyncError."""
        batch = self.store.outbox(limit=self.batch_size)
        if not batch:
            return 0
        try:
            reply = self.hub.post(protocol.EVENTS_PATH, json={"events": batch}, timeout=self.timeout)
        except requests.RequestException as exc:
            self._unreachable = True
            raise SyncError(f"hub unreachable: {exc.__class__.__name__}") from exc
        self._unreachable = False
        if reply.status_code in (429, 503):
            raise SyncError(f"hub busy ({reply.status_code})", retry_after_seconds(reply.headers.get("Retry-After")))
        if reply.status_code != 200:
            raise SyncError(f"hub answered {reply.status_code}: {reply.text[:200]}")
        try:
            results = reply.json()["results"]
            answered = {r["id"]: r for r in results if isinstance(r, dict) and isinstance(r.get("id"), str)}
        except (ValueError, KeyError, TypeError) as exc:
            raise SyncError("hub answered something that is not a batch reply") from exc
        sent = {e["id"] for e in batch}
        accepted = [i for i, r in answered.items() if i in sent and r.get("status") in ("stored", "duplicate")]
        rejected = {i: str(r.get("reason", "")) for i, r in answered.items()
                    if i in sent and r.get("status") == "rejected"}
        for event_id, reason in rejected.items():
            log.warning("hub refused event %s: %s", event_id, reason)
        self.store.acknowledge(accepted, rejected)
        return len(accepted) + len(rejected)

    def drain(self) -> int:
        """Push until the outbox is empty; raise SyncError at the first failure."""
        total = 0
        while (answered := self.push_once()):
            total += answered
        return total

    def backoff(self) -> float:
        """Full jitter: a random wait up to base·2^failures, capped."""
        return self.rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** self.failures))

    def wake(self) -> None:
        """New events are waiting: sync now rather than at the next poll."""
        self._wake.set()

    def hub_answered(self, reply: requests.Response) -> None:
        """Another part of the device (a poller, the bundle updater) heard from the hub. If this
        agent is waiting out an outage, the hub is back: push now rather than at the end of a
        back-off of up to a minute. A busy hub (429, 5xx) keeps the agent waiting."""
        if (self._unreachable and reply.status_code < 500 and reply.status_code != 429
                and threading.current_thread() is not self._thread):
            self._unreachable = False
            log.info("sync: the hub answers again; pushing now")
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain()
                self.failures = 0
                wait = self.idle_poll
            except SyncError as exc:
                self.failures += 1
                wait = exc.retry_after if exc.retry_after is not None else self.backoff()
                log.info("sync: %s; next try in %.1f s", exc, wait)
            except Exception:  # the agent must outlive any one surprise
                log.exception("sync failed unexpectedly")
                self.failures += 1
                wait = self.backoff()
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> SyncAgent:
        self._thread = threading.Thread(target=self._run, name="sync-agent", daemon=True)
        self.hub.on_answer(self.hub_answered)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.hub.off_answer(self.hub_answered)
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=self.timeout + 1)
