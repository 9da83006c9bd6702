"""The one way a device talks to its hub: address, token, TLS and timeouts held in one place.

Every device-side caller (sync agent, pollers, bundle updater, screenshot uploader, the window
device's link, enrollment, `doctor` and `status`) sends its requests through a `HubClient`.
Its sessions are made as mfc_edge/http_sessions.py says: TLS always verified, against the
system's CAs or the device file's `[hub] ca_file`, nothing taken from the environment, and a
transport tests may swap.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter

from mfc_edge import protocol
from mfc_edge.config import DeviceConfig
from mfc_edge.files import atomic_write
from mfc_edge.http_sessions import ThreadSessions
from offline_cache.hub_time import TimeKeeper, hub_time_of

log = logging.getLogger(__name__)

TOKEN_FILE = "device-token"
_TOKEN = re.compile(r"[A-Za-z0-9_.~+/=-]{16,512}")


class CredentialError(ValueError):
    """A device-token or bundle-key file that cannot be used: the message names it and says
    to enroll again (a corrupt SD card or a hand edit, never something to guess around)."""
DEFAULT_TIMEOUT_S = 10.0


class HubClient:
    """HTTP to one hub. Safe to share between threads: each thread gets its own session."""

    def __init__(self, url: str, token: str | None = None, *, ca_file: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, transport: BaseAdapter | None = None):
        self.url = url.rstrip("/")
        self.token, self.ca_file, self.timeout = token, ca_file, timeout
        self.transport = transport
        self.time_keeper: TimeKeeper | None = None
        self._sessions = ThreadSessions(token, ca_file, transport,
                                        prepare=lambda s: s.hooks["response"].append(self._answered))
        self._lock = threading.Lock()
        self._listeners: list[Callable[[requests.Response], None]] = []

    @property
    def verify(self) -> str | bool:
        """Never off: a CA file at most."""
        return self._sessions.verify

    def session(self) -> requests.Session:
        return self._sessions.session()

    def keep_time(self, keeper: TimeKeeper) -> None:
        """Tell `keeper` the hub's time in every answer, and the hub the device's clocks in every
        request (offline_cache/hub_time.py): whichever part talks to the hub, the device learns."""
        self.time_keeper = keeper

    def request(self, method: str, path: str, *, timeout: float | None = None, held: bool = False,
                **kwargs: Any) -> requests.Response:
        """`path` starts with / (see mfc_edge.protocol). Raises requests.RequestException when
        the hub cannot be reached; any HTTP answer is returned for the caller to judge. `held`:
        the hub may hold the request (a long poll), so its time in the answer is from the end of
        the round trip, not its middle, and teaches the device nothing."""
        if not path.startswith("/"):
            raise ValueError(f"path {path!r} must start with /")
        keeper = self.time_keeper
        if keeper is None:
            return self.session().request(method, self.url + path, timeout=timeout or self.timeout, **kwargs)
        sent = keeper.read_clocks()
        kwargs["headers"] = {**(kwargs.get("headers") or {}),
                             protocol.DEVICE_CLOCK_HEADER: protocol.device_clock_header(sent.boot, sent.mono)}
        reply = self.session().request(method, self.url + path, timeout=timeout or self.timeout, **kwargs)
        hub_time = hub_time_of(reply.headers)
        if hub_time is not None and not held:
            try:
                keeper.learn_hub_time(sent, keeper.read_clocks(), hub_time)
            except Exception:  # learning the time must never cost the caller its answer
                log.exception("cannot keep the hub's time")
        return reply

    def on_answer(self, listener: Callable[[requests.Response], None]) -> None:
        """Call `listener(reply)` with every answer the hub gives any part of the device, on the
        thread that asked: the sync agent hears from the pollers that the hub is back."""
        with self._lock:
            self._listeners.append(listener)

    def off_answer(self, listener: Callable[[requests.Response], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _answered(self, reply: requests.Response, *args: Any, **kwargs: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(reply)
            except Exception:  # a listener's trouble must not cost the caller its answer
                log.exception("a listener of the hub's answers failed")

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def close(self) -> None:
        self._sessions.close()


def save_token(data_dir: Path, token: str) -> Path:
    """Keep the device token readable by its owner only, replacing any older one atomically."""
    return atomic_write(data_dir / TOKEN_FILE, token, mode=0o600)


def load_token(data_dir: Path) -> str | None:
    """The device's token, None before enrollment; CredentialError for a file that is not one."""
    path = data_dir / TOKEN_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialError(f"{path}: cannot be read ({exc.strerror}): enroll the device again") from None
    token = raw.decode("ascii", "replace").strip()
    if not token:
        return None
    if not _TOKEN.fullmatch(token):
        raise CredentialError(f"{path}: not a device token: enroll the device again (mfc-edge enroll)")
    return token


def connect(device: DeviceConfig, *, enabled: bool = True) -> HubClient | None:
    """The device's client for its hub, or None when it works alone: no `[hub] url` in its
    file, not enrolled yet (said in the log), or `enabled` is false (tests, benchmarks)."""
    if not device.hub_url or not enabled:
        return None
    try:
        token = load_token(device.data_dir)
    except CredentialError as exc:
        log.error("%s; working alone", exc)
        return None
    if not token:
        log.warning("not enrolled with the hub at %s: working alone (run `mfc-edge enroll`)", device.hub_url)
        return None
    return HubClient(device.hub_url, token, ca_file=device.hub_ca_file)
