"""The wire protocol between devices and the hub: event envelopes and their version.

Every event is a JSON object with a UUID, so the hub can store each exactly once however
often a device sends it. Devices and the hub import these names from here only.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

PROTOCOL_VERSION = 1

TICKET_ISSUED = "ticket.issued"
TICKET_PRINTED = "ticket.printed"  # body: outcome, error; also for failed prints
PRINTER_STATUS = "printer.status"  # body: status, previous; on every change
CLOCK_SUSPECT = "clock.suspect"  # body: device_clock, used
NUMBERING_WRAPPED = "numbering.wrapped"  # body: letter, day, range
EVENT_TYPES = frozenset({TICKET_ISSUED, TICKET_PRINTED, PRINTER_STATUS, CLOCK_SUSPECT, NUMBERING_WRAPPED})


def make_event(event_type: str, center_id: str, device_id: str, at: datetime,
               body: dict[str, Any]) -> dict[str, Any]:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return {
        "id": str(uuid.uuid4()),
        "v": PROTOCOL_VERSION,
        "type": event_type,
        "center": center_id,
        "device": device_id,
        "at": at.isoformat(timespec="microseconds"),
        "body": body,
    }
