"""Devices' heartbeats: the latest beat of each device, and whether it is online.

A device beats every minute (offline_cache/heartbeat.py) and each beat says its interval. The
hub keeps the latest beat whole and stamps it with its own clock (`devices.last_beat`): a
device's clock is never trusted for this. A device is online while the hub has heard from it
(a beat, or a batch of events, which moves `last_seen`) within OFFLINE_AFTER_BEATS of its
intervals, by the hub's clock; silent longer, it is offline since it was last heard.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.db import HubDB, Row, iso
from hub.identity import Device
from mfc_edge import protocol


@dataclass(frozen=True)
class Beat:
    received_at: str  # the hub's time
    body: dict[str, Any]  # as the device sent it


@dataclass(frozen=True)
class Presence:
    online: bool
    heard_at: str | None  # the hub's time of the last beat or batch, None if never heard


class Heartbeats:
    def __init__(self, db: HubDB):
        self.db = db

    def record(self, who: Device, beat: dict[str, Any]) -> str:
        """Keep `beat` as the device's latest; the hub's time it arrived."""
        now = iso(self.db.now())
        with self.db.transaction(durable=False) as d:  # a beat lost to a power cut is replaced in a minute
            d.execute("INSERT INTO heartbeats (center, device, received_at, beat) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT(center, device) DO UPDATE SET received_at = excluded.received_at, "
                      "beat = excluded.beat", [who.center, who.id, now, json.dumps(beat, ensure_ascii=False)])
            d.execute("UPDATE devices SET last_beat = ? WHERE center = ? AND id = ?", [now, who.center, who.id])
        return now

    def latest(self, center: str) -> dict[str, Beat]:
        """device id -> its latest beat."""
        return {r["device"]: Beat(r["received_at"], json.loads(r["beat"])) for r in self.db.db.query(
            "SELECT device, received_at, beat FROM heartbeats WHERE center = ?", [center])}

    def presence(self, device: Row, beat: Beat | None, now: datetime | None = None) -> Presence:
        """`device` a row of the devices table, `beat` its latest."""
        heard = max((t for t in (beat and beat.received_at, device.get("last_seen")) if t), default=None)
        if heard is None:
            return Presence(False, None)
        every = float(beat.body.get("every_s") or protocol.HEARTBEAT_EVERY_S) if beat else protocol.HEARTBEAT_EVERY_S
        silence = (now or self.db.now()) - datetime.fromisoformat(heard)
        return Presence(silence <= timedelta(seconds=protocol.OFFLINE_AFTER_BEATS * every), heard)
