"""What technicians need to know about each device: online or not, its latest heartbeat, and its parts' trouble.

Projected from device events as they arrive: `printer.status` (the latest per device, kept
even when it is "ok", so a technician sees the printer answered), `button.stuck` and
`button.released` (the stuck button works again: "ok"), the
bundle a device applied or refused last, to compare with the newest one published for it, and
the software release it rolled back last (`software.rolled_back`), shown until it has taken a
release since (`software.updated`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from hub.db import HubDB, iso
from hub.heartbeats import Heartbeats
from hub.identity import Identity
from mfc_edge import protocol

BUNDLE, REFUSED_BUNDLE = "bundle", "refused bundle"
UPDATED, ROLLED_BACK = "software", "rolled back"


class DeviceHealth:
    def __init__(self, db: HubDB, identity: Identity, heartbeats: Heartbeats,
                 latest_bundle: Callable[[str, str], int | None] = lambda center, role: None):
        """`latest_bundle(center, role)`: the newest bundle version published for such devices."""
        self.db, self.identity, self.heartbeats, self.latest_bundle = db, identity, heartbeats, latest_bundle

    def project(self, d: Database, event: dict[str, Any]) -> None:
        """Ingest hook for printer and button events; a late event never overwrites a newer one."""
        body = event["body"]
        if event["type"] == protocol.PRINTER_STATUS:
            part, status = "printer", body["status"]
        elif event["type"] == protocol.BUNDLE_APPLIED:
            part, status = BUNDLE, str(body["version"])
        elif event["type"] == protocol.BUNDLE_REFUSED:
            part, status = REFUSED_BUNDLE, f"{body['version'] or '?'}: {body['reason']}"
        elif event["type"] == protocol.SOFTWARE_UPDATED:
            part, status = UPDATED, str(body["release"])
        elif event["type"] == protocol.SOFTWARE_ROLLED_BACK:
            part, status = ROLLED_BACK, f"{body['release']} ({body['version']}): {body['reason']}"
        else:
            part, status = f"button {body['button']}", "stuck" if event["type"] == protocol.BUTTON_STUCK else "ok"
        d.execute("INSERT INTO device_health (center, device, part, status, since) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT(center, device, part) DO UPDATE SET status = excluded.status, since = excluded.since "
                  "WHERE excluded.since >= device_health.since",
                  [event["center"], event["device"], part, status, iso(datetime.fromisoformat(event["at"]))])

    def devices(self, center: str) -> list[dict[str, Any]]:
        """Every enrolled device of the center: online or not (`heard_at`: when the hub last heard
        from it), its latest heartbeat as sent (`beat`, None before the first), `last_beat` by the
        hub's clock, and its parts' latest status."""
        now, beats = self.db.now(), self.heartbeats.latest(center)
        latest_by_role: dict[str, int | None] = {}
        parts: dict[str, dict[str, dict[str, str]]] = {}
        for r in self.db.db.query("SELECT * FROM device_health WHERE center = ? ORDER BY part", [center]):
            parts.setdefault(r["device"], {})[r["part"]] = {"status": r["status"], "since": r["since"]}
        result = []
        for d in self.identity.devices(center):
            own = parts.get(d["id"], {})
            for news, older in ((BUNDLE, REFUSED_BUNDLE), (UPDATED, ROLLED_BACK)):
                if older in own and news in own and own[older]["since"] < own[news]["since"]:
                    del own[older]  # a newer bundle or release has been taken since
            own.pop(UPDATED, None)  # the heartbeat says which release runs
            running = int(own.pop(BUNDLE)["status"]) if BUNDLE in own else None
            if d["role"] not in latest_by_role:  # once per role: the alert sweep lists every device
                latest_by_role[d["role"]] = self.latest_bundle(center, d["role"])
            latest = latest_by_role[d["role"]]
            beat = beats.get(d["id"])
            presence = self.heartbeats.presence(d, beat, now)
            result.append({"id": d["id"], "role": d["role"], "window": d["window"], "last_seen": d["last_seen"],
                           "revoked": bool(d["revoked_at"]), "online": presence.online and not d["revoked_at"],
                           "heard_at": presence.heard_at, "last_beat": beat and beat.received_at,
                           "beat": beat and beat.body, "parts": own,
                           "bundle": {"running": running, "latest": latest,
                                      "up_to_date": None if latest is None else running == latest}})
        return result
