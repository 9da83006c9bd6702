"""Putting a role's files in place and applying them with systemd's own tools, each step
checking before it acts. Every path is taken inside `root`: "/" on the device itself, a scratch
folder for tests and card images (systemd's tools all take --root)."""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path, PurePosixPath

from mfc_edge.files import atomic_write
from mfc_edge.provision.render import SystemFile
from mfc_edge.provision.report import ProvisionError, Report, run
from mfc_edge.provision.roles import Role

EXAMPLES = Path(__file__).resolve().parent.parent / "data"
SWAP_FILE_UNIT = "dphys-swapfile.service"  # Raspberry Pi OS's swap file on the SD card


def write_files(root: Path, files: list[SystemFile], report: Report) -> None:
    for file in files:
        target = root / file.path
        if target.is_file() and target.read_text(encoding="utf-8") == file.text \
                and stat.S_IMODE(target.stat().st_mode) == file.mode:
            continue
        verb = "updated" if target.exists() else "wrote"
        atomic_write(target, file.text, mode=file.mode)
        report.changed(f"{verb} /{file.path}")


def device_file(role: Role) -> PurePosixPath:
    return PurePosixPath(f"etc/mfc-edge/{role.name}.toml")


def ensure_device_file(root: Path, role: Role, report: Report) -> None:
    """The device file from the role's example, when there is none: one that is there is the
    technician's (or first boot's) and is never replaced."""
    target = root / device_file(role)
    if target.exists():
        return
    example = EXAMPLES / f"{role.name}.example.toml"
    atomic_write(target, example.read_bytes(), mode=0o640)
    report.changed(f"wrote /{device_file(role)} from the example: fill in the center, device and hub")


def _memberships(root: Path) -> set[str]:
    group_file = root / "etc/group"
    if not group_file.exists():
        return set()
    groups = (line.split(":") for line in group_file.read_text().splitlines() if line.count(":") == 3)
    return {name for name, _, _, members in groups if "mfc-edge" in members.split(",")}


def _configs(root: Path, kind: str) -> list[str]:
    """Every role's file of this kind (sysusers.d, tmpfiles.d) on this machine, not only this role's."""
    return [str(p) for p in sorted((root / "etc" / kind).glob("mfc-edge*.conf"))]


def create_user(root: Path, report: Report) -> None:
    """The mfc-edge user and its groups, by systemd-sysusers (it creates only what is missing)."""
    before = _memberships(root)
    done = run(["systemd-sysusers", f"--root={root}", *_configs(root, "sysusers.d")], "systemd-sysusers")
    for line in done.stderr.splitlines():
        if line.startswith("Creating "):
            report.changed(line.rstrip("."))
    added = sorted(_memberships(root) - before)
    if added:
        report.changed(f"added user mfc-edge to groups: {', '.join(added)}")


def _tmpfiles_paths(root: Path) -> list[str]:
    lines = [line for config in _configs(root, "tmpfiles.d") for line in Path(config).read_text().splitlines()]
    return [line.split()[1] for line in lines if line[:1] in ("d", "z")]


def _state(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.lstat()
    except FileNotFoundError:
        return None
    return stat.S_IMODE(found.st_mode), found.st_uid, found.st_gid


def apply_folders(root: Path, report: Report) -> None:
    """Folders and the device file with their owners and modes, by systemd-tmpfiles (which does
    the same at every boot)."""
    paths = _tmpfiles_paths(root)
    before = {p: _state(root / p.lstrip("/")) for p in paths}
    run(["systemd-tmpfiles", f"--root={root}", "--create", *_configs(root, "tmpfiles.d")], "systemd-tmpfiles")
    for path in paths:
        after = _state(root / path.lstrip("/"))
        if after != before[path] and after is not None:
            report.changed(f"{path}: {after[0]:04o} {owner_names(root, after[1], after[2])}")


def owner_names(root: Path, uid: int, gid: int) -> str:
    """uid:gid as names from `root`'s own user database (a scratch root's ids are its own)."""
    def name(table: str, number: int) -> str:
        if number == 0:
            return "root"  # a scratch root may have no etc/passwd line for it
        table_file = root / "etc" / table
        if table_file.exists():
            for line in table_file.read_text().splitlines():
                fields = line.split(":")
                if len(fields) > 2 and fields[2] == str(number):
                    return fields[0]
        return str(number)
    return f"{name('passwd', uid)}:{name('group', gid)}"


def mfc_edge_ids(root: Path) -> tuple[int, int]:
    """The mfc-edge user's uid and gid in `root`."""
    if root == Path("/"):
        return pwd.getpwnam("mfc-edge").pw_uid, grp.getgrnam("mfc-edge").gr_gid
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "mfc-edge":
            return int(fields[2]), int(fields[3])
    raise ProvisionError(f"{root}/etc/passwd: no user mfc-edge")


def _enabled(root: Path, unit: str) -> str:
    """systemctl's word for it: enabled, disabled, masked... (its exit status says only yes or no)."""
    if not _unit_exists(root, unit):
        return "missing"
    done = subprocess.run(["systemctl", f"--root={root}", "is-enabled", unit], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip()


def _unit_exists(root: Path, unit: str) -> bool:
    return any((root / folder / unit).exists() for folder in ("etc/systemd/system", "lib/systemd/system",
                                                              "usr/lib/systemd/system"))


def enable_units(root: Path, units: list[str], report: Report) -> None:
    for unit in units:
        if _enabled(root, unit) != "enabled":
            run(["systemctl", f"--root={root}", "--quiet", "enable", unit], f"systemctl enable {unit}")
            report.changed(f"enabled {unit}")


def disable_swap_file(root: Path, report: Report) -> None:
    """No swap file on the SD card: zram (zram-generator.conf) swaps in memory instead."""
    if _unit_exists(root, SWAP_FILE_UNIT) and _enabled(root, SWAP_FILE_UNIT) == "enabled":
        run(["systemctl", f"--root={root}", "--quiet", "disable", SWAP_FILE_UNIT], f"disabling {SWAP_FILE_UNIT}")
        report.changed(f"disabled {SWAP_FILE_UNIT} (the swap file on the SD card; zram swaps in memory)")


def tell_running_systemd(root: Path, role: Role, report: Report) -> None:
    """On the machine itself, have systemd and udev read the new files, and listen for the app's
    reboot requests from now on; settings of the journal, watchdog, swap and clock take effect at
    the next boot, as does the role's service (first boot starts it itself)."""
    if root != Path("/") or not Path("/run/systemd/system").exists():
        return
    run(["systemctl", "daemon-reload"], "systemctl daemon-reload")
    if role.is_device:
        run(["systemctl", "start", "mfc-edge-reboot.path"], "systemctl start mfc-edge-reboot.path")
    if shutil.which("udevadm") and os.path.exists("/run/udev/control"):
        run(["udevadm", "control", "--reload"], "udevadm control --reload")
    report.note("reboot to start the role with every system setting applied")
