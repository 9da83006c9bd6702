"""Remote hands: a supervisor asks a device of the center to restart its app, reboot, or send
a screenshot, and sees what became of it.

Devices sit behind NAT, so the hub cannot push: a command waits in `device_commands` until
the device next asks for its commands, which stamps `delivered_at`; the device then reports
how it went (`done_at`, `result`). The rows are the log of who asked what of which device and
when, shown on the supervisor's console («Устройства», and «Экраны» for screenshots). Any
screenshot reaching the hub (hub/screens.py), a periodic one too, answers the screenshot
commands asked before it: the supervisor wanted a picture newer than the request.

A command the device has not finished within `COMMAND_TTL` expires: a kiosk switched off for
the night must not reboot when it is switched on in the morning.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from hub.db import HubDB, iso
from hub.identity import Identity
from hub.screens import SCREEN_ROLES
from mfc_edge import ids, protocol

log = logging.getLogger(__name__)

COMMAND_TTL = timedelta(minutes=10)
EXPIRED = "expired: the device did not answer in time"
KIND_NAMES = {protocol.RESTART: "restart its app", protocol.REBOOT: "reboot", protocol.SCREENSHOT: "send a screenshot"}


class CommandRefused(ValueError):
    """A command that cannot be asked now; the message is for the supervisor."""


class RemoteCommands:
    def __init__(self, db: HubDB, identity: Identity, ttl: timedelta = COMMAND_TTL):
        self.db, self.identity, self.ttl = db, identity, ttl

    def request(self, center: str, device: str, kind: str, by: str) -> dict[str, Any] | None:
        """Ask `device` to do `kind`; None when the center has no such active device."""
        found = next((d for d in self.identity.devices(center) if d["id"] == device and not d["revoked_at"]), None)
        if found is None:
            return None
        if kind not in protocol.COMMAND_KINDS:
            raise CommandRefused(f"неизвестная команда {kind!r}")
        if kind == protocol.SCREENSHOT and found["role"] not in SCREEN_ROLES:
            raise CommandRefused(f"у устройства {device} ({found['role']}) нет экрана")
        with self.db.transaction() as d:
            now = self.db.now()
            self._expire(d, now)
            if list(d.query("SELECT 1 FROM device_commands WHERE center = ? AND device = ? AND kind = ? "
                            "AND done_at IS NULL", [center, device, kind])):
                raise CommandRefused(f"устройство {device} ещё не выполнило прошлую такую команду")
            row = {"id": ids.event_id(), "center": center, "device": device, "kind": kind, "requested_by": by,
                   "requested_at": iso(now), "delivered_at": None, "done_at": None, "result": None}
            d.table("device_commands").insert(row)
        log.info("remote hands: %s asked %s of center %s to %s", by, device, center, KIND_NAMES[kind])
        return row

    def deliver(self, center: str, device: str) -> list[dict[str, Any]]:
        """The device's commands not done yet, oldest first; each is stamped delivered the first time."""
        with self.db.transaction() as d:
            now = self.db.now()
            self._expire(d, now)
            d.execute("UPDATE device_commands SET delivered_at = ? WHERE center = ? AND device = ? "
                      "AND done_at IS NULL AND delivered_at IS NULL", [iso(now), center, device])
            return [{"id": r["id"], "kind": r["kind"], "requested_at": r["requested_at"]} for r in d.query(
                "SELECT id, kind, requested_at FROM device_commands WHERE center = ? AND device = ? "
                "AND done_at IS NULL ORDER BY requested_at, id", [center, device])]

    def report(self, center: str, device: str, command: str, result: str) -> dict[str, Any] | None:
        """The device says how the command went; None when it is not one of this device's.
        A report again (the first answer was lost) keeps the first."""
        with self.db.transaction() as d:
            d.execute("UPDATE device_commands SET done_at = ?, result = ?, delivered_at = coalesce(delivered_at, ?) "
                      "WHERE id = ? AND center = ? AND device = ? AND (done_at IS NULL OR result = ?)",
                      [iso(self.db.now()), result, iso(self.db.now()), command, center, device, EXPIRED])
            rows = list(d.query("SELECT * FROM device_commands WHERE id = ? AND center = ? AND device = ?",
                                [command, center, device]))
        if rows:
            log.info("remote hands: %s of center %s: %s: %s", device, center, rows[0]["kind"], rows[0]["result"])
        return rows[0] if rows else None

    def fulfilled(self, center: str, device: str, kind: str, result: str, at: str) -> None:
        """The device's pending commands of `kind` asked up to `at` (the hub's time) got what they
        asked for another way: they are done, with `result`. A report from the device afterwards
        keeps this first answer, as `report` does."""
        with self.db.transaction() as d:
            d.execute("UPDATE device_commands SET done_at = ?, result = ? WHERE center = ? AND device = ? "
                      "AND kind = ? AND done_at IS NULL AND requested_at <= ?", [at, result, center, device, kind, at])

    def latest(self, center: str) -> list[dict[str, Any]]:
        """The latest command of each kind for each device of the center, for the console."""
        rows = list(self.db.db.query(
            "SELECT * FROM device_commands AS c WHERE center = ? AND requested_at = (SELECT max(requested_at) "
            "FROM device_commands WHERE center = c.center AND device = c.device AND kind = c.kind) "
            "ORDER BY device, kind", [center]))
        # Read only (the console asks every second): one past its time is shown as it will be stored.
        overdue = iso(self.db.now() - self.ttl)
        return [{**r, "result": EXPIRED} if r["done_at"] is None and r["requested_at"] < overdue else r for r in rows]

    def _expire(self, d: Any, now: Any) -> None:
        d.execute("UPDATE device_commands SET done_at = ?, result = ? WHERE done_at IS NULL AND requested_at < ?",
                  [iso(now), EXPIRED, iso(now - self.ttl)])
