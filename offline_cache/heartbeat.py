"""Every enrolled device tells the hub how it is, once a minute: the hub's view of its fleet.

A beat is the device's state now (software version, uptime, outbox backlog, free disk, CPU
temperature and throttling, clock offset from the hub, printer and display), not an event: it
is sent straight to the hub, never through the outbox, and a beat that fails is simply not
sent; the next one a minute later says everything again. The hub marks a device offline when
it has heard nothing from it for three of its intervals (hub/heartbeats.py).

A beat the hub accepted is also the app's proof of health for the software updater
(offline_cache/software_update.py): after each one the app writes the health file, with its
version and release, into its runtime folder ($RUNTIME_DIRECTORY, /run/mfc-edge).
"""
from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from hardware import board
from mfc_edge import protocol
from mfc_edge.files import atomic_write
from mfc_edge.times import iso
from offline_cache.background import Every
from offline_cache.hub_client import HubClient
from offline_cache.outbox import DeviceStore
from offline_cache.software_update_state import HEALTH_FILE, STATE_FILE, running_release

log = logging.getLogger(__name__)

BEAT_TIMEOUT_S = 10.0


def software_version() -> str | None:
    try:
        return importlib.metadata.version("mfc-edge")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree never installed
        return None


def disk_space(folder: Path) -> dict[str, int] | None:
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    return {"free_bytes": usage.free, "total_bytes": usage.total}


class Heartbeat:
    """Sends `beat()` to the hub every `interval` seconds from a background thread.

    `printer()` gives the kiosk printer's status ("ok", "paper_out", ...), None on a device
    without one; `display()` the screen's state, by default what the kernel says of it."""

    def __init__(self, store: DeviceStore, hub: HubClient, data_dir: Path, *,
                 interval: float = protocol.HEARTBEAT_EVERY_S,
                 printer: Callable[[], str | None] = lambda: None,
                 display: Callable[[], dict[str, str] | None] = board.display_state,
                 software_state: Path = Path("/") / STATE_FILE, runtime_dir: Path | None = None):
        """`software_state` is the updater's state file (the release and channel that run);
        `runtime_dir` where the health file goes, by default systemd's RUNTIME_DIRECTORY, if any."""
        self.store, self.hub, self.data_dir = store, hub, data_dir
        self.interval, self.printer, self.display = interval, printer, display
        self.version = software_version()
        self.software_state = software_state
        if runtime_dir is None and os.environ.get("RUNTIME_DIRECTORY"):
            runtime_dir = Path(os.environ["RUNTIME_DIRECTORY"].split(":")[0])
        self.runtime_dir = runtime_dir
        self._every: Every | None = None

    def beat(self) -> dict[str, Any]:
        offset = self.store.hub_offset()
        return {
            "center": self.store.center_id,
            "device": self.store.device_id,
            "version": self.version,
            **running_release(self.software_state),
            "every_s": self.interval,
            "sent_at": iso(self.store.now()),
            "uptime_s": _rounded(board.process_uptime_s()),
            "system_uptime_s": _rounded(board.system_uptime_s()),
            "outbox": self.store.outbox_size(),
            "disk": disk_space(self.data_dir),
            "cpu_temp_c": board.cpu_temperature_c(),
            "throttling": board.throttling(),
            "clock_offset_s": None if offset is None else round(offset.total_seconds(), 3),
            "printer": self.printer(),
            "display": self.display(),
        }

    def send_once(self) -> bool:
        """True when the hub took the beat; a failure is one debug line, as the next beat retries."""
        try:
            reply = self.hub.post(protocol.HEARTBEAT_PATH, json=self.beat(), timeout=BEAT_TIMEOUT_S)
        except requests.RequestException as exc:
            log.debug("heartbeat: hub unreachable: %s", exc)
            return False
        if reply.status_code != 200:
            log.warning("heartbeat: the hub answered %s: %s", reply.status_code, reply.text[:200])
            return False
        self._healthy()
        return True

    def _healthy(self) -> None:
        """Tell the software updater's health gate that this version reached the hub."""
        if self.runtime_dir is None:
            return
        # The device's own clock, not the hub's time: the updater on this machine compares it with its own.
        proof = {"version": self.version, "release": running_release(self.software_state)["release"],
                 "at": iso(datetime.now(UTC))}
        try:
            atomic_write(self.runtime_dir / HEALTH_FILE, json.dumps(proof))
        except OSError as exc:
            log.warning("heartbeat: cannot write the health file: %s", exc)

    def start(self) -> Heartbeat:
        self._every = Every(self.interval, self.send_once, "heartbeat").start()
        return self

    def stop(self) -> None:
        if self._every:
            self._every.stop(timeout=BEAT_TIMEOUT_S + 1)


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)
