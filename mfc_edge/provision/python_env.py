"""The program's environment on a device: a venv with the project and its role's extra only,
and /opt/mfc-edge/current pointing at it (what every unit runs).

Standard library only: setup.sh runs it (mfc_edge/provision/bootstrap.py) with the system's
python3 before any of the project's dependencies exist.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from mfc_edge.provision.report import ProvisionError, Report, run
from mfc_edge.provision.roles import Role

VENV = Path("opt/mfc-edge/venv")
CURRENT = Path("opt/mfc-edge/current")
STAMP = "mfc-edge-provisioned.json"  # inside the venv: the extra and the source it was installed from
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


def _stamp(root: Path) -> dict[str, object]:
    try:
        found = json.loads((root / VENV / STAMP).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def installed_source(root: Path = Path("/")) -> Path | None:
    """The checkout the program was last installed from: where a later run (first boot choosing
    the role of a card made with `base`) installs the role's extra from."""
    source = _stamp(root).get("source")
    return Path(source) if isinstance(source, str) else None


def installed_wheels(root: Path = Path("/")) -> Path | None:
    """The wheel folder the program was last installed from, if it is still there: a card made with
    `base --wheels DIR` installs its role at first boot from it, with no Internet."""
    wheels = _stamp(root).get("wheels")
    return Path(wheels) if isinstance(wheels, str) and Path(wheels).is_dir() else None


def requirement(extras: list[str], source: Path) -> str:
    return f"{source}[{','.join(extras)}]" if extras else str(source)


def extras_wanted(role: Role, root: Path) -> list[str]:
    """The role's extra and those already installed: one machine may hold several roles."""
    installed = _stamp(root).get("extras")
    extras = set(installed if isinstance(installed, list) else [])
    return sorted(extras | {role.extra} if role.extra else extras)


def pip_command(venv: Path, extras: list[str], source: Path, wheels: Path | None) -> list[str]:
    command = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-cache-dir"]  # a cache on the SD card is space and wear for nothing
    if wheels is not None:
        # Everything, the build's setuptools too, from the folder: no Internet needed.
        command += ["--no-index", "--find-links", str(wheels)]
    return command + [requirement(extras, source)]


def check_sources(source: Path, wheels: Path | None) -> None:
    """Before anything is installed: the checkout and the wheel folder are there."""
    if not (source / "pyproject.toml").is_file():
        raise ProvisionError(f"--source {source}: no pyproject.toml there; give the folder of the mfc-edge checkout")
    if wheels is not None and not wheels.is_dir():
        raise ProvisionError(f"--wheels {wheels}: not a folder")


def ensure_environment(role: Role, source: Path, wheels: Path | None, report: Report, root: Path = Path("/")) -> None:
    check_sources(source, wheels)
    venv, current = root / VENV, root / CURRENT
    if not (venv / "bin/python").exists():
        run([sys.executable, "-m", "venv", str(venv)], f"making the venv {venv}")
        report.changed(f"made the venv {venv}")
    extras = extras_wanted(role, root)
    wanted = {"extras": extras, "digest": source_digest(source)}
    if {k: v for k, v in _stamp(root).items() if k not in ("source", "wheels")} != wanted:
        run(pip_command(venv, extras, source, wheels), f"installing {requirement(extras, source)}")
        remembered = {"source": str(source), **({"wheels": str(wheels)} if wheels else {})}
        (venv / STAMP).write_text(json.dumps({**wanted, **remembered}) + "\n")
        report.changed(f"installed {requirement(extras, Path('mfc-edge'))} into {venv}")
    if not current.is_symlink() or os.readlink(current) != VENV.name:
        current.unlink(missing_ok=True)
        current.symlink_to(VENV.name)
        report.changed(f"{current} -> {VENV.name}")
