"""Boot it for real: a center's hub and a kiosk on one Debian bookworm machine, provisioned with
the real `./setup.sh provision` and booted by a real systemd (systemd-nspawn), on a network of
its own.

The first boot provisions both roles; the hub names its center and makes a first-boot file,
which the kiosk's first-boot unit takes as it would from a card's boot partition (it enrolls
with the hub over HTTPS, checked against the center's CA, then starts the kiosk). The kiosk
must report its absent printer, and once its loop is frozen (SIGSTOP) the watchdog must
restart it. The second boot must bring both back with nobody touching them; provisioning
again must change nothing, and the app's reboot request must reboot the machine.

Root only: building and booting containers needs it, which CI has; anywhere else the test is
skipped with that reason.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mfc_edge.provision.roles import role_named
from tests.helpers.container import (
    REBOOTED,
    BootResult,
    ContainerError,
    Machine,
    boot,
    build_userland,
    copy_source,
    missing_tools,
    read_show,
    wheelhouse,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
HUB_UNIT, KIOSK_UNIT, FIRSTBOOT_UNIT = "mfc-edge-hub.service", "mfc-edge-kiosk.service", "mfc-edge-firstboot.service"
WATCHDOG_S = 30  # the device units' WatchdogSec
ROLES = ("hub", "kiosk")

_HUB_COMMAND = 'hub() { runuser -u mfc-edge -- /opt/mfc-edge/current/bin/mfc-edge hub "$@" --data /var/lib/mfc-edge/hub; }\n'

FIRST_BOOT = _HUB_COMMAND + f"""\
cd /usr/local/src/mfc-edge
for role in {' '.join(ROLES)}; do
  stage "provision-$role"
  ./setup.sh provision "$role" --wheels /wheels > "/probe/provision-$role.out" 2>&1 \\
    || fail "./setup.sh provision $role: $(tail -n 3 "/probe/provision-$role.out")"
done
# The one difference from a Pi: no panel here, so SDL draws offscreen (Mesa's software
# renderer) instead of through KMS/DRM.
mkdir -p /etc/systemd/system/{KIOSK_UNIT}.d
printf '[Service]\\nEnvironment=SDL_VIDEODRIVER=offscreen\\n' > /etc/systemd/system/{KIOSK_UNIT}.d/headless.conf
systemctl daemon-reload
stage hub-start
hub set-center --center strogino --timezone Europe/Moscow --name "МФЦ Строгино" || fail "hub set-center"
systemctl start {HUB_UNIT}
record first {HUB_UNIT}
active {HUB_UNIT} || fail "{HUB_UNIT} did not start"
stage firstboot
# What a technician does at the hub, and then puts on the kiosk's card.
mkdir -p /boot/firmware
hub device-file --role kiosk > /boot/firmware/mfc-edge.toml 2> /probe/device-file.err \\
  || fail "hub device-file: $(cat /probe/device-file.err)"
systemctl start --no-block {FIRSTBOOT_UNIT}
# It enrolls, then starts the kiosk: seconds here (nothing to fetch), three minutes at most.
wait_for 180 active {KIOSK_UNIT}
record first {FIRSTBOOT_UNIT}
record first {KIOSK_UNIT}
[ "$(show {FIRSTBOOT_UNIT} ActiveState) $(show {FIRSTBOOT_UNIT} Result)" = "active success" ] || fail \\
  "{FIRSTBOOT_UNIT} did not finish: $(journalctl -b -u {FIRSTBOOT_UNIT} -o cat | tail -n 3)"
active {KIOSK_UNIT} || fail "{KIOSK_UNIT} not active after the first-boot unit"
stage printer-check
# The device file names the example's USB printer, which this machine has not.
printer_trouble() {{ show {KIOSK_UNIT} StatusText | grep -q "printer" && ! show {KIOSK_UNIT} StatusText | grep -q "printer ok"; }}
wait_for 75 printer_trouble
record printer {KIOSK_UNIT}
stage freeze
kill -STOP "$(show {KIOSK_UNIT} MainPID)" || fail "could not freeze the kiosk"
restarted() {{ [ "$(show {KIOSK_UNIT} NRestarts)" -ge 1 ] && active {KIOSK_UNIT}; }}
wait_for {WATCHDOG_S * 4} restarted
record watchdog {KIOSK_UNIT}
record watchdog {HUB_UNIT}
restarted || fail "the frozen kiosk was not restarted"
"""

SECOND_BOOT = f"""\
stage up
wait_for 60 active {HUB_UNIT}
wait_for 120 active {KIOSK_UNIT}
for unit in {HUB_UNIT} {KIOSK_UNIT} {FIRSTBOOT_UNIT}; do record second "$unit"; done
stage provision-again
cd /usr/local/src/mfc-edge
for role in {' '.join(ROLES)}; do
  ./setup.sh provision "$role" --wheels /wheels > "/probe/provision-again-$role.out" 2>&1 \\
    || fail "./setup.sh provision $role again: $(tail -n 3 "/probe/provision-again-$role.out")"
done
stage reboot
reboot_as_the_app_asks
"""


def userland_packages(roles: Iterable[str]) -> list[str]:
    """The Debian packages the roles need, so provisioning finds them all (the machine has no
    network to fetch them): of alternatives ("a|b"), one already wanted, else the first."""
    wanted: list[str] = []
    needs = [package for role in roles for package in role_named(role).debian_packages]
    for need in sorted(needs, key=lambda package: "|" in package):
        choices = need.split("|")
        if not set(choices) & set(wanted):
            wanted.append(choices[0])
    return wanted


@dataclass
class Boots:
    probe: Path  # every record the machine wrote
    first: BootResult
    second: BootResult | None  # None when the first boot failed: its failure is the one to read

    def show(self, label: str, unit: str) -> dict[str, str]:
        return read_show(self.probe / f"hub-{label}-{unit}.show")

    def journal(self, label: str, unit: str) -> str:
        path = self.probe / f"hub-{label}-{unit}.journal"
        return path.read_text(errors="replace") if path.exists() else ""

    def problems(self) -> str:
        """What the probe reported failing and the tail of its log, for assertion messages."""
        failed, log = self.probe / "hub.failed", self.probe / "hub.log"
        if not failed.exists():
            return f"records in {self.probe}"
        return f"{failed.read_text().strip()}\n{log.read_text()[-2000:]}\nrecords in {self.probe}"


def _say(probe: Path, line: str) -> None:
    """A stage's time: printed (pytest shows it with -rP or on failure) and kept with the records."""
    print(f"boot test: {line}")
    with (probe / "timings.txt").open("a") as timings:
        timings.write(line + "\n")


@pytest.fixture(scope="module")
def boots() -> Iterator[Boots]:
    if os.geteuid() != 0:
        pytest.skip("only root can build and boot containers (CI runs as root)")
    if missing_tools():
        pytest.fail(f"the boot test needs the Debian packages {', '.join(missing_tools())}: ./setup.sh install "
                    "installs them")
    probe = REPO / "var" / "boot-test"  # the last run's records, kept to be read
    shutil.rmtree(probe, ignore_errors=True)
    probe.mkdir(parents=True)
    # The machine's root (about 600 MB) goes when the test ends; the records stay.
    with tempfile.TemporaryDirectory(prefix="mfc-edge-boot-") as scratch:
        # "hub" names the machine, hence the hub's certificate and the address in its device
        # files (hub.local, which mDNS answers in a center and the hosts file here).
        machine = Machine("hub", Path(scratch) / "root", hosts={"hub.local": "127.0.0.1"})
        try:
            yield _boot_twice(probe, machine)
        except ContainerError as exc:
            pytest.fail(f"{exc}\nrecords in {probe}")


def _boot_twice(probe: Path, machine: Machine) -> Boots:
    started = time.monotonic()
    wheels = wheelhouse(REPO, ",".join(ROLES))
    _say(probe, f"wheelhouse {time.monotonic() - started:.0f} s ({wheels})")
    started = time.monotonic()
    build_userland(machine.root, userland_packages(ROLES))
    copy_source(REPO, machine.root)
    _say(probe, f"userland by mmdebstrap {time.monotonic() - started:.0f} s")
    first = boot(machine, FIRST_BOOT, probe, wheels, timeout=900)
    _report_boot(probe, "first boot", first)
    if (probe / "hub.failed").exists():
        return Boots(probe, first, None)
    second = boot(machine, SECOND_BOOT, probe, wheels, timeout=300)
    _report_boot(probe, "second boot", second)
    return Boots(probe, first, second)


def _report_boot(probe: Path, what: str, result: BootResult) -> None:
    stages = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in result.stages)
    _say(probe, f"{what} {result.seconds:.0f} s: {stages}")


def test_provisioned_hub_and_kiosk_come_up_active(boots: Boots) -> None:
    hub, kiosk = boots.show("first", HUB_UNIT), boots.show("first", KIOSK_UNIT)
    assert hub.get("ActiveState") == "active" and hub.get("SubState") == "running", boots.problems()
    assert boots.show("first", FIRSTBOOT_UNIT).get("Result") == "success", boots.journal("first", FIRSTBOOT_UNIT)
    assert kiosk.get("ActiveState") == "active" and kiosk.get("SubState") == "running", boots.problems()


def test_kiosk_reported_ready_and_its_missing_printer(boots: Boots) -> None:
    # Type=notify: "active" came only with READY=1; the status line is the kiosk's own. The
    # device file's printer is the example's USB one, which this machine has not.
    assert boots.show("first", KIOSK_UNIT).get("ActiveState") == "active", boots.problems()
    kiosk = boots.show("printer", KIOSK_UNIT)
    assert kiosk.get("ActiveState") == "active", boots.problems()
    assert "printer" in kiosk["StatusText"] and "printer ok" not in kiosk["StatusText"], kiosk


def test_frozen_kiosk_is_restarted_by_the_watchdog(boots: Boots) -> None:
    after = boots.show("watchdog", KIOSK_UNIT)
    journal = boots.journal("watchdog", KIOSK_UNIT)
    assert f"Watchdog timeout (limit {WATCHDOG_S}s)" in journal, boots.problems()
    assert int(after["NRestarts"]) >= 1 and after["ActiveState"] == "active", after
    assert after["MainPID"] != boots.show("first", KIOSK_UNIT)["MainPID"]
    assert boots.show("watchdog", HUB_UNIT).get("NRestarts") == "0", "the hub was restarted too"


def test_reboot_brings_everything_back(boots: Boots) -> None:
    assert boots.first.exit_code == 0 and boots.second is not None, boots.problems()
    for unit in (HUB_UNIT, KIOSK_UNIT):
        found = boots.show("second", unit)
        assert found.get("ActiveState") == "active" and found.get("NRestarts") == "0", (unit, found)
    # The card's file was used up by the first boot: the device is not set up again.
    assert boots.show("second", FIRSTBOOT_UNIT).get("ActiveState") == "inactive"


def test_provisioning_again_changes_nothing(boots: Boots) -> None:
    assert boots.second is not None, boots.problems()
    for role in ROLES:
        said = (boots.probe / f"provision-again-{role}.out").read_text()
        assert said.startswith("nothing to do"), said


def test_the_apps_reboot_request_reboots_the_machine(boots: Boots) -> None:
    assert boots.second is not None and boots.second.exit_code == REBOOTED, boots.problems()
