"""Device identity: one-time enrollment codes exchanged for device tokens.

A technician makes a code on the hub for a center and a role (and, for a window's console, the
window it stands at); the device trades it once, before it expires, for a token of its own.
The hub keeps only SHA-256 hashes of codes and tokens (both are long random strings, so a
plain hash is enough); revoking a device refuses its token at once.

A device id already enrolled is taken over only by a code made to replace it (`--replace ID`,
kept with the code): any other code is refused for it, so a code leaked or left over cannot
end a working device's token by enrolling under its name.
"""
from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from hub.db import HubDB, Row, iso
from mfc_edge.protocol import WINDOW_PATTERN
from mfc_edge.tokens import code_hash, new_code, token_hash

log = logging.getLogger(__name__)

ROLES = ("kiosk", "signage", "console")
CODE_TTL = timedelta(hours=24)
WINDOW = re.compile(WINDOW_PATTERN)


class EnrollmentError(ValueError):
    """A code that cannot be used; the message says why, for the technician."""


@dataclass(frozen=True)
class Device:
    center: str
    id: str
    role: str
    # The window a console device stands at, set by the technician with its code. Its keypad
    # acts and its ratings count only there, whatever the device itself claims.
    window: str | None = None


class Identity:
    def __init__(self, db: HubDB):
        self.db = db

    def create_code(self, center: str, role: str, ttl: timedelta = CODE_TTL, window: str | None = None,
                    replace: str | None = None, device: str | None = None) -> str:
        """A one-time code for a new device, or with `replace` for the enrolled device of that id
        (of the same role), whose token stops working once the code is used. `device` is the id
        the code is meant for (a first-boot file names it): kept with the code, so that id counts
        as taken (`taken_ids`) until the code is used or expires."""
        if role not in ROLES:
            raise EnrollmentError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if window is not None and role != "console":
            raise EnrollmentError(f"only a console stands at a window, not a {role}")
        if window is not None and not WINDOW.fullmatch(window):
            raise EnrollmentError(f"window {window!r}: expected up to 8 letters, digits or -, e.g. 5")
        code = new_code()
        now = self.db.now()
        with self.db.transaction() as db:
            if replace is not None:
                found = db.execute("SELECT role FROM devices WHERE center = ? AND id = ?", [center, replace]).fetchone()
                if found is None:
                    raise EnrollmentError(f"center {center} has no device {replace} to replace")
                if found[0] != role:
                    raise EnrollmentError(f"device {replace} is a {found[0]}: a code to replace it is for a {found[0]}")
            db.table("enrollment_codes").insert({
                "code_hash": code_hash(code), "center": center, "role": role, "window": window,
                "created_at": iso(now), "expires_at": iso(now + ttl), "used_at": None, "device": device,
                "replaces": replace,
            })
        return code

    def enroll(self, code: str, device_id: str) -> tuple[Device, str]:
        """Trade a code for a token. An enrolled device id needs a code made to replace it: it gets a
        new token, and the old one dies."""
        now = self.db.now()
        with self.db.transaction() as db:
            rows = list(db.query("SELECT * FROM enrollment_codes WHERE code_hash = ?",
                                 [code_hash(code)]))
            if not rows:
                raise EnrollmentError("unknown enrollment code")
            row = rows[0]
            if row["used_at"]:
                raise EnrollmentError("this enrollment code was already used")
            if row["expires_at"] <= iso(now):
                raise EnrollmentError("this enrollment code has expired")
            if row["replaces"] is not None and row["replaces"] != device_id:
                raise EnrollmentError(f"this code was made to replace device {row['replaces']}, not {device_id}")
            enrolled = db.execute("SELECT 1 FROM devices WHERE center = ? AND id = ?",
                                  [row["center"], device_id]).fetchone()
            if enrolled and row["replaces"] is None:
                window = f" --window {row['window']}" if row["window"] else ""
                raise EnrollmentError(
                    f"device {device_id} is already enrolled in center {row['center']}: give a new device an id of "
                    f"its own, or to replace that one make a code with `mfc-edge hub enroll-code --center "
                    f"{row['center']} --role {row['role']}{window} --replace {device_id}`")
            token = secrets.token_urlsafe(32)
            db.table("enrollment_codes").update(row["code_hash"], {"used_at": iso(now), "device": device_id})
            db.table("devices").upsert({
                "center": row["center"], "id": device_id, "role": row["role"], "window": row["window"],
                "token_hash": token_hash(token), "enrolled_at": iso(now), "revoked_at": None, "last_seen": iso(now),
            }, pk=("center", "id"))
        if enrolled:
            log.warning("device %s/%s enrolled again with a code made to replace it: its old token no longer works",
                        row["center"], device_id)
        return Device(row["center"], device_id, row["role"], row["window"]), token

    def taken_ids(self, center: str) -> set[str]:
        """The center's device ids enrolled (revoked ones too) or meant for an outstanding code."""
        return {row[0] for row in self.db.db.execute(
            "SELECT id FROM devices WHERE center = ? UNION SELECT device FROM enrollment_codes WHERE center = ? "
            "AND device IS NOT NULL AND used_at IS NULL AND expires_at > ?",
            [center, center, iso(self.db.now())]).fetchall()}

    def authenticate(self, token: str) -> Device | None:
        rows = list(self.db.db.query(
            "SELECT center, id, role, window FROM devices WHERE token_hash = ? AND revoked_at IS NULL",
            [token_hash(token)]))
        return Device(**rows[0]) if rows else None

    def revoke(self, center: str, device_id: str) -> bool:
        with self.db.transaction() as db:
            cursor = db.execute("UPDATE devices SET revoked_at = ? WHERE center = ? AND id = ? AND revoked_at IS NULL",
                                [iso(self.db.now()), center, device_id])
            return cursor.rowcount == 1

    def devices(self, center: str | None = None) -> list[Row]:
        where, params = ("center = ?", [center]) if center else (None, [])
        return list(self.db.db.table("devices").rows_where(
            where, params, order_by="center, id",
            select="center, id, role, window, enrolled_at, revoked_at, last_seen"))
