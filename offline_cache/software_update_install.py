"""Installing a release beside the running one, and switching between releases atomically.

A release is installed into releases/<N> with `python -m venv` and pip from the wheel cache
alone (no network). A virtual environment cannot be renamed (pip writes its path into every
program's #! line), so it is built where it stays, and a file .complete, written when
everything else is on the card, says it is whole: a folder without it is what a killed
install left, and is removed. `current` and `previous` are symlinks replaced by a rename of a new symlink made
beside them, so at any moment they point at one whole release, the old or the new.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mfc_edge.files import atomic_write, fsync_dir
from mfc_edge.release import Release
from offline_cache.software_update_state import Layout

COMPLETE = ".complete"
PIP_TIMEOUT_S = 1800.0  # a Pi's SD card and CPU: compiling Kivy's Python files takes minutes


class InstallError(Exception):
    """The release could not be installed; the message is one line for the device's report."""


def install(layout: Layout, found: Release, role: str, python: str = sys.executable) -> Path:
    """releases/<N>, complete, built from the cached wheels of `role`; already there, it is kept."""
    final = layout.release_dir(found.release)
    if is_complete(final):
        return final
    shutil.rmtree(final, ignore_errors=True)  # what a killed install left: begin again
    layout.releases.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=layout.releases, prefix=".wheels-") as links:
        # pip reads a wheel's name from its file name; the cache names wheels by hash.
        for wheel in found.wheels_for(role):
            os.symlink(layout.wheel_path(wheel.sha256), Path(links) / wheel.name)
        # With its own pip, as provisioning's venv has one: the next update runs from this release.
        _run([python, "-m", "venv", str(final)], "making the environment")
        _run([str(final / "bin/python"), "-m", "pip", "install", "--no-index",
              "--no-cache-dir", "--disable-pip-version-check", "--no-warn-script-location", "--find-links", links,
              f"mfc-edge[{role}]"], "installing its wheels")
    os.sync()  # everything the release holds reaches the card before it is called complete
    atomic_write(final / COMPLETE, found.version)
    return final


def is_complete(environment: Path) -> bool:
    return (environment / COMPLETE).is_file()


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"{what}: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise InstallError(f"{what} failed: {last[:300]}")


def remove_partial(layout: Layout) -> None:
    """Installs that a killed updater left unfinished (never what `current` points at)."""
    running = target_of(layout.current)
    if layout.releases.is_dir():
        for path in layout.releases.iterdir():
            if path.is_dir() and not path.name.startswith(".") and not is_complete(path) and path.resolve() != running:
                shutil.rmtree(path, ignore_errors=True)


def point(link: Path, target: Path) -> None:
    """Make `link` a symlink to `target` (relative, so the prefix can move) by one rename."""
    fresh = link.with_name(f".{link.name}.new")
    fresh.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), fresh)
    os.replace(fresh, link)
    fsync_dir(link.parent)


def target_of(link: Path) -> Path | None:
    """What `link` points at, as an absolute path; None when there is no such link."""
    try:
        return (link.parent / os.readlink(link)).resolve()
    except OSError:
        return None


def prune(layout: Layout, keep_dirs: set[Path], keep_wheels: set[str]) -> None:
    """Delete environments other than `keep_dirs` (provisioning's venv too, once it is neither
    current nor previous) and cached wheels other than `keep_wheels` (hashes): disk quota."""
    environments = [p for p in layout.releases.iterdir() if not p.name.startswith(".")] \
        if layout.releases.is_dir() else []
    for path in [*environments, layout.home / "venv"]:
        if path.is_dir() and not path.is_symlink() and path.resolve() not in keep_dirs:
            shutil.rmtree(path, ignore_errors=True)
    if layout.wheels.is_dir():
        for path in layout.wheels.iterdir():
            if path.name.split(".")[0] not in keep_wheels:
                path.unlink(missing_ok=True)
