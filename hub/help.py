"""Help requests from call-a-specialist buttons: open until an operator acknowledges them.

    open → acknowledged (someone is on the way) → closed

A request is made on the device (its id comes with the `help.requested` event), so the
button can ask about it even before the hub has it; the hub stores it once however often
the event arrives.
"""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from hub.db import HubDB, Row, iso

OPEN, ACKNOWLEDGED, CLOSED = "open", "acknowledged", "closed"


class HelpError(ValueError):
    """An action that does not fit the request's state; the message is for the operator."""


class HelpDesk:
    def __init__(self, db: HubDB):
        self.db = db

    def project(self, d: Database, event: dict[str, Any]) -> None:
        """Ingest hook for `help.requested`: runs inside the ingest transaction."""
        d.execute("INSERT OR IGNORE INTO help_requests (id, center, device, point, requested_at, state) "
                  "VALUES (?, ?, ?, ?, ?, ?)", [event["body"]["request"], event["center"], event["device"],
                                                event["body"]["point"], iso(self.db.now()), OPEN])

    def get(self, center: str, request: str) -> Row | None:
        rows = list(self.db.db.query("SELECT * FROM help_requests WHERE center = ? AND id = ?", [center, request]))
        return rows[0] if rows else None

    def pending(self, center: str) -> list[Row]:
        """Requests not yet closed, oldest first: what the consoles show."""
        return list(self.db.db.query(
            "SELECT id, point, requested_at, state, acknowledged_at, acknowledged_by FROM help_requests "
            "WHERE center = ? AND state != ? ORDER BY requested_at", [center, CLOSED]))

    def _move(self, center: str, request: str, frm: tuple[str, ...], to: str, who: str) -> Row:
        stamp = "acknowledged" if to == ACKNOWLEDGED else "closed"
        with self.db.transaction() as d:
            found = self.get(center, request)
            if found is None:
                raise HelpError("no such help request")
            if found["state"] not in frm:
                raise HelpError(f"the request is already {found['state']}")
            d.table("help_requests").update(request, {"state": to, f"{stamp}_at": iso(self.db.now()),
                                                      f"{stamp}_by": who})
            return dict(d.table("help_requests").get(request))

    def acknowledge(self, center: str, request: str, who: str) -> Row:
        return self._move(center, request, (OPEN,), ACKNOWLEDGED, who)

    def close(self, center: str, request: str, who: str) -> Row:
        return self._move(center, request, (OPEN, ACKNOWLEDGED), CLOSED, who)
