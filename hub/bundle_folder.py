"""Reading a folder a technician publishes on the hub: the shared rules (mfc_edge/bundle_folder.py)
and, for the hub alone, whether the center's screens can play its videos (hub/video_check.py).
A symbolic link is followed only when it stays inside the folder, so publishing never picks up
files from elsewhere on the hub by accident.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.video_check import SCREENS, UnplayableVideo, check_videos
from mfc_edge.bundle_folder import FolderError, check_role_files, read_folder

PublishError = FolderError  # what `mfc-edge hub publish` and the hub's callers catch


@dataclass(frozen=True)
class Contents:
    files: list[tuple[str, Path]]  # (asset name, file) for each file to publish
    warnings: list[str]  # what the technician should know: videos some target screens cannot play


def collect_assets(folder: Path, role: str, screens: Sequence[str] = tuple(SCREENS)) -> Contents:
    """The files to publish and warnings, or PublishError saying what is wrong. `screens` are the
    Pi models of the center's waiting-area screens (hub/video_check.py)."""
    files = read_folder(folder, role)
    videos = check_role_files(folder, {f.name for f in files}, role)
    try:
        warnings = check_videos(folder, videos, screens)
    except UnplayableVideo as exc:
        raise PublishError(str(exc)) from None
    return Contents([(f.name, f.path) for f in files], warnings)
