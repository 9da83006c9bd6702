"""Remote hands on the device: what the center's supervisor asks of it from the console
(hub/remote.py) — restart the app, reboot the machine, send a screenshot.

The hub cannot call a device behind NAT, so the device asks for its commands every
`interval` seconds (through a HubPoller), does each and reports how it went. Each command is
done once, whatever happens to the report: its id and result are kept in a small file in the
data folder before the report is sent, and a command the hub hands out again (its report was
lost, or the device restarted or rebooted meanwhile) is only reported again.

- restart: the app is told to stop (`restart`, the app's own callback, so Kivy closes
  cleanly) and the process ends with RESTART_EXIT_CODE; its unit's Restart=always starts it
  again. Outside systemd (a demo, a technician's terminal) the app just ends.
- reboot: the app runs unprivileged, so it writes a request file into the runtime folder
  systemd made for it (RuntimeDirectory=mfc-edge, given as $RUNTIME_DIRECTORY), which the
  root-owned mfc-edge-reboot.path unit watches. Without that folder the answer is that
  reboot is not available here.
- screenshot: the screen's capture, sent as the periodic ones are (offline_cache/screenshots.py).
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from mfc_edge import protocol
from mfc_edge.files import atomic_write
from offline_cache.background import Every
from offline_cache.device import Device
from offline_cache.hub_client import HubClient
from offline_cache.hub_poller import HubPoller
from offline_cache.screenshots import UPLOADED, ScreenshotUploader

log = logging.getLogger(__name__)

COMMANDS_EVERY_S = 15.0  # a supervisor waits at most this long; a center's hub serves many devices
RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: the journal says why the app ended, and Restart=always starts it again
REBOOT_REQUEST = "reboot-request"  # in the runtime folder; mfc-edge-reboot.path watches it
DONE_FILE = "remote-commands.json"
KEEP_DONE = 100  # ids remembered: far more than a hub hands out before they expire
REBOOT_UNAVAILABLE = "reboot is not available here: the app was not started by its systemd unit"


class DoneCommands:
    """The ids of commands done and their results, in a small JSON file, newest last."""

    def __init__(self, path: Path):
        self.path = path
        self._done: dict[str, str] = {}
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("remote commands: ignoring unreadable %s: %s", path, exc)
            return
        if isinstance(found, dict):
            self._done = {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}

    def result(self, command: str) -> str | None:
        return self._done.get(command)

    def add(self, command: str, result: str) -> None:
        self._done[command] = result
        for old in list(self._done)[:-KEEP_DONE]:
            del self._done[old]
        atomic_write(self.path, json.dumps(self._done, ensure_ascii=False))


class RemoteHands:
    def __init__(self, hub: HubClient, done_file: Path, *, restart: Callable[[], None],
                 screenshot: Callable[[], str] | None = None, runtime_dir: Path | None = None,
                 interval: float = COMMANDS_EVERY_S, timeout: float = 10.0):
        """`restart` asks the app to stop (called on this part's thread, it must not wait for the
        app to close, which stops this part); `screenshot` captures
        and sends the screen, returning the result to report (None: the device has no screen);
        `runtime_dir` is where a reboot is asked for (None: not under systemd)."""
        self.hub, self.done = hub, DoneCommands(done_file)
        self.restart, self.screenshot, self.runtime_dir = restart, screenshot, runtime_dir
        self.interval, self.timeout = interval, timeout
        self.poller = HubPoller(hub, protocol.COMMANDS_PATH, timeout=timeout, name="remote commands")
        self.restarting = threading.Event()
        self._every: Every | None = None

    @property
    def exit_code(self) -> int:
        """What the process should end with once the app has stopped."""
        return RESTART_EXIT_CODE if self.restarting.is_set() else 0

    def run_once(self) -> None:
        """Ask the hub for this device's commands; do the new ones and report each."""
        if not self.poller.poll_once():
            return
        commands = (self.poller.last_known() or {}).get("commands")
        for command in commands if isinstance(commands, list) else []:
            if isinstance(command, dict) and isinstance(command.get("id"), str) and 0 < len(command["id"]) <= 64:
                self.handle(command["id"], str(command.get("kind")))

    def handle(self, command: str, kind: str) -> None:
        result = self.done.result(command)
        if result is not None:  # done before: its report did not reach the hub
            self.report(command, result)
            return
        if kind == protocol.RESTART:
            self._record(command, "restarting: the app ends and its service starts it again")
            self.restarting.set()
            self.restart()
            return
        self._record(command, self.perform(kind))

    def perform(self, kind: str) -> str:
        """Do one command other than restart; the result for the supervisor."""
        if kind == protocol.REBOOT:
            return self.request_reboot()
        if kind == protocol.SCREENSHOT:
            return self.screenshot() if self.screenshot else "this device has no screen"
        return f"unknown command {kind!r}: this device's mfc-edge is older than the hub's"

    def request_reboot(self) -> str:
        if self.runtime_dir is None:
            return REBOOT_UNAVAILABLE
        path = self.runtime_dir / REBOOT_REQUEST
        try:
            atomic_write(path, "reboot asked by the center's supervisor\n")
        except OSError as exc:
            return f"reboot failed: cannot write {path}: {exc.strerror}"
        return "reboot requested"

    def _record(self, command: str, result: str) -> None:
        log.info("remote commands: %s: %s", command, result)
        try:
            self.done.add(command, result)
        except OSError as exc:  # a full or read-only card: the hub still hears the result
            log.warning("remote commands: cannot save %s: %s", self.done.path, exc)
        self.report(command, result)

    def report(self, command: str, result: str) -> bool:
        try:
            reply = self.hub.post(f"{protocol.COMMANDS_PATH}/{command}",
                                  json={"result": result[:protocol.MAX_COMMAND_RESULT]}, timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("remote commands: cannot report %s, trying again: %s", command, exc)
            return False
        if reply.status_code not in (200, 404):  # 404: expired or revoked, nothing left to tell
            log.warning("remote commands: the hub answered %s to the report of %s", reply.status_code, command)
        return reply.status_code == 200

    def start(self) -> RemoteHands:
        self._every = Every(self.interval, self.run_once, "remote-commands").start()
        return self

    def stop(self) -> None:
        if self._every:
            self._every.stop(timeout=self.timeout + 5)


def send_screenshot(uploader: ScreenshotUploader) -> str:
    """Capture the screen and send it now; the result for the supervisor."""
    try:
        png = uploader.capture()
    except Exception as exc:  # the screen's trouble, said to the supervisor rather than asked again forever
        log.warning("remote commands: capture failed: %s", exc)
        return f"the screen could not be captured: {exc}"
    if not png:
        return "the screen gave no image"
    outcome = uploader.upload(png)
    return protocol.SCREENSHOT_SENT if outcome == UPLOADED else f"screenshot not sent: {outcome}"


def runtime_folder(environ: Any = os.environ) -> Path | None:
    """The runtime folder systemd made for the unit (RuntimeDirectory=), None outside systemd."""
    folders = environ.get("RUNTIME_DIRECTORY", "")
    return Path(folders.split(":")[0]) if folders else None


def start_remote_hands(device: Device, restart: Callable[[], None],
                       capture: Callable[[], bytes | None] | None = None, *,
                       interval: float = COMMANDS_EVERY_S) -> RemoteHands | None:
    """With a hub, follow the supervisor's commands until the device closes. `capture` gives a
    PNG of the screen (kiosks and screens); the process should end with `exit_code`."""
    if device.hub is None:
        return None
    uploader = ScreenshotUploader(device.hub, capture, every_minutes=0) if capture else None
    hands = RemoteHands(device.hub, device.device.data_dir / DONE_FILE, restart=restart,
                        screenshot=(lambda: send_screenshot(uploader)) if uploader else None,
                        runtime_dir=runtime_folder(), interval=interval).start()
    device.workers.append(hands)
    return hands
