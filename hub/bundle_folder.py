"""Reading a folder a technician wants to publish as a bundle: which files, under which names.

Every regular file becomes an asset named by its path relative to the folder (POSIX slashes).
Hidden files and folders are skipped. A symbolic link is followed only when it stays inside the
folder, so publishing never picks up files from elsewhere on the hub by accident.
"""
from __future__ import annotations

import os
from pathlib import Path

from mfc_edge import bundle
from mfc_edge.catalog import CatalogError, load_catalog
from mfc_edge.config import ConfigError, check_overrides
from mfc_edge.playlist import load_playlists

# What each role's bundle must hold: at least one of these files.
REQUIRED = {"kiosk": ("catalog.toml", "kiosk.toml"), "signage": ("playlist.toml",)}


class PublishError(ValueError):
    """A folder that cannot be published; the message says why, for the technician."""


def _walk(folder: Path) -> list[tuple[str, Path]]:
    root = folder.resolve()
    found: list[tuple[str, Path]] = []
    seen_dirs: set[Path] = set()  # a link back up the tree must not make us walk forever

    def visit(directory: Path, prefix: str) -> None:
        real = directory.resolve()
        if real in seen_dirs:
            return
        seen_dirs.add(real)
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            name = prefix + entry.name
            if entry.is_symlink() and not path.resolve().is_relative_to(root):
                raise PublishError(f"{path}: a symbolic link to {os.readlink(path)}, outside {folder}: "
                                   "copy the file into the folder instead")
            if entry.is_dir():
                visit(path, name + "/")
            elif entry.is_file():
                found.append((name, path))
            # anything else (a socket, a broken link) is not content

    visit(folder, "")
    return found


def _check_role_files(folder: Path, names: set[str], role: str) -> None:
    required = REQUIRED[role]
    if not names & set(required):
        raise PublishError(f"{folder}: a {role} bundle needs " + " or ".join(required) + " at the top of the folder")
    # What devices would refuse to use, the hub does not publish.
    checks = {"kiosk": (("catalog.toml", load_catalog), ("kiosk.toml", check_overrides)),
              "signage": (("playlist.toml", load_playlists),)}[role]
    for name, check in checks:
        if name in names:
            try:
                check(folder / name)
            except (CatalogError, ConfigError) as exc:
                raise PublishError(str(exc)) from None


def collect_assets(folder: Path, role: str) -> list[tuple[str, Path]]:
    """(asset name, file) for each file to publish, or PublishError saying what is wrong."""
    if role not in REQUIRED:
        raise PublishError(f"role {role!r}: bundles are for " + " and ".join(REQUIRED))
    if not folder.is_dir():
        raise PublishError(f"{folder}: no such folder")
    files = _walk(folder)
    if len(files) > bundle.MAX_ASSETS:
        raise PublishError(f"{folder}: {len(files)} files; a bundle holds at most {bundle.MAX_ASSETS}")
    folded: dict[str, str] = {}
    for name, path in files:
        problem = bundle.name_problem(name)
        if problem:
            raise PublishError(f"{path}: {problem}")
        if path.stat().st_size > bundle.MAX_ASSET_SIZE:
            raise PublishError(f"{path}: larger than {bundle.MAX_ASSET_SIZE} bytes")
        if name.casefold() in folded:
            raise PublishError(f"{path}: differs from {folded[name.casefold()]!r} only in letter case; "
                               "devices cannot tell them apart")
        folded[name.casefold()] = name
    _check_role_files(folder, {name for name, _ in files}, role)
    return files
