"""Booked visits: what the city's booking system tells the hub, and the day's list the kiosks
keep a copy of (offline_cache/bookings.py) to check visitors in by code, hub or no hub.

Bookings arrive in batches, from the integration API (hub/routes/integration.py) or a CSV file
(`mfc-edge hub import-bookings`); both go through `Bookings.post` and its one validator,
`booking_row`. Posting is idempotent by the booking system's id: the same booking again changes
nothing, a higher `version` (or, without versions, whatever is posted later) replaces it, and a
lower version than the one stored is ignored, so batches retried out of order cannot undo a
change. A cancellation is a booking posted with state "cancelled": it is kept, so a kiosk can
tell its visitor so. Each bad item is refused on its own, naming the field; the others are taken.

A booking holds its code, service, time slot and at most an initial for the greeting: any
other field is refused, so no other personal data can be stored by mistake.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.catalogs import Catalogs
from hub.centers import Centers
from hub.db import HubDB, iso
from hub.integration_tokens import ALL_CENTERS, Integration
from mfc_edge.config import ID_RULE, is_ident
from mfc_edge.protocol import BOOKING_STATES, booking_code_key

MAX_ITEMS = 1000  # per request; a batch of this many is about 200 kB
# The booking system's ids as protocol's ticket.issued accepts them back from the kiosks.
BOOKING_ID = re.compile(r"[0-9A-Za-zА-Яа-яЁё._:/-]{1,64}")
# A code as it is compared (booking_code_key): what a keypad can type and a scanner read.
CODE = re.compile(r"[0-9A-ZА-ЯЁ._:/]{3,32}")
MAX_SLOT = timedelta(hours=12)
SLOT_RANGE = timedelta(days=366)  # a slot further from now than this is a mistake
# The kiosks' list: the center's local today and tomorrow until noon, so a kiosk that stays up
# past midnight already knows the morning's first bookings.
TOMORROW_UNTIL = timedelta(days=1, hours=12)
# Another active booking of the same code whose slot ended less than this ago still holds it:
# a kiosk must never find two bookings for one code.
CODE_HELD_FOR = timedelta(hours=12)
FIELDS = ("id", "center", "code", "service", "slot_start", "slot_end", "initial", "state", "version")


class Refused(ValueError):
    """One item that cannot be taken: `field` names what is wrong, the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class NotYours(PermissionError):
    """A batch for a center the token does not cover: refused whole (403)."""


@dataclass
class Outcome:
    """What a batch did. `errors` has one entry per refused item: its place in the batch (the
    list index, or the CSV line), its id if it had a readable one, the field and why."""
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    cancelled: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, item: int, raw: Any, exc: Refused) -> None:
        key = raw.get("id", raw.get("number")) if isinstance(raw, dict) else None
        self.errors.append({"item": item, "id": key if isinstance(key, str) else None,
                            "field": exc.field, "error": exc.message})

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "changed": self.changed, "unchanged": self.unchanged,
                "cancelled": self.cancelled}

    def reply(self) -> dict[str, Any]:
        return {**self.counts(), "errors": self.errors}


def text(raw: dict[str, Any], key: str, limit: int, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise Refused(key, "missing")
    if not isinstance(value, str):
        raise Refused(key, f"expected a text, got {type(value).__name__}")
    if len(value) > limit:
        raise Refused(key, f"longer than {limit} characters")
    return value.strip()


def center_of(raw: dict[str, Any], default: str | None = None) -> str:
    center = text(raw, "center", 40, default)
    if not is_ident(center):
        raise Refused("center", f"{center!r}: expected {ID_RULE}")
    return center


def _moment(raw: dict[str, Any], key: str, zone: ZoneInfo) -> datetime:
    value = text(raw, key, 40)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(key, f"{value!r}: expected an ISO 8601 time, e.g. 2026-03-02T10:15:00+03:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def booking_row(raw: Any, centers: Centers, catalogs: Catalogs, now: datetime,
                default_center: str | None = None) -> dict[str, Any]:
    """The stored row of one posted booking, or Refused naming the field. A slot time without
    an offset is the center's local time (convenient in a CSV file)."""
    if not isinstance(raw, dict):
        raise Refused("booking", "expected a JSON object")
    extra = sorted(set(raw) - set(FIELDS))
    if extra:
        raise Refused(extra[0], "not accepted: a booking holds its code, service, slot and at most an initial, "
                                f"nothing else (fields: {', '.join(FIELDS)})")
    booking_id = text(raw, "id", 64)
    if not BOOKING_ID.fullmatch(booking_id):
        raise Refused("id", f"{booking_id!r}: expected 1 to 64 letters, digits or . _ : / -")
    center = center_of(raw, default_center)
    code = booking_code_key(text(raw, "code", 64))
    if not CODE.fullmatch(code):
        raise Refused("code", f"{code!r}: expected 3 to 32 letters or digits (spaces and dashes are ignored)")
    service = text(raw, "service", 64)
    if service not in catalogs.for_center(center):
        raise Refused("service", f"{service!r}: not a service of center {center}'s catalog")
    zone = centers.timezone(center)
    start, end = _moment(raw, "slot_start", zone), _moment(raw, "slot_end", zone)
    for key, moment in (("slot_start", start), ("slot_end", end)):  # first: year 9999 + 12 h would overflow
        if abs(moment - now) > SLOT_RANGE:
            raise Refused(key, f"{moment.date()}: more than a year away from today")
    if not start < end <= start + MAX_SLOT:
        raise Refused("slot_end", f"must come after slot_start and at most {MAX_SLOT.seconds // 3600} hours later")
    initial = text(raw, "initial", 8, "")
    if len(initial) > 1 or (initial and not initial.isalpha()):
        raise Refused("initial", "at most one letter: a booking holds no other personal data")
    state = text(raw, "state", 16, "active")
    if state not in BOOKING_STATES:
        raise Refused("state", f"{state!r}: expected one of {', '.join(BOOKING_STATES)}")
    version = raw.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                or not 0 <= version < 2**53):
        raise Refused("version", f"{version!r:.30}: expected a whole number from 0")
    return {"id": booking_id, "center": center, "code": code, "service": service, "slot_start": iso(start),
            "slot_end": iso(end), "initial": initial.upper(), "state": state, "version": version}


# The columns a repost compares: the same values again is "unchanged".
_CONTENT = ("center", "code", "service", "slot_start", "slot_end", "initial", "state", "version")


class Bookings:
    def __init__(self, db: HubDB, centers: Centers, catalogs: Catalogs):
        self.db, self.centers, self.catalogs = db, centers, catalogs

    def post(self, items: Iterable[tuple[int, Any]], who: Integration,
             default_center: str | None = None) -> Outcome:
        """Take a batch: (place in the batch, posted booking) pairs, all in one transaction.
        NotYours when an item is for a center `who` does not cover; nothing is stored then."""
        now, outcome = self.db.now(), Outcome()
        rows: list[tuple[int, Any, dict[str, Any]]] = []
        for place, raw in items:
            try:
                row = booking_row(raw, self.centers, self.catalogs, now, default_center)
            except Refused as exc:
                outcome.refuse(place, raw, exc)
                continue
            if not who.covers(row["center"]):
                raise NotYours(f"item {place}: this token posts for center {who.center}, not {row['center']}")
            rows.append((place, raw, row))
        known = self._known_centers() if who.center == ALL_CENTERS else None
        with self.db.transaction() as d:
            for place, raw, row in rows:
                try:
                    self._store(d, row, who, known, now, outcome)
                except Refused as exc:
                    outcome.refuse(place, raw, exc)
        return outcome

    def _store(self, d: Any, row: dict[str, Any], who: Integration, known: set[str] | None, now: datetime,
               outcome: Outcome) -> None:
        if known is not None and row["center"] not in known:
            raise Refused("center", f"{row['center']!r}: no such center on this hub")
        found = list(d.query("SELECT * FROM bookings WHERE id = ?", [row["id"]]))
        old = found[0] if found else None
        if old and not who.covers(old["center"]):
            raise Refused("id", "a booking of another center has this id")
        if old and old["version"] is not None and row["version"] is not None and row["version"] < old["version"]:
            outcome.unchanged += 1  # an older version than the one kept: a retry arriving late
            return
        if old and all(old[k] == row[k] for k in _CONTENT):
            outcome.unchanged += 1
            return
        if row["state"] == "active":
            held = d.execute("SELECT id FROM bookings WHERE center = ? AND code = ? AND id != ? AND state = 'active' "
                             "AND slot_end > ? LIMIT 1",
                             [row["center"], row["code"], row["id"], iso(now - CODE_HELD_FOR)]).fetchone()
            if held:
                raise Refused("code", f"{row['code']} is the code of booking {held[0]} of this center too")
        stored = {**row, "updated_at": iso(now)}
        if old is None:
            d.table("bookings").insert({**stored, "checked_in_ticket": "", "checked_in_at": ""})
            outcome.created += 1
        else:
            d.table("bookings").update(row["id"], stored)
            outcome.changed += 1
        if row["state"] == "cancelled" and (old is None or old["state"] != "cancelled"):
            outcome.cancelled += 1
            outcome.created -= old is None
            outcome.changed -= old is not None

    def _known_centers(self) -> set[str]:
        return {r[0] for r in self.db.db.execute("SELECT id FROM centers UNION SELECT center FROM devices")}

    def get(self, booking_id: str) -> dict[str, Any] | None:
        rows = list(self.db.db.query("SELECT * FROM bookings WHERE id = ?", [booking_id]))
        return rows[0] if rows else None

    def for_devices(self, center: str) -> tuple[str, dict[str, Any]]:
        """The ETag and body of the kiosks' answer: the center's bookings of its local today and
        tomorrow morning, by slot (offline_cache/bookings.py reads it)."""
        day, began = self.centers.today(center)
        until = iso(datetime.fromisoformat(began) + TOMORROW_UNTIL)
        rows = self.db.db.query("SELECT * FROM bookings WHERE center = ? AND slot_start >= ? AND slot_start < ? "
                                "ORDER BY slot_start, id", [center, began, until])
        body = {"center": center, "day": day, "bookings": [wire(r) for r in rows]}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]
        return f'"bookings-{digest}"', body


def wire(row: dict[str, Any]) -> dict[str, Any]:
    """A stored booking as kiosks receive it."""
    return {"id": row["id"], "code": row["code"], "service": row["service"], "slot_start": row["slot_start"],
            "slot_end": row["slot_end"], "initial": row["initial"] or "", "state": row["state"],
            "checked_in": bool(row["checked_in_ticket"])}
