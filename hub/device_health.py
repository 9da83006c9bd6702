"""What technicians need to know about each device: its last contact and its parts' trouble.

Projected from device events as they arrive: `printer.status` (the latest per device, kept
even when it is "ok", so a technician sees the printer answered) and `button.stuck`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.db import HubDB, iso
from hub.identity import Identity
from mfc_edge import protocol


class DeviceHealth:
    def __init__(self, db: HubDB, identity: Identity):
        self.db, self.identity = db, identity
        with db.transaction() as d:
            d["device_health"].create({"center": str, "device": str, "part": str, "status": str, "since": str},
                                      pk=("center", "device", "part"), if_not_exists=True)

    def project(self, d: Any, event: dict[str, Any]) -> None:
        """Ingest hook for printer and button events; a late event never overwrites a newer one."""
        if event["type"] == protocol.PRINTER_STATUS:
            part, status = "printer", event["body"]["status"]
        else:
            part, status = f"button {event['body']['button']}", "stuck"
        d.execute("INSERT INTO device_health (center, device, part, status, since) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT(center, device, part) DO UPDATE SET status = excluded.status, since = excluded.since "
                  "WHERE excluded.since >= device_health.since",
                  [event["center"], event["device"], part, status, iso(datetime.fromisoformat(event["at"]))])

    def devices(self, center: str) -> list[dict[str, Any]]:
        """Every enrolled device of the center with its parts' latest status."""
        parts: dict[str, dict[str, dict[str, str]]] = {}
        for r in self.db.db.query("SELECT * FROM device_health WHERE center = ? ORDER BY part", [center]):
            parts.setdefault(r["device"], {})[r["part"]] = {"status": r["status"], "since": r["since"]}
        return [{"id": d["id"], "role": d["role"], "last_seen": d["last_seen"], "revoked": bool(d["revoked_at"]),
                 "parts": parts.get(d["id"], {})} for d in self.identity.devices(center)]
