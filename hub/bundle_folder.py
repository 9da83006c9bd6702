"""Reading a folder a technician wants to publish as a bundle: which files, under which names.

Every regular file becomes an asset named by its path relative to the folder (POSIX slashes).
Hidden files and folders are skipped. A symbolic link is followed only when it stays inside the
folder, so publishing never picks up files from elsewhere on the hub by accident.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.video_check import SCREENS, UnplayableVideo, check_videos
from mfc_edge import bundle
from mfc_edge.catalog import CatalogError, load_catalog
from mfc_edge.config import ConfigError, check_overrides
from mfc_edge.kids_room import KidsRoomError, load_kids_room
from mfc_edge.playlist import load_playlists

# What each role's bundle must hold: at least one of these files.
REQUIRED = {"kiosk": ("catalog.toml", "kiosk.toml", "kids.toml"), "signage": ("playlist.toml",)}


class PublishError(ValueError):
    """A folder that cannot be published; the message says why, for the technician."""


@dataclass(frozen=True)
class Contents:
    files: list[tuple[str, Path]]  # (asset name, file) for each file to publish
    warnings: list[str]  # what the technician should know: videos some target screens cannot play


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


def _check_role_files(folder: Path, names: set[str], role: str, screens: Sequence[str]) -> list[str]:
    """Raises PublishError for what devices would refuse; returns warnings for what some may not play."""
    required = REQUIRED[role]
    if not names & set(required):
        raise PublishError(f"{folder}: a {role} bundle needs " + " or ".join(required) + " at the top of the folder")
    try:
        if role == "kiosk":
            for name, check in (("catalog.toml", load_catalog), ("kiosk.toml", check_overrides),
                                ("kids.toml", load_kids_room)):
                if name in names:
                    check(folder / name)
            if "playlist.toml" not in names:  # a kiosk's own attract loop is optional
                return []
        playlists = load_playlists(folder / "playlist.toml")
        videos = {item.asset for playlist in playlists.values() for item in playlist.items
                  if item.type == "video" and item.asset}
        return check_videos(folder, videos & names, screens)
    except (CatalogError, ConfigError, KidsRoomError, UnplayableVideo) as exc:
        raise PublishError(str(exc)) from None


def collect_assets(folder: Path, role: str, screens: Sequence[str] = tuple(SCREENS)) -> Contents:
    """The files to publish and warnings, or PublishError saying what is wrong. `screens` are the
    Pi models of the center's waiting-area screens (hub/video_check.py)."""
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
    warnings = _check_role_files(folder, {name for name, _ in files}, role, screens)
    return Contents(files, warnings)
