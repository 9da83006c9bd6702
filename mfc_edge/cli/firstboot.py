"""`mfc-edge firstboot`: make a fresh Raspberry Pi a device of its center from the one file a
technician put on its boot partition (mfc_edge/boot_file.py), with nobody at a keyboard.

One try: read and check the file; write the CA and the device's own file from its role's
example; join the Wi-Fi it names; install the role (`mfc-edge provision ROLE`); enroll with the
hub over HTTPS, trusting only the center's CA; scrub the code and Wi-Fi password from the file;
enable and start the role's service; rename the file to mfc-edge.toml.done, which also keeps the
first-boot unit (ConditionPathExists on the file) from running again. Each step can be run again:
a try that failed half-way is simply made again, after a pause that grows up to five minutes.

The technician sees each step and each failure as one logged line, which the command also
writes plainly to standard output: the unit sends that to the screen (tty1) and the journal. A
console without a screen shows it on its help button's LED. System commands go through one
`run` function, which tests replace.
"""
from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfc_edge.cli.wifi_keyfile import write_keyfile

log = logging.getLogger("mfc_edge.firstboot")

BOOT_DIR = Path("/boot/firmware")
ETC_DIR = Path("/etc/mfc-edge")
VAR_DIR = Path("/var/lib/mfc-edge")
NETWORK_DIR = Path("/etc/NetworkManager/system-connections")
CA_FILE = "hub-ca.pem"
RETRY_FIRST_S, RETRY_MAX_S = 10.0, 300.0
EXAMPLES = Path(__file__).resolve().parent.parent / "data"


class FirstBootError(Exception):
    """A step that failed: the message is one line for the technician, with what to do."""


def run_system(command: list[str]) -> None:
    """Run a system command; FirstBootError with its last line of output when it fails."""
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as exc:
        raise FirstBootError(f"`{' '.join(command)}` could not run: {exc.strerror or exc}") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}").splitlines()[-1]
        raise FirstBootError(f"`{' '.join(command)}` failed: {said}")


@dataclass(frozen=True)
class Places:
    boot: Path = BOOT_DIR
    etc: Path = ETC_DIR
    var: Path = VAR_DIR
    network: Path = NETWORK_DIR

    @property
    def boot_file(self) -> Path:
        return self.boot / "mfc-edge.toml"

    @property
    def done_file(self) -> Path:
        return self.boot / "mfc-edge.toml.done"


class StatusLed:
    """The help button's LED as the console's only screen: a short flash every two seconds while
    setting up, fast blinking after a failure, off when done (the console's app takes the pin)."""

    def __init__(self, pin: int, pin_factory: Any = None):
        self.mode = "off"  # working | failed | off: what it shows, for tests
        self._led: Any = None
        try:
            from gpiozero import LED

            with warnings.catch_warnings():  # gpiozero warns for each pin library it cannot load
                warnings.simplefilter("ignore")
                self._led = LED(pin, pin_factory=pin_factory)
        except Exception as exc:  # noqa: BLE001 - the LED is a courtesy: no GPIO here must not stop the set-up
            log.info("no status LED on GPIO%s: %s", pin, exc)

    def working(self) -> None:
        self._blink("working", on_time=0.2, off_time=1.8)

    def failed(self) -> None:
        self._blink("failed", on_time=0.1, off_time=0.1)

    def _blink(self, mode: str, on_time: float, off_time: float) -> None:
        if self._led is not None and mode != self.mode:
            self.mode = mode
            self._led.blink(on_time=on_time, off_time=off_time)

    def close(self) -> None:
        self.mode = "off"
        if self._led is not None:
            self._led.close()
            self._led = None


class FirstBoot:
    def __init__(self, places: Places, run: Callable[[list[str]], None] = run_system, pin_factory: Any = None):
        self.places, self.run, self.pin_factory = places, run, pin_factory
        self.led: StatusLed | None = None

    def attempt(self) -> None:
        """One try at every step; FirstBootError at the first that fails."""
        from mfc_edge import boot_file

        try:
            boot = boot_file.read(self.places.boot_file)
        except boot_file.BootFileError as exc:
            raise FirstBootError(f"{exc}. Correct the file on the boot partition") from None
        log.info("setting up %s, a %s of center %s", boot.device_id, boot.role, boot.center)
        device = self._write_files(boot)
        help_button = device.console.help_button if device.console else None
        if self.led is None and help_button and help_button.led is not None:
            self.led = StatusLed(help_button.led, self.pin_factory)
        if self.led:
            self.led.working()
        if boot.wifi_ssid:
            self._join_wifi(boot.wifi_ssid, boot.wifi_psk, boot.wifi_country)
        log.info("installing the %s's programs (this can take many minutes)", boot.role)
        self.run([sys.executable, "-m", "mfc_edge.cli", "provision", boot.role])
        self._enroll(device, boot.code)
        boot_file.scrub(self.places.boot_file)
        unit = f"mfc-edge-{boot.role}.service"
        if self.led:
            self.led.close()  # before the service starts: its app drives the same pin
            self.led = None
        log.info("starting %s", unit)
        # --no-block: this unit is ordered before the role's, whose start would wait for it to end
        self.run(["systemctl", "enable", "--now", "--no-block", unit])
        os.replace(self.places.boot_file, self.places.done_file)
        log.info("done: %s is enrolled with %s and running", boot.device_id, boot.hub_url)

    def _write_files(self, boot: Any) -> Any:
        """The CA and the device's own file, checked as the device will read it."""
        from mfc_edge.boot_file import device_file
        from mfc_edge.config import ConfigError, load_config
        from mfc_edge.files import atomic_write

        atomic_write(self.places.etc / CA_FILE, boot.ca_pem, mode=0o644)
        example = (EXAMPLES / f"{boot.role}.example.toml").read_text(encoding="utf-8")
        path = atomic_write(self.places.etc / f"{boot.role}.toml",
                            device_file(boot, example, CA_FILE, str(self.places.var)), mode=0o644)
        try:
            return load_config(path)
        except ConfigError as exc:
            raise FirstBootError(f"the device file made from mfc-edge.toml is not valid: {exc}") from None

    def _join_wifi(self, ssid: str, psk: str | None, country: str | None) -> None:
        keyfile = self.places.network / "mfc-edge-wifi.nmconnection"
        if psk is None and keyfile.exists():
            return  # the password was scrubbed from the boot file after an earlier try had written it
        log.info("joining the Wi-Fi network %s", ssid)
        if country:
            # Raspberry Pi OS blocks the radio (rfkill) until a country is set; this sets it and unblocks.
            self.run(["raspi-config", "nonint", "do_wifi_country", country])
        write_keyfile(self.places.network, ssid, psk)
        self.run(["nmcli", "connection", "reload"])
        try:
            self.run(["nmcli", "connection", "up", "mfc-edge-wifi"])
        except FirstBootError as exc:
            raise FirstBootError(f"could not join the Wi-Fi network {ssid} ({exc}): check its name and password "
                                 "in mfc-edge.toml and that the device is in range") from None

    def _enroll(self, device: Any, code: str | None) -> None:
        from offline_cache.enrollment import EnrollmentError, enroll
        from offline_cache.hub_client import TOKEN_FILE

        if (device.data_dir / TOKEN_FILE).exists():
            log.info("%s is already enrolled", device.device_id)
            return
        if code is None:
            raise FirstBootError("mfc-edge.toml has no enrollment code (it was used): make a new file with "
                                 f"`mfc-edge hub device-file --role {device.role}` on the hub and put it on the "
                                 "boot partition")
        log.info("enrolling with the hub at %s", device.hub_url)
        try:
            enrolled = enroll(device, code)
        except EnrollmentError as exc:
            raise FirstBootError(f"could not enroll: {exc}") from None
        _owned_like(device.data_dir, [enrolled.token_file, enrolled.bundle_key_file])

    def until_done(self, once: bool = False, sleep: Callable[[float], None] = time.sleep) -> int:
        """Try until every step has worked (or once); 0 when done, 1 after a failed single try."""
        if not self.places.boot_file.exists():
            if self.places.done_file.exists():
                log.info("this device is already set up")
                return 0
            log.error("no %s: nothing to set up", self.places.boot_file)
            return 1
        pause = RETRY_FIRST_S
        while True:
            try:
                self.attempt()
                return 0
            except (FirstBootError, OSError, ValueError) as exc:
                # ValueError: a device file, token or key refused by the checks it was written for.
                if self.led:
                    self.led.failed()
                reason = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else exc
                if once:
                    log.error("FAILED: %s", reason)
                    return 1
                log.error("FAILED: %s. Trying again in %.0f s", reason, pause)
            sleep(pause)
            pause = min(pause * 2, RETRY_MAX_S)


def _owned_like(folder: Path, paths: list[Path | None]) -> None:
    """Give files written as root to the owner of their folder: the app runs as its own user."""
    owner = folder.stat()
    for path in paths:
        if path is not None and (path.stat().st_uid, path.stat().st_gid) != (owner.st_uid, owner.st_gid):
            os.chown(path, owner.st_uid, owner.st_gid)


def cmd_firstboot(args: argparse.Namespace) -> int:
    # Plain lines on standard output, which the unit shows on tty1 and keeps in the journal.
    to_screen = logging.StreamHandler(sys.stdout)
    to_screen.setFormatter(logging.Formatter("mfc-edge first boot: %(message)s"))
    log.addHandler(to_screen)
    log.propagate = False
    places = Places(boot=args.boot, etc=args.etc, var=args.var, network=args.network)
    return FirstBoot(places).until_done(once=args.once)


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("firstboot", cmd_firstboot, "Set this device up from mfc-edge.toml on its boot partition (run once by "
                                        "mfc-edge-firstboot.service; tries again until it works).")
    p.add_argument("--boot", type=Path, default=BOOT_DIR, help=f"the boot partition (default {BOOT_DIR})")
    p.add_argument("--etc", type=Path, default=ETC_DIR, help=f"where the device file goes (default {ETC_DIR})")
    p.add_argument("--var", type=Path, default=VAR_DIR, help=f"the device's data folder (default {VAR_DIR})")
    p.add_argument("--network", type=Path, default=NETWORK_DIR,
                   help=f"NetworkManager's connections folder (default {NETWORK_DIR})")
    p.add_argument("--once", action="store_true", help="one try: exit 1 when a step fails")
