"""Real systemd, booted in containers, for the boot test.

A machine is a minimal Debian bookworm userland made by mmdebstrap in a temporary folder and
booted by systemd-nspawn. Each boot runs a "probe": a oneshot unit ordered after
multi-user.target that runs a shell script (the test's steps), writes what it sees into the
shared folder /probe and powers the machine off when the script ends, however it ends (or
reboots it the way the app asks for a reboot).

A machine has a network of its own (--private-network): its loopback is its alone, nothing
reaches or leaves the host's network, and pip inside finds the project's dependencies only in
the wheelhouse bind-mounted at /wheels.

Every step is bounded in time, and a machine still running at its deadline is stopped
(SIGTERM, then SIGKILL): nothing is left behind on the host but the temporary folders.
Needs root, mmdebstrap and systemd-nspawn (Debian's mmdebstrap and systemd-container).
"""
from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SUITE = "bookworm"  # what Raspberry Pi OS Lite (64-bit) is built on
BOOT_PACKAGES = ("systemd", "systemd-sysv", "dbus", "ca-certificates")
TOOLS = {"mmdebstrap": "mmdebstrap", "systemd-nspawn": "systemd-container"}
SOURCE_IN_MACHINE = "/usr/local/src/mfc-edge"
# Not copied into a machine: environments, caches and the run's own files.
_NOT_SOURCE = (".venv", "var", ".git", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache",
               ".pytest_cache")
PROBE_UNIT = "boot-probe.service"
REBOOTED = 133  # systemd-nspawn's exit status when the machine rebooted rather than powered off
PROBE_SCRIPT = "usr/local/sbin/boot-probe"

# Ordered after multi-user.target, so the roles' units have started (a Type=notify unit counts
# as started when it reported READY=1) or failed before the probe looks. The script powers the
# machine off when it ends, unless it asked for a reboot instead.
_PROBE_UNIT_TEXT = f"""\
[Unit]
Description=boot test probe
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/{PROBE_SCRIPT}
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
"""

# Shell functions every probe script may use. Records are files in /probe named
# MACHINE-LABEL-UNIT.show (systemctl show) and .journal; `stage` logs when each step began.
PROBE_PRELUDE = """\
#!/bin/sh
set -u
machine=$(cat /etc/hostname)
exec >>"/probe/$machine.log" 2>&1
trap 'stage end; systemctl poweroff --no-block' EXIT
stage() { echo "$1 $(date +%s.%N)" >> /probe/stages; echo "== $1"; }
fail() { echo "$*" >> "/probe/$machine.failed"; echo "FAILED: $*"; exit 1; }
# wait_for SECONDS COMMAND...: run COMMAND each second until it succeeds; false after SECONDS.
wait_for() {
  left=$1; shift
  until "$@"; do
    left=$((left - 1)); [ "$left" -gt 0 ] || return 1; sleep 1
  done
}
active() { [ "$(systemctl is-active "$1")" = active ]; }
show() { systemctl show -p "$2" --value "$1"; }
record() {  # record LABEL UNIT
  systemctl show -p ActiveState,SubState,Result,NRestarts,StatusText,MainPID,ExecMainStatus "$2" \\
    > "/probe/$machine-$1-$2.show"
  journalctl -b --no-pager -o short-monotonic -u "$2" > "/probe/$machine-$1-$2.journal"
}
# The way the unprivileged app asks for a reboot; the machine's nspawn then exits with 133.
reboot_as_the_app_asks() {
  runuser -u mfc-edge -- touch /run/mfc-edge/reboot-request || fail "could not ask for a reboot"
  stage end
  trap - EXIT
  sleep 120
  trap 'systemctl poweroff --no-block' EXIT
  fail "no reboot within 120 s of /run/mfc-edge/reboot-request"
}
"""


class ContainerError(RuntimeError):
    """A machine could not be built or booted; the message says which step and why."""


def missing_tools() -> list[str]:
    """Debian packages to install before machines can be built and booted here."""
    return sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})


def _run(command: list[str], step: str, timeout: float, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ContainerError(f"{step}: not done within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise ContainerError(f"{step} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")


def build_userland(root: Path, packages: Iterable[str], timeout: float = 600) -> None:
    """A minimal bookworm in `root` with systemd and `packages`."""
    _run(["mmdebstrap", "--quiet", "--variant=minbase", f"--include={','.join((*BOOT_PACKAGES, *packages))}",
          SUITE, str(root)], f"mmdebstrap {root}", timeout)


def wheelhouse(repo: Path, extras: str, timeout: float = 900) -> Path:
    """Wheels of the project's dependencies (`extras` included) and of its build backend, kept
    under var/ by pyproject.toml's digest: a rerun reuses them, a changed dependency list makes
    new ones (and the old go). The project itself is left out: machines install it from its
    source."""
    pyproject = (repo / "pyproject.toml").read_bytes()
    key = hashlib.sha256(pyproject + extras.encode()).hexdigest()[:16]
    folder = repo / "var" / "boot-wheels" / key
    if folder.is_dir():
        return folder
    building = folder.with_name(key + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    build_backend = tomllib.loads(pyproject.decode())["build-system"]["requires"]
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
          "--wheel-dir", str(building), f".[{extras}]", *build_backend], "building the wheelhouse", timeout, cwd=repo)
    for project_wheel in building.glob("mfc_edge-*.whl"):
        project_wheel.unlink()
    for stale in folder.parent.iterdir():  # older dependency lists' wheels
        if stale != building:
            shutil.rmtree(stale)
    building.rename(folder)  # only a complete wheelhouse gets the name a rerun looks for
    return folder


def copy_source(repo: Path, root: Path) -> None:
    """The working tree as it is (what the tests around this one test), without environments."""
    target = root / SOURCE_IN_MACHINE.lstrip("/")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(repo, target, ignore=shutil.ignore_patterns(*_NOT_SOURCE), symlinks=True)


@dataclass
class Machine:
    name: str  # also its host name
    root: Path
    hosts: dict[str, str] = field(default_factory=dict)  # extra /etc/hosts lines: name -> address

    def prepare(self, probe_script: str) -> None:
        """Install this boot's probe and the machine's name; the rest of the root is as the last
        boot left it."""
        (self.root / "etc/hostname").write_text(self.name + "\n")
        hosts = ["127.0.0.1 localhost", f"127.0.1.1 {self.name}",
                 *(f"{address} {name}" for name, address in self.hosts.items())]
        (self.root / "etc/hosts").write_text("\n".join(hosts) + "\n")
        script = self.root / PROBE_SCRIPT
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(PROBE_PRELUDE + probe_script)
        script.chmod(0o755)
        units = self.root / "etc/systemd/system"
        (units / PROBE_UNIT).write_text(_PROBE_UNIT_TEXT)
        wants = units / "multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        (wants / PROBE_UNIT).unlink(missing_ok=True)
        (wants / PROBE_UNIT).symlink_to(f"../{PROBE_UNIT}")

    def nspawn_command(self, probe: Path, wheels: Path, console_blank: Path) -> list[str]:
        # --register=no and --keep-unit: the host's PID 1 is not systemd, so there is no
        # machined to register with and no scope to move into. A container's /sys is read-only,
        # where a Pi's root writes the console's blanking time at every boot: a scratch file
        # stands in for that one kernel parameter.
        return ["systemd-nspawn", "--quiet", "--boot", f"--directory={self.root}", f"--machine={self.name}",
                "--register=no", "--keep-unit", "--private-network", "--console=read-only",
                f"--bind={probe}:/probe", f"--bind-ro={wheels}:/wheels",
                f"--bind={console_blank}:/sys/module/kernel/parameters/consoleblank"]


@dataclass
class BootResult:
    exit_code: int  # systemd-nspawn's: 0 when the machine powered off, REBOOTED
    seconds: float
    stages: list[tuple[str, float]]  # the probe's stages and how long each took


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM asks nspawn to shut the machine down in order; SIGKILL ends nspawn, and with it
    # (as its parent's death signal) the machine's init and everything in its PID namespace.
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def boot(machine: Machine, probe_script: str, probe: Path, wheels: Path, timeout: float) -> BootResult:
    """Boot `machine` with `probe_script` until it powers off or reboots; ContainerError (with the
    tail of its console) past `timeout` seconds."""
    machine.prepare(probe_script)
    console = probe / f"{machine.name}.console"
    console_blank = probe / "consoleblank"
    console_blank.write_text("0\n")
    started = time.monotonic()
    with console.open("ab") as out:
        process = subprocess.Popen(machine.nspawn_command(probe, wheels, console_blank), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ContainerError(f"{machine.name} still running after {timeout:.0f} s:\n"
                             f"{console.read_text(errors='replace')[-2000:]}") from None
    finally:
        _stop(process)
    return BootResult(process.returncode, time.monotonic() - started, _stage_times(probe))


def read_show(path: Path) -> dict[str, str]:
    """A `systemctl show` record as a dict; empty when the probe never wrote it."""
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _stage_times(probe: Path) -> list[tuple[str, float]]:
    """The stages the probe logged with how long each took (the last until the probe ended),
    taken out of the shared folder so the next boot logs its own."""
    stages_file = probe / "stages"
    if not stages_file.exists():
        return []
    began = [(name, float(when)) for name, when in (line.split() for line in stages_file.read_text().splitlines())]
    stages_file.unlink()
    return [(name, end - start) for (name, start), (_, end) in zip(began, began[1:], strict=False)]
