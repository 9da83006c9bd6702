"""Where a device keeps its software releases, and what its updater remembers between runs.

Everything lives under a prefix (/ on a device, a scratch folder in tests):

    opt/mfc-edge/releases/<N>/         one virtual environment per release
    opt/mfc-edge/current  -> releases/<N>   what the role's unit runs
    opt/mfc-edge/previous -> the one before, kept until the next successful update
    var/cache/mfc-edge/wheels/<sha256>.whl  wheels of the current and previous release only
    var/lib/mfc-edge/software.json          the state below, replaced atomically

The state says which release runs (the app's heartbeat reads it), the newest release ever
installed (nothing older is taken again: anti-rollback), releases that rolled back (never
tried again), the last rollback, and, while a switch is under way, what it switches from:
an updater killed at any moment finds that record at its next start and puts `current` back.
"""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfc_edge.files import atomic_write

log = logging.getLogger(__name__)

STATE_FILE = "var/lib/mfc-edge/software.json"
HEALTH_FILE = "healthy"  # in the app's runtime folder, /run/mfc-edge


@dataclass(frozen=True)
class Layout:
    prefix: Path

    @property
    def home(self) -> Path:
        return self.prefix / "opt/mfc-edge"

    @property
    def releases(self) -> Path:
        return self.home / "releases"

    @property
    def current(self) -> Path:
        return self.home / "current"

    @property
    def previous(self) -> Path:
        return self.home / "previous"

    @property
    def wheels(self) -> Path:
        return self.prefix / "var/cache/mfc-edge/wheels"

    @property
    def state_file(self) -> Path:
        return self.prefix / STATE_FILE

    @property
    def health_file(self) -> Path:
        return self.prefix / "run/mfc-edge" / HEALTH_FILE

    def release_dir(self, number: int) -> Path:
        return self.releases / str(number)

    def wheel_path(self, sha256: str) -> Path:
        return self.wheels / f"{sha256}.whl"


def read_state(path: Path) -> dict[str, Any]:
    """The updater's state; an empty one before the first update. A damaged file is logged and
    read as empty: the running release is still whatever `current` points at."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s): starting from an empty software state", path, exc)
        return {}
    return raw if isinstance(raw, dict) else {}


def write_state(path: Path, state: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(state, sort_keys=True, indent=1))


def running_release(path: Path, environment: Path | None = None) -> dict[str, Any]:
    """{"release": N or None, "channel": "pilot"|"stable" or None} of the release installed in
    `environment` (by default the one this process runs from): what the heartbeat carries beside
    the version. Matched by folder, not taken from `current`, so the old app still running
    during a switch never speaks for the new release."""
    here = (environment or Path(sys.prefix)).resolve()
    state = read_state(path)
    for key in ("current", "previous"):
        record = state.get(key)
        if isinstance(record, dict) and isinstance(record.get("path"), str) and Path(record["path"]) == here:
            release, channel = record.get("release"), record.get("channel")
            return {"release": release if isinstance(release, int) else None,
                    "channel": channel if channel in ("pilot", "stable") else None}
    return {"release": None, "channel": None}
