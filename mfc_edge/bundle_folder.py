"""Reading a folder a technician or content editor publishes as a bundle: which files, under
which names, and whether devices would take its role's files. A center's hub (`mfc-edge hub
publish`, hub/bundle_folder.py) and the city (`mfc-edge city publish`, city/publishing.py) read
folders by these same rules, since the same devices read the result.

Every regular file becomes an asset named by its path relative to the folder (POSIX slashes).
Hidden files and folders are skipped.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mfc_edge import bundle
from mfc_edge.catalog import CatalogError, load_catalog
from mfc_edge.config import ConfigError, check_overrides
from mfc_edge.kids_room import KidsRoomError, load_kids_room
from mfc_edge.playlist import load_playlists

# What each role's bundle must hold: at least one of these files at the top of the folder.
REQUIRED = {"kiosk": ("catalog.toml", "kiosk.toml", "kids.toml"), "signage": ("playlist.toml",)}


class FolderError(ValueError):
    """A folder that cannot be published; the message says why in one line."""


@dataclass(frozen=True)
class FolderFile:
    name: str  # the asset's name
    path: Path
    size: int


def read_folder(folder: Path, role: str, *, links_inside: bool = True) -> list[FolderFile]:
    """The files to publish, by name, or FolderError. `links_inside`: follow a symbolic link that
    stays inside the folder (a hub's folder); otherwise refuse every link (an editor's folder is
    often a synced share, where a link may point anywhere)."""
    if role not in REQUIRED:
        raise FolderError(f"role {role!r}: bundles are for " + " and ".join(REQUIRED))
    if not folder.is_dir():
        raise FolderError(f"{folder}: no such folder")
    files = sorted(_walk(folder, links_inside), key=lambda f: f.name)
    if len(files) > bundle.MAX_ASSETS:
        raise FolderError(f"{folder}: {len(files)} files; a bundle holds at most {bundle.MAX_ASSETS}")
    folded: dict[str, str] = {}
    for f in files:
        problem = bundle.name_problem(f.name)
        if problem:
            raise FolderError(f"{f.path}: {problem}")
        if f.size > bundle.MAX_ASSET_SIZE:
            raise FolderError(f"{f.path}: larger than {bundle.MAX_ASSET_SIZE} bytes")
        if f.name.casefold() in folded:
            raise FolderError(f"{f.path}: differs from {folded[f.name.casefold()]!r} only in letter case; "
                              "devices cannot tell them apart")
        folded[f.name.casefold()] = f.name
    return files


def _walk(folder: Path, links_inside: bool) -> list[FolderFile]:
    root = folder.resolve()
    found: list[FolderFile] = []
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
            if entry.is_symlink():
                if not links_inside:
                    raise FolderError(f"{path}: a symbolic link; copy the file into the folder instead")
                if not path.resolve().is_relative_to(root):
                    raise FolderError(f"{path}: a symbolic link to {os.readlink(path)}, outside {folder}: "
                                      "copy the file into the folder instead")
            if entry.is_dir():
                visit(path, name + "/")
            elif entry.is_file():
                found.append(FolderFile(name, path, path.stat().st_size))
            # anything else (a socket, a broken link) is not content

    visit(folder, "")
    return found


def check_role_files(folder: Path, names: set[str], role: str) -> set[str]:
    """FolderError for a role's file devices would refuse; the videos its playlists name."""
    required = REQUIRED[role]
    if not names & set(required):
        raise FolderError(f"{folder}: a {role} bundle needs " + " or ".join(required) + " at the top of the folder")
    try:
        if role == "kiosk":
            for name, check in (("catalog.toml", load_catalog), ("kiosk.toml", check_overrides),
                                ("kids.toml", load_kids_room)):
                if name in names:
                    check(folder / name)
        if "playlist.toml" not in names:  # a kiosk's own attract loop is optional
            return set()
        playlists = load_playlists(folder / "playlist.toml")
    except (CatalogError, ConfigError, KidsRoomError) as exc:
        raise FolderError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    return {item.asset for playlist in playlists.values() for item in playlist.items
            if item.type == "video" and item.asset} & names
