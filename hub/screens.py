"""The latest screenshot of each device's screen, for technicians and supervisors.

Devices send a PNG of what they show every few minutes and when a supervisor asks for one
with a `screenshot` command (hub/remote.py). The hub keeps only the latest image per device,
in its data folder, replaced atomically, and a row describing it. Times are the hub's: a
screen's clock may be wrong, and "taken" means when the image reached the hub.

The table's `requested_at` and `requested_by` columns belonged to an older way of asking for a
screenshot, replaced by the commands; they stay unused, since a released schema step is never
edited and SQLite drops a column only by rebuilding the table.
"""
from __future__ import annotations

import hashlib
import re
import struct
import threading
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlite_utils import Database

from hub.db import PRIVATE_FILE, HubDB, iso, private_folder
from hub.identity import Identity
from mfc_edge import protocol
from mfc_edge.files import atomic_write

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IEND_CHUNK = b"\x00\x00\x00\x00IEND\xaeB`\x82"
MAX_SIDE = 16384  # pixels; larger than any screen, smaller than what would trouble a browser
DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")  # as at enrollment
SCREEN_ROLES = ("signage", "kiosk")


class ScreenshotError(ValueError):
    """An upload that is not a usable PNG; the message says what is wrong."""


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a whole PNG file, or ScreenshotError."""
    if data[:8] != PNG_SIGNATURE:
        raise ScreenshotError("not a PNG image: the file does not start with the PNG signature")
    if len(data) < 8 + 25 + len(IEND_CHUNK):
        raise ScreenshotError("not a PNG image: too short to hold an image")
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        raise ScreenshotError("not a PNG image: the first chunk is not a 13-byte IHDR")
    if zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        raise ScreenshotError("damaged PNG image: the IHDR chunk's checksum is wrong")
    width, height = struct.unpack(">II", data[16:24])
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ScreenshotError(f"PNG image of {width}x{height} pixels: each side must be 1 to {MAX_SIDE}")
    # A cut upload is a valid beginning of a PNG; only the last chunk shows it is whole.
    if data[-len(IEND_CHUNK):] != IEND_CHUNK:
        raise ScreenshotError("incomplete PNG image: it does not end with the IEND chunk")
    return width, height


class Screens:
    def __init__(self, db: HubDB, identity: Identity, data_dir: str | Path):
        self.db, self.identity = db, identity
        self.folder = Path(data_dir) / "screenshots"
        # One upload at a time, so an image file and its row never come from two different uploads.
        self._storing = threading.Lock()

    def path(self, center: str, device: str) -> Path:
        # Center ids are free text from the command line: quoted, and prefixed so "." or ".."
        # stay plain names. Device ids are checked against the enrollment pattern.
        if not DEVICE_ID.match(device):
            raise ScreenshotError(f"device id {device!r} is not a device id")
        return self.folder / f"center-{quote(center, safe='')}" / f"{device}.png"

    def store(self, center: str, device: str, data: bytes) -> dict[str, Any]:
        """Keep `data` as the device's latest screenshot."""
        if len(data) > protocol.MAX_SCREENSHOT_BYTES:
            raise ScreenshotError(f"screenshot of {len(data)} bytes: at most {protocol.MAX_SCREENSHOT_BYTES}")
        width, height = png_size(data)
        path = self.path(center, device)
        private_folder(self.folder)
        private_folder(path.parent)
        with self._storing:
            # The file first, outside the transaction: its fsync must not hold up the hub's writers.
            atomic_write(path, data, mode=PRIVATE_FILE)
            with self.db.transaction() as d:
                now = iso(self.db.now())
                d.execute(
                    "INSERT INTO screenshots (center, device, taken_at, bytes, width, height, sha256) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(center, device) DO UPDATE SET "
                    "taken_at = excluded.taken_at, bytes = excluded.bytes, width = excluded.width, "
                    "height = excluded.height, sha256 = excluded.sha256",
                    [center, device, now, len(data), width, height, hashlib.sha256(data).hexdigest()])
                row = self._row(d, center, device)
        assert row is not None, "the row was written in this same transaction"
        return row

    def latest(self, center: str, device: str) -> dict[str, Any] | None:
        """The row of the device's screenshot, None without one."""
        row = self._row(self.db.db, center, device)
        return row if row and row["taken_at"] else None

    def screens(self, center: str) -> list[dict[str, Any]]:
        """The center's active screens (kiosks, waiting-area screens, and any device that sent a
        screenshot), each with its latest screenshot's details, or nulls."""
        rows = {r["device"]: r for r in self.db.db.query("SELECT * FROM screenshots WHERE center = ?", [center])}
        result = []
        for d in self.identity.devices(center):
            row = rows.get(d["id"])
            if d["revoked_at"] or (d["role"] not in SCREEN_ROLES and not (row and row["taken_at"])):
                continue
            taken = row if row and row["taken_at"] else None
            result.append({
                "device": d["id"], "role": d["role"], "last_seen": d["last_seen"],
                "taken_at": taken and taken["taken_at"], "bytes": taken and taken["bytes"],
                "width": taken and taken["width"], "height": taken and taken["height"],
                # The hash in the address: a browser's cached image of an older screenshot is not reused.
                "image": taken and f"/console/screens/{d['id']}.png?v={taken['sha256'][:16]}",
            })
        return result

    @staticmethod
    def _row(db: Database, center: str, device: str) -> dict[str, Any] | None:
        rows = list(db.query("SELECT * FROM screenshots WHERE center = ? AND device = ?", [center, device]))
        return rows[0] if rows else None
