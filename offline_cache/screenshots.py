"""Screenshots of a device's screen sent to the hub, for technicians and supervisors.

The uploader sends one with `capture` every `every_minutes` minutes (0: none), checking every
`check_every` seconds whether one is due; a supervisor's request for a fresh one arrives as a
device command (offline_cache/remote_commands.py), which sends it through `upload` too.
`capture` is the screen's: it returns PNG bytes or None, and may block a few seconds, since a
Kivy screen is read on its UI thread. An upload that fails is tried again, with a new capture,
at the next check: while the hub is away a screen captures at most once per `check_every`.
Nothing here ever stops the screen.
"""
from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from typing import Any

import requests

from mfc_edge import protocol
from mfc_edge.protocol import SCREENSHOT_PATH
from offline_cache.background import Every
from offline_cache.hub_client import HubClient

log = logging.getLogger(__name__)

# What one round did; `run_once` returns it (the tests and `last_outcome` read it).
UNREACHABLE, IDLE, NO_IMAGE, UPLOADED, FAILED, REFUSED = (
    "unreachable", "idle", "no image", "uploaded", "failed", "refused")


def shrink_png(png: bytes, max_bytes: int) -> bytes | None:
    """The image at half size (then a quarter, …) until it fits in `max_bytes`; None if it never does."""
    from PIL import Image  # only for the rare oversized screenshot

    try:
        image: Image.Image = Image.open(io.BytesIO(png))
        image.load()
    except Exception:  # Pillow raises many kinds for a damaged image
        return None
    for _ in range(4):
        image = image.resize((max(1, image.width // 2), max(1, image.height // 2)))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        if out.tell() <= max_bytes:
            return out.getvalue()
    return None


class ScreenshotUploader:
    def __init__(self, hub: HubClient, capture: Callable[[], bytes | None], every_minutes: float, *,
                 check_every: float = 60.0, timeout: float = 15.0,
                 max_bytes: int = protocol.MAX_SCREENSHOT_BYTES, monotonic: Callable[[], float] = time.monotonic):
        if every_minutes < 0:
            raise ValueError(f"every_minutes = {every_minutes}: expected 0 (none) or more")
        self.hub = hub
        self.capture, self.every_minutes = capture, every_minutes
        self.check_every, self.timeout, self.max_bytes, self.monotonic = check_every, timeout, max_bytes, monotonic
        self.last_upload: dict[str, Any] | None = None  # the hub's reply to the last upload
        self.last_outcome: str | None = None
        self._last_sent: float | None = None  # monotonic time of the last image the hub took or refused
        self._every: Every | None = None

    def _periodic_due(self) -> bool:
        if self.every_minutes <= 0:
            return False
        return self._last_sent is None or self.monotonic() - self._last_sent >= self.every_minutes * 60

    def run_once(self) -> str:
        """One round: capture and upload when due. Returns what happened."""
        if not self._periodic_due():
            self.last_outcome = IDLE
            return IDLE
        try:
            png = self.capture()
        except Exception:  # the screen's trouble: try again next round
            log.exception("screenshot: capture failed")
            png = None
        if not png:
            return self._note(NO_IMAGE, "the screen gave no image")
        return self.upload(png)

    def upload(self, png: bytes) -> str:
        """Send one PNG now; UPLOADED, UNREACHABLE or FAILED (to be tried again), or REFUSED (the hub
        will not take it)."""
        if len(png) > self.max_bytes:
            smaller = shrink_png(png, self.max_bytes)
            if smaller is None:
                self._last_sent = self.monotonic()
                return self._note(REFUSED, f"screenshot of {len(png)} bytes cannot be made to fit {self.max_bytes}")
            png = smaller
        try:
            reply = self.hub.put(SCREENSHOT_PATH, data=png, headers={"Content-Type": "image/png"},
                                 timeout=self.timeout)
        except requests.RequestException as exc:
            return self._note(UNREACHABLE, f"hub unreachable: {exc}")
        if reply.status_code == 200:
            self._last_sent = self.monotonic()
            try:
                self.last_upload = reply.json()
            except ValueError:
                self.last_upload = None
            self.last_outcome = UPLOADED
            return UPLOADED
        if 400 <= reply.status_code < 500 and reply.status_code not in (401, 408, 429):
            # The same image would be refused again: wait for the next period.
            self._last_sent = self.monotonic()
            return self._note(REFUSED, f"hub refused the screenshot ({reply.status_code}): {reply.text[:200]}")
        return self._note(FAILED, f"hub answered {reply.status_code} to the upload, trying again")

    def _note(self, outcome: str, message: str) -> str:
        # One log line per change of outcome: a hub away for a night is not 2 000 warnings.
        if outcome != self.last_outcome:
            log.warning("screenshot: %s", message)
        self.last_outcome = outcome
        return outcome

    def start(self) -> ScreenshotUploader:
        """Send the periodic screenshots in the background; with every_minutes 0 there are none."""
        if self.every_minutes > 0:
            self._every = Every(self.check_every, self.run_once, "screenshot-uploader").start()
        return self

    def stop(self) -> None:
        # A capture in progress may be waiting for the UI thread; do not wait on it for long.
        if self._every:
            self._every.stop(timeout=self.timeout + 5)
