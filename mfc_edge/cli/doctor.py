"""`mfc-edge doctor`: a technician's check of one device, one line per check.

Each check says "ok", "WARN" or "FAIL" with what it found and, for a warning or a failure,
a hint at the fix; the command exits 1 when anything failed. Everything a check looks at
(the disk, the clock, the environment, the pins, the printer, the Raspberry Pi's sysfs and
firmware) can be swapped for tests, so a full disk, an unsynchronised clock or an
under-voltage need not be real to be tested.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import sqlite3
import subprocess
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

from mfc_edge import protocol
from mfc_edge.config import DeviceConfig

MIN_FREE_BYTES = 200 * 1024 * 1024
MAX_CLOCK_SKEW_S = 10.0
OUTBOX_MAX_EVENTS = 1000
OUTBOX_MAX_AGE = timedelta(hours=1)
HOT_CPU_C = 80.0  # the Pi's firmware starts capping the clock at 80 C and throttles hard at 85 C
PI_MODEL = Path("proc/device-tree/model")  # under the board's root
THERMAL_ZONE = Path("sys/class/thermal/thermal_zone0/temp")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    warn: bool = False  # works now, but needs a technician's look; does not fail the command

    def line(self) -> str:
        label = "FAIL" if not self.ok else "WARN" if self.warn else "ok"
        text = f"{label:<5}{self.name:<9}{self.detail}"
        return text + (f" — {self.hint}" if self.hint and (self.warn or not self.ok) else "")


def gpiozero_backend() -> str:
    """The pin backend gpiozero picks on this machine (lgpio, rpigpio, pigpio or native), as it
    picks it: the first that loads. Loading one claims no pin."""
    from gpiozero import Device
    from gpiozero.exc import GPIOZeroError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback warnings are what this check says
        try:
            factory = Device._default_pin_factory()
        except (GPIOZeroError, OSError, RuntimeError) as exc:
            return f"none ({exc})"
    name = type(factory).__name__.removesuffix("Factory").lower()
    factory.close()
    return name


@dataclass(frozen=True)
class Board:
    """Where the Raspberry Pi checks look: the filesystem's root (a fake tree in tests), the
    firmware's command, gpiozero's backend and the machine's architecture."""

    root: Path = Path("/")
    throttled_command: tuple[str, ...] = ("vcgencmd", "get_throttled")
    pin_backend: Callable[[], str] = gpiozero_backend
    has_lgpio: Callable[[], bool] = lambda: importlib.util.find_spec("lgpio") is not None
    machine: str = field(default_factory=platform.machine)

    def model(self) -> str | None:
        try:
            return (self.root / PI_MODEL).read_text(errors="replace").strip("\0\n ")
        except OSError:
            return None


def timedatectl_synchronized() -> bool | None:
    """systemd's view of NTP; None where there is no timedatectl (containers, other systems)."""
    try:
        out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return {"yes": True, "no": False}.get(value) if out.returncode == 0 else None


class Doctor:
    def __init__(self, device: DeviceConfig, *, disk_usage: Callable[[Path], Any] = shutil.disk_usage,
                 ntp_synchronized: Callable[[], bool | None] = timedatectl_synchronized,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 env: dict[str, str] | None = None, pin_factory: Any = None, framebuffer: Path = Path("/dev/fb0"),
                 token: str | None = None, board: Board | None = None):
        from offline_cache.hub_client import CredentialError, load_token

        self.device, self.disk_usage, self.ntp_synchronized, self.now = device, disk_usage, ntp_synchronized, now
        self.env = os.environ if env is None else env
        self.pin_factory, self.framebuffer = pin_factory, framebuffer
        self.board = board or Board()
        self.token_problem = ""
        try:
            self.token = token if token is not None else load_token(device.data_dir)
        except CredentialError as exc:
            self.token, self.token_problem = None, str(exc)
        self._hub_date: datetime | None = None

    def run(self) -> list[Check]:
        return list(self.checks())

    def checks(self) -> Iterator[Check]:
        d = self.device
        if d.printer:
            yield self.printer()
        if d.console:
            yield self.gpio()
        if d.role in ("kiosk", "signage"):
            yield self.display()
        yield from self.raspberry_pi()
        if d.hub_url:
            yield from self.hub()
        yield self.clock()
        yield self.disk()
        yield self.outbox()

    def printer(self) -> Check:
        from hardware.printer import PrinterStatus, TicketPrinter

        status = TicketPrinter(self.device.printer.uri, self.device.printer.timeout).status()
        where = self.device.printer.uri
        if status is PrinterStatus.NO_STATUS:
            return Check("printer", True, f"{where}: connected; it answers no status queries, paper unknown")
        if status is PrinterStatus.PAPER_NEAR_END:
            return Check("printer", True, f"{where}: paper near its end — put in a new roll soon")
        hints = {PrinterStatus.UNREACHABLE: "is it on and connected? check [printer] uri and USB permissions (udev)",
                 PrinterStatus.PAPER_OUT: "put in a new paper roll", PrinterStatus.COVER_OPEN: "close the cover",
                 PrinterStatus.OFFLINE: "the printer reports an error: switch it off and on, check for a jam"}
        return Check("printer", status is PrinterStatus.OK, f"{where}: {status.value}", hints.get(status, ""))

    def gpio(self) -> Check:
        from gpiozero import DigitalInputDevice
        from gpiozero.exc import GPIOZeroError

        pins = self.device.console.pins()
        opened = []
        try:
            for pin in sorted(pins):
                opened.append(DigitalInputDevice(pin, pin_factory=self.pin_factory))
        except (GPIOZeroError, OSError, RuntimeError) as exc:
            return Check("gpio", False, f"GPIO{pin} ({pins[pin]}): {exc.__class__.__name__}: {exc}",
                         "run as a user in the gpio group, stop any other program using the pins, "
                         "or use --simulate away from a Raspberry Pi")
        finally:
            for device in opened:
                device.close()
        return Check("gpio", True, f"{len(pins)} pins free: " + ", ".join(f"GPIO{p}" for p in sorted(pins)))

    def display(self) -> Check:
        for name in ("DISPLAY", "WAYLAND_DISPLAY"):
            if self.env.get(name):
                return Check("display", True, f"{name}={self.env[name]}")
        if self.env.get("SDL_VIDEODRIVER") == "offscreen":
            return Check("display", True, "offscreen (SDL_VIDEODRIVER=offscreen): nothing is shown")
        if self.framebuffer.exists():
            return Check("display", True, f"framebuffer {self.framebuffer}")
        return Check("display", False, "no DISPLAY, WAYLAND_DISPLAY or framebuffer",
                     "check the panel's cable and that the desktop session started")

    def raspberry_pi(self) -> Iterator[Check]:
        model = self.board.model()
        if not model or "Raspberry Pi" not in model:
            yield Check("board", True, "not a Raspberry Pi: pin backend, CPU temperature and power not checked")
            return
        yield Check("board", True, model)
        if self.device.console:
            yield self.pin_backend()
        yield self.cpu_temperature()
        yield self.power()

    def pin_backend(self) -> Check:
        backend = self.board.pin_backend()
        if backend == "native" and self.board.machine == "aarch64" and not self.board.has_lgpio():
            return Check("pins", True, "gpiozero falls back to its native backend: lgpio is not installed",
                         "window buttons do not work on a Pi 5 or a kernel >= 6.6: provision the console role "
                         "again (it installs lgpio)", warn=True)
        if backend.startswith("none"):
            return Check("pins", False, f"gpiozero has no pin backend: {backend}", "provision the console role again")
        return Check("pins", True, f"gpiozero pin backend: {backend}")

    def cpu_temperature(self) -> Check:
        from hardware.board import cpu_temperature_c

        celsius = cpu_temperature_c(self.board.root / THERMAL_ZONE)
        if celsius is None:
            return Check("cpu", True, f"temperature unknown: no /{THERMAL_ZONE}", "a Pi kernel has it: check the OS",
                         warn=True)
        hot = celsius >= HOT_CPU_C
        return Check("cpu", True, f"{celsius:.1f} C" + (" — hot, the Pi slows down" if hot else ""),
                     "give the case air or a fan, keep it out of the sun", warn=hot)

    def power(self) -> Check:
        from hardware.board import throttling

        flags = throttling(self.board.throttled_command)
        if flags is None:
            return Check("power", True, f"not checked: `{' '.join(self.board.throttled_command)}` gave no answer",
                         "install raspi-utils (vcgencmd) and add the user to the video group", warn=True)
        now, since_boot = flags["now"], flags["since_boot"]
        said = "; ".join([*(["now: " + ", ".join(now)] if now else []),
                          *(["since boot: " + ", ".join(since_boot)] if since_boot else [])])
        detail = f"{flags['raw']}: {said}" if said else f"{flags['raw']}: no under-voltage or throttling since boot"
        hint = ("use the official power supply (5.1 V, 3 A; 5 A for a Pi 5) and a short thick cable"
                if "under-voltage" in [*now, *since_boot] else "cool the Pi: see the cpu line")
        return Check("power", "under-voltage" not in now, detail, hint, warn=bool(said))

    def hub(self) -> Iterator[Check]:
        from offline_cache.hub_client import HubClient

        if self.token_problem:  # said whether or not the hub answers: enrolling again is the fix
            yield Check("token", False, self.token_problem, "run `mfc-edge enroll --code …` with a code from the hub")
        url = self.device.hub_url
        hub = HubClient(url, self.token, ca_file=self.device.hub_ca_file, timeout=5)
        try:
            yield from self._hub(hub)
        finally:
            hub.close()

    def _hub(self, hub: Any) -> Iterator[Check]:
        url = hub.url
        try:
            reply = hub.get(protocol.HEALTH_PATH)
        except requests.RequestException as exc:
            yield Check("hub", False, f"{url}: unreachable ({exc.__class__.__name__})",
                        "check the network, [hub] url and, for HTTPS, [hub] ca_file")
            return
        if "Date" in reply.headers:
            self._hub_date = parsedate_to_datetime(reply.headers["Date"])
        yield Check("hub", reply.status_code == 200, f"{url}: answered {reply.status_code}",
                    "the hub is up but unwell: see its log")
        if self.token_problem:
            return
        if not self.token:
            yield Check("token", False, "not enrolled", "run `mfc-edge enroll --code …` with a code from the hub")
            return
        try:
            reply = hub.get(protocol.FEED_PATH)
        except requests.RequestException as exc:
            yield Check("token", False, f"not checked: the hub went away ({exc.__class__.__name__})",
                        "check the network")
            return
        yield Check("token", reply.status_code == 200, "accepted by the hub" if reply.status_code == 200 else
                    f"refused ({reply.status_code})", "the device was revoked or re-enrolled elsewhere: enroll again")

    def clock(self) -> Check:
        synced = self.ntp_synchronized()
        if synced is not None:
            return Check("clock", synced, "NTP synchronized" if synced else "not synchronized with NTP",
                         "check the network and `timedatectl timesync-status`; tickets are dated by this clock")
        if self._hub_date is None:
            return Check("clock", False, "cannot tell: no timedatectl and no hub to compare with",
                         "enable systemd-timesyncd or configure [hub] url")
        skew = (self.now() - self._hub_date).total_seconds()
        return Check("clock", abs(skew) <= MAX_CLOCK_SKEW_S, f"{skew:+.0f} s from the hub's clock",
                     "set up NTP (systemd-timesyncd); a Raspberry Pi has no battery clock")

    def disk(self) -> Check:
        folder = self.device.data_dir
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = self.disk_usage(folder).free
        return Check("disk", free >= MIN_FREE_BYTES, f"{free / 2**20:.0f} MB free in {folder}",
                     f"free at least {MIN_FREE_BYTES // 2**20} MB: old logs (`journalctl --vacuum-size`), files")

    def outbox(self) -> Check:
        name = "kiosk.sqlite" if self.device.role == "kiosk" else f"{self.device.role}.sqlite"
        path = self.device.data_dir / name
        if not path.exists():
            return Check("outbox", True, "empty (no store yet)")
        # Read-only: the device may be running, and opening its store for writing would change it.
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            count, oldest = conn.execute("SELECT count(*), min(at) FROM outbox").fetchone()
        if not count:
            return Check("outbox", True, "empty: the hub has every event")
        age = self.now() - datetime.fromisoformat(oldest)
        ok = count <= OUTBOX_MAX_EVENTS and age <= OUTBOX_MAX_AGE
        return Check("outbox", ok, f"{count} events waiting, the oldest from {age.total_seconds() / 60:.0f} min ago",
                     "the hub has not taken them: see the hub and token lines, and the device's log")


def run_doctor(device: DeviceConfig, out: Callable[[str], object] = print, **options: Any) -> int:
    checks = Doctor(device, **options).run()
    for check in checks:
        out(check.line())
    return 0 if all(c.ok for c in checks) else 1
