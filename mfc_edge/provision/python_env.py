"""The program's environment on a device: a venv with the project and its role's extra only,
and /opt/mfc-edge/current pointing at it (what every unit runs).

Standard library only: `setup.sh provision` runs this with the system's python3 before any
of the project's dependencies exist (`python3 -m mfc_edge.provision.python_env ROLE ...`).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

from mfc_edge.provision.report import ProvisionError, Report, run
from mfc_edge.provision.roles import Role, UnknownRole, role_named

VENV = Path("opt/mfc-edge/venv")
CURRENT = Path("opt/mfc-edge/current")
STAMP = "mfc-edge-provisioned"  # inside the venv: the role and the source it was installed from
_PACKAGES = ("mfc_edge", "kiosk", "signage", "window_device", "hardware", "offline_cache", "hub")


def source_digest(source: Path) -> str:
    """A digest of what pip would install from `source`: a changed file means installing again."""
    digest = hashlib.sha256()
    files = [source / "pyproject.toml"]
    for package in _PACKAGES:
        files += sorted(p for p in (source / package).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def requirement(role: Role, source: Path) -> str:
    return f"{source}[{role.extra}]" if role.extra else str(source)


def pip_command(venv: Path, role: Role, source: Path, wheels: Path | None) -> list[str]:
    command = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-cache-dir"]  # a cache on the SD card is space and wear for nothing
    if wheels is not None:
        # Everything, the build's setuptools too, from the folder: no Internet needed.
        command += ["--no-index", "--find-links", str(wheels)]
    return command + [requirement(role, source)]


def ensure_environment(role: Role, source: Path, wheels: Path | None, report: Report, root: Path = Path("/")) -> None:
    if not (source / "pyproject.toml").is_file():
        raise ProvisionError(f"--source {source}: no pyproject.toml there; give the folder of the mfc-edge checkout")
    if wheels is not None and not wheels.is_dir():
        raise ProvisionError(f"--wheels {wheels}: not a folder")
    venv, current = root / VENV, root / CURRENT
    if not (venv / "bin/python").exists():
        run([sys.executable, "-m", "venv", str(venv)], f"making the venv {venv}")
        report.changed(f"made the venv {venv}")
    wanted = f"{role.extra or '-'} {source_digest(source)}\n"
    stamp = venv / STAMP
    if not stamp.exists() or stamp.read_text() != wanted:
        run(pip_command(venv, role, source, wheels), f"installing {requirement(role, source)}")
        stamp.write_text(wanted)
        report.changed(f"installed mfc-edge{f'[{role.extra}]' if role.extra else ''} into {venv}")
    if not current.is_symlink() or os.readlink(current) != VENV.name:
        current.unlink(missing_ok=True)
        current.symlink_to(VENV.name)
        report.changed(f"{current} -> {VENV.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m mfc_edge.provision.python_env",
                                     description="Install the program's environment for ROLE (setup.sh's first step).")
    parser.add_argument("role")
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--wheels", type=Path)
    args = parser.parse_args(argv)
    try:
        ensure_environment(role_named(args.role), args.source.resolve(), args.wheels, Report())
    except (ProvisionError, UnknownRole) as exc:
        print(f"mfc-edge provision: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
