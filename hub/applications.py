"""Readiness of documents: a center's back office tells the hub which applications are ready
for collection, and the kiosks keep a copy (offline_cache/bookings.py, ApplicationBook) so a
visitor who types or scans an application number learns its status, hub or no hub.

Posted through the integration API like bookings (hub/bookings.py: the same batches, tokens,
per-item refusals naming the field and idempotence): an application is its number, its center
and its state, nothing else. The number is kept as protocol.booking_code_key spells it, so
"77-0012/34" and "770012/34" are one application, as a visitor may type either.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from hub.bookings import NotYours, Outcome, Refused, center_of, text
from hub.db import HubDB, iso
from hub.integration_tokens import Integration
from mfc_edge.protocol import APPLICATION_STATES, booking_code_key

NUMBER = re.compile(r"[0-9A-ZА-ЯЁ./:_]{1,40}")
FIELDS = ("number", "center", "state")
# Collected applications are kept on the kiosks this long ("already collected" rather than
# "unknown" for someone who comes back); ready and not-ready ones until the back office says.
COLLECTED_SHOWN = timedelta(days=30)


def application_row(raw: Any) -> dict[str, Any]:
    """The stored row of one posted application, or Refused naming the field."""
    if not isinstance(raw, dict):
        raise Refused("application", "expected a JSON object")
    extra = sorted(set(raw) - set(FIELDS))
    if extra:
        raise Refused(extra[0], f"not accepted: an application is its number, center and state only "
                                f"(fields: {', '.join(FIELDS)})")
    number = booking_code_key(text(raw, "number", 64))
    if not NUMBER.fullmatch(number):
        raise Refused("number", f"{number!r}: expected 1 to 40 letters, digits or . / : _ (spaces and dashes "
                                "are ignored)")
    center = center_of(raw)
    state = text(raw, "state", 16)
    if state not in APPLICATION_STATES:
        raise Refused("state", f"{state!r}: expected one of {', '.join(APPLICATION_STATES)}")
    return {"number": number, "center": center, "state": state}


class Applications:
    def __init__(self, db: HubDB):
        self.db = db

    def post(self, items: Iterable[tuple[int, Any]], who: Integration) -> Outcome:
        """Take a batch of (place in the batch, posted application), in one transaction;
        NotYours, storing nothing, when an item is for a center `who` does not cover."""
        now, outcome = iso(self.db.now()), Outcome()
        rows = []
        for place, raw in items:
            try:
                row = application_row(raw)
            except Refused as exc:
                outcome.refuse(place, raw, exc)
                continue
            if not who.covers(row["center"]):
                raise NotYours(f"item {place}: this token posts for center {who.center}, not {row['center']}")
            rows.append(row)
        with self.db.transaction() as d:
            for row in rows:
                found = d.execute("SELECT state FROM applications WHERE center = ? AND number = ?",
                                  [row["center"], row["number"]]).fetchone()
                if found and found[0] == row["state"]:
                    outcome.unchanged += 1
                    continue
                d.table("applications").upsert({**row, "updated_at": now}, pk=("center", "number"))
                if found:
                    outcome.changed += 1
                else:
                    outcome.created += 1
        return outcome

    def status(self, center: str, number: str) -> str | None:
        found = self.db.db.execute("SELECT state FROM applications WHERE center = ? AND number = ?",
                                   [center, booking_code_key(number)]).fetchone()
        return found[0] if found else None

    def for_devices(self, center: str) -> tuple[str, dict[str, Any]]:
        """The ETag and body of the kiosks' answer: every application of the center not yet
        collected, and those collected lately."""
        since = iso(self.db.now() - COLLECTED_SHOWN)
        rows = self.db.db.execute("SELECT number, state FROM applications WHERE center = ? "
                                  "AND (state != 'collected' OR updated_at >= ?) ORDER BY number",
                                  [center, since]).fetchall()
        body = {"center": center, "applications": [{"number": n, "state": s} for n, s in rows]}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]
        return f'"applications-{digest}"', body

