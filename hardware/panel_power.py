"""The screen's panel asleep outside opening hours and awake before opening.

Backends, each with `sleep()` and `wake()` that report success and never raise:
- `CecPanel`: a TV over HDMI-CEC, through `cec-ctl` (Debian's v4l-utils) on the kernel's
  /dev/cecN: "standby" and "image view on", the two messages every CEC TV obeys.
- `BacklightPanel`: a DSI panel (the official Raspberry Pi displays), whose backlight the kernel
  switches through /sys/class/backlight/*/bl_power.
- `SimulatedPanel`: remembers what it was told, for tests and the demo.
- `NoPanelControl`: for a panel none of these reach: it stays lit, and the log says so once.

A KMS/DRM app holds the display, so no other program can send the panel DPMS "off"; where
neither CEC nor a backlight reaches it, the panel stays on and shows the closed screen.

`PanelSchedule` decides: awake while the center is open and during the `wake_before` that
precedes opening, asleep otherwise. It reads the device's clock, so tests move time by hand.
"""
from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Protocol

from hardware.clock import Clock

log = logging.getLogger(__name__)

# A switch that failed (TV unplugged, CEC busy, a TV without CEC) is tried again after a minute,
# then after twice as long each time up to an hour, so a panel that never answers is not a
# warning a minute all night.
RETRY_AFTER, RETRY_AT_MOST = timedelta(minutes=1), timedelta(hours=1)
# One CEC message takes well under a second. The switch runs on the app's loop: at most two
# commands of 3 s each stay well inside the watchdog's 30 s, with pings every 15 s.
CEC_TIMEOUT_S = 3.0
SYS_BACKLIGHT = Path("/sys/class/backlight")
BL_POWER_ON, BL_POWER_OFF = "0", "4"  # FB_BLANK_UNBLANK, FB_BLANK_POWERDOWN
PANEL_CHOICES = ("auto", "cec", "backlight", "none")


class PanelPower(Protocol):
    name: str

    def sleep(self) -> bool: ...

    def wake(self) -> bool: ...


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=CEC_TIMEOUT_S, check=False)


class CecPanel:
    """A TV over HDMI-CEC. The adapter first claims a playback device's logical address (once per
    run); messages then go to the TV, logical address 0."""

    name = "HDMI-CEC"

    def __init__(self, device: str = "/dev/cec0", *, command: str = "cec-ctl", run: Runner = run_command):
        self.device, self.command, self.run = device, command, run
        self._configured = False

    def _cec(self, *args: str) -> bool:
        argv = [self.command, "--device", self.device, *args]
        try:
            done = self.run(argv)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("panel: %s failed: %s", " ".join(argv), exc)
            return False
        if done.returncode != 0:
            said = (done.stderr or done.stdout or "").strip().splitlines()
            log.warning("panel: %s failed (%d): %s", " ".join(argv), done.returncode, said[-1] if said else "")
            return False
        return True

    def _send(self, message: str) -> bool:
        if not self._configured:
            self._configured = self._cec("--playback", "--osd-name", "mfc-edge")
        return self._configured and self._cec("--to", "0", f"--{message}")

    def sleep(self) -> bool:
        return self._send("standby")

    def wake(self) -> bool:
        return self._send("image-view-on")


class BacklightPanel:
    """A panel with a kernel backlight device (DSI). Writing bl_power needs a udev rule that gives
    the app's group write access; without it the panel stays lit and the log says why."""

    name = "backlight"

    def __init__(self, device: Path):
        self.device = device

    def _write(self, value: str) -> bool:
        try:
            (self.device / "bl_power").write_text(value)
        except OSError as exc:
            log.warning("panel: cannot switch %s: %s", self.device / "bl_power", exc)
            return False
        return True

    def sleep(self) -> bool:
        return self._write(BL_POWER_OFF)

    def wake(self) -> bool:
        return self._write(BL_POWER_ON)


@dataclass
class SimulatedPanel:
    name: str = "simulated"
    asleep: bool = False
    changes: list[str] = field(default_factory=list)

    def sleep(self) -> bool:
        self.asleep = True
        self.changes.append("sleep")
        return True

    def wake(self) -> bool:
        self.asleep = False
        self.changes.append("wake")
        return True


class NoPanelControl:
    """Nothing to switch: sleeping "succeeds" at doing nothing, so it is said once, not retried."""

    name = "none"

    def __init__(self, why: str):
        self.why = why

    def sleep(self) -> bool:
        log.info("panel: stays lit outside opening hours: %s", self.why)
        return True

    def wake(self) -> bool:
        return True


def find_panel(choice: str = "auto", *, backlights: Path = SYS_BACKLIGHT, cec_devices: Path = Path("/dev"),
               command: str = "cec-ctl") -> PanelPower:
    """The backend for a setting of `panel`: a DSI backlight first (it is the panel itself), then
    HDMI-CEC when the kernel has an adapter and cec-ctl is installed."""
    if choice not in PANEL_CHOICES:
        raise ValueError(f"panel = {choice!r}: expected one of {', '.join(PANEL_CHOICES)}")
    if choice in ("auto", "backlight"):
        found = sorted(backlights.glob("*/bl_power")) if backlights.is_dir() else []
        if found:
            return BacklightPanel(found[0].parent)
        if choice == "backlight":
            return NoPanelControl(f"no backlight in {backlights}")
    if choice in ("auto", "cec"):
        adapters = sorted(cec_devices.glob("cec[0-9]*"))
        if adapters and shutil.which(command):
            return CecPanel(str(adapters[0]), command=command)
        if choice == "cec":
            return NoPanelControl(f"no {cec_devices}/cecN adapter" if not adapters else
                                  f"{command} is not installed (Debian package v4l-utils)")
    return NoPanelControl('panel = "none"' if choice == "none" else "no HDMI-CEC adapter or backlight found")


class OpeningHours(Protocol):
    def is_open(self, local_date: date, local_time: time) -> bool: ...


class PanelSchedule:
    """Puts the panel to sleep after closing and wakes it `wake_before` ahead of opening.

    `update()` is cheap and meant to be called every few seconds from the app's loop; it tells
    the panel only when the wanted state changes (and once at the start: a panel left asleep by
    a previous run must come back on in opening hours). A failed switch is tried again later
    (RETRY_AFTER)."""

    def __init__(self, panel: PanelPower, clock: Clock, hours: OpeningHours, timezone: tzinfo,
                 wake_before: timedelta = timedelta(minutes=15)):
        self.panel, self.clock, self.hours, self.timezone = panel, clock, hours, timezone
        self.wake_before = wake_before
        self.asleep: bool | None = None  # None: not told anything yet
        self._retry_at: datetime | None = None
        self._failures = 0

    def _open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        return self.hours.is_open(local.date(), local.time())

    def wanted_awake(self) -> bool:
        now = self.clock.now()
        return self._open_at(now) or self._open_at(now + self.wake_before)

    def update(self) -> bool:
        """Apply the schedule; whether the panel is (meant to be) asleep now."""
        sleep = not self.wanted_awake()
        now = self.clock.now()
        if sleep == self.asleep or (self._retry_at is not None and now < self._retry_at):
            return sleep
        if self.panel.sleep() if sleep else self.panel.wake():
            log.info("panel (%s): %s", self.panel.name, "to sleep until opening" if sleep else "awake")
            self.asleep, self._retry_at, self._failures = sleep, None, 0
        else:
            self._retry_at = now + min(RETRY_AFTER * 2 ** self._failures, RETRY_AT_MOST)
            self._failures += 1
        return sleep
