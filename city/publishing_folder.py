"""Reading a folder a content editor publishes for the city: which files, under which names.

The rules are the hub's (hub/bundle_folder.py), since the same devices read the result: every
regular file is an asset named by its path in the folder, hidden files are skipped, and the
role's files must be ones devices accept. The city is stricter about links: it follows none,
because an editor's folder is often a synced share where a link may point anywhere.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mfc_edge import bundle
from mfc_edge.catalog import CatalogError, load_catalog
from mfc_edge.config import ConfigError, check_overrides
from mfc_edge.kids_room import KidsRoomError, load_kids_room
from mfc_edge.playlist import PlaylistError, load_playlists

# What each role's bundle must hold: at least one of these files at the top of the folder.
REQUIRED = {"kiosk": ("catalog.toml", "kiosk.toml", "kids.toml"), "signage": ("playlist.toml",)}


class PublishingError(ValueError):
    """What the editor asked cannot be published; the message says why in one line."""


@dataclass(frozen=True)
class FolderFile:
    name: str
    path: Path
    size: int


def read_folder(folder: Path, role: str) -> list[FolderFile]:
    """The files to publish, sorted by name, or PublishingError."""
    if role not in REQUIRED:
        raise PublishingError(f"role {role!r}: the city publishes for " + " and ".join(REQUIRED))
    if not folder.is_dir():
        raise PublishingError(f"{folder}: no such folder")
    found: list[FolderFile] = []
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(directory) / name
            if name.startswith("."):
                continue
            if path.is_symlink() or any((Path(directory) / d).is_symlink() for d in subdirs):
                raise PublishingError(f"{path}: a symbolic link; copy the file into the folder instead")
            if not path.is_file():
                continue
            relative = path.relative_to(folder).as_posix()
            problem = bundle.name_problem(relative)
            if problem:
                raise PublishingError(f"{path}: {problem}")
            size = path.stat().st_size
            if size > bundle.MAX_ASSET_SIZE:
                raise PublishingError(f"{path}: larger than {bundle.MAX_ASSET_SIZE} bytes")
            found.append(FolderFile(relative, path, size))
    found.sort(key=lambda f: f.name)
    if len(found) > bundle.MAX_ASSETS:
        raise PublishingError(f"{folder}: {len(found)} files; a bundle holds at most {bundle.MAX_ASSETS}")
    folded: dict[str, str] = {}
    for f in found:
        if f.name.casefold() in folded:
            raise PublishingError(f"{f.path}: differs from {folded[f.name.casefold()]!r} only in letter case; "
                                  "devices cannot tell them apart")
        folded[f.name.casefold()] = f.name
    _check_role_files(folder, {f.name for f in found}, role)
    return found


def _check_role_files(folder: Path, names: set[str], role: str) -> None:
    required = REQUIRED[role]
    if not names & set(required):
        raise PublishingError(f"{folder}: a {role} bundle needs " + " or ".join(required) + " at the top of the folder")
    try:
        if role == "kiosk":
            for name, check in (("catalog.toml", load_catalog), ("kiosk.toml", check_overrides),
                                ("kids.toml", load_kids_room)):
                if name in names:
                    check(folder / name)
        if "playlist.toml" in names:
            load_playlists(folder / "playlist.toml")
    except (CatalogError, ConfigError, KidsRoomError, PlaylistError) as exc:
        raise PublishingError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
