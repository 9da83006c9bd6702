"""The window device's questions to the hub: who is at my window (pushed: a long poll), what
became of my help request, and the keypad's queue actions. Every call is short and fails soft:
the hub being away is normal, and the device works on (ratings and help requests wait in the
outbox).
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import requests

from mfc_edge.protocol import API
from offline_cache.feed import FeedPoller
from offline_cache.hub_client import HubClient

log = logging.getLogger(__name__)


class LinkError(Exception):
    """The hub could not be asked, or refused; the message fits a small display."""


class WindowStatePoller(FeedPoller):
    """Who is at the window and who was served there, pushed as the screens' feed is: a long
    poll of the window's state (`?wait=N` with its ETag), answered by the hub the moment a call
    or a finish changes it, with FeedPoller's fallback to the plain poll and its jittered
    back-off when the push is cut or refused. `latest()` is None once the hub has not
    confirmed the state for `stale_after` seconds."""

    def __init__(self, hub: HubClient, window: str, **kwargs: Any):
        super().__init__(hub, **kwargs)
        # The feed's poller, asking for the window's state instead: the same protocol of waits.
        self.path, self.name = f"{API}/windows/{quote(window)}", f"window-{window}-poller"


class WindowLink:
    def __init__(self, hub: HubClient, *, timeout: float = 3.0):
        self.hub, self.timeout = hub, timeout

    def _call(self, method: str, path: str) -> tuple[int, Any]:
        try:
            reply = self.hub.request(method, API + path, timeout=self.timeout)
        except requests.RequestException as exc:
            raise LinkError("нет связи с сервером") from exc
        try:
            return reply.status_code, reply.json()
        except ValueError:
            return reply.status_code, {}

    def state_poller(self, window: str, **kwargs: Any) -> WindowStatePoller:
        """The window's state kept current in the background (not started); `kwargs` as FeedPoller's."""
        return WindowStatePoller(self.hub, window, timeout=self.timeout, **kwargs)

    def help_state(self, request: str) -> str | None:
        """The request's state on the hub; None when the hub does not have it yet."""
        status, body = self._call("GET", f"/help/{quote(request)}")
        if status == 404:
            return None
        if status != 200:
            raise LinkError(f"сервер ответил {status}")
        return body.get("state")

    def act(self, window: str, action: str) -> str | None:
        """A keypad action; the number of the ticket now at the window, or None (none is)."""
        status, body = self._call("POST", f"/windows/{quote(window)}/{action}")
        if status != 200:
            detail = body.get("detail") if isinstance(body, dict) else None
            raise LinkError(detail if isinstance(detail, str) else f"сервер ответил {status}")
        ticket = body.get("ticket")
        return ticket["number"] if ticket and ticket["state"] in ("called", "serving") else None
