"""A kiosk's copy of its center's booked visits and of the readiness of its applications, so
that a visitor checks in by booking code, or asks whether documents are ready, while the hub
is away too.

Both are polled from the hub over the authenticated device channel with an ETag (an unchanged
list costs a 304) and kept on disk: a kiosk restarted while the hub is away still knows the
day's bookings. The hub serves only the kiosk's own center.

The wire formats (hub/bookings.py and hub/applications.py make them):
    BOOKINGS_TODAY_PATH: {"center", "day", "bookings": [{"id", "code", "service", "slot_start",
        "slot_end" (ISO 8601 with a time zone), "initial" ("" or one letter),
        "state" ("active" | "cancelled"), "checked_in" (bool)}, ...]}
    APPLICATIONS_PATH: {"center", "applications": [{"number", "state"
        ("not-ready" | "ready" | "collected")}, ...]}

Codes and application numbers are compared as protocol.booking_code_key spells them: upper
case, without spaces and dashes, as a visitor types them or a scanner reads them.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mfc_edge.protocol import (
    APPLICATION_STATES,
    APPLICATIONS_PATH,
    BOOKING_STATES,
    BOOKINGS_TODAY_PATH,
    booking_code_key,
)
from mfc_edge.times import aware_time_in
from offline_cache.hub_client import HubClient
from offline_cache.hub_copy import HubCopy
from offline_cache.hub_poller import HubPoller

log = logging.getLogger(__name__)

# A booking made for today must reach the kiosks before its visitor does; readiness changes less.
BOOKINGS_EVERY_S = 15.0
APPLICATIONS_EVERY_S = 30.0
BOOKINGS_FILE = "bookings.json"
APPLICATIONS_FILE = "applications.json"


@dataclass(frozen=True)
class Booking:
    id: str
    code: str
    service: str  # a catalog id
    slot_start: datetime  # aware, UTC
    slot_end: datetime  # aware, UTC
    initial: str  # "" or one letter, for the greeting
    state: str  # "active" | "cancelled"
    checked_in: bool  # the hub has a ticket for it already (checked in at some kiosk)

    @classmethod
    def from_wire(cls, item: Any) -> Booking:
        """One booking of the hub's answer; ValueError naming the field when it is not one."""
        if not isinstance(item, dict):
            raise ValueError("a booking must be a JSON object")
        texts = {}
        for key in ("id", "code", "service", "initial", "state"):
            value = item.get(key, "" if key == "initial" else None)
            if not isinstance(value, str) or len(value) > 64:
                raise ValueError(f"{key} = {value!r:.60} is not a text of at most 64 characters")
            texts[key] = value
        if not texts["id"] or not booking_code_key(texts["code"]) or not texts["service"]:
            raise ValueError("a booking needs an id, a code and a service")
        if texts["state"] not in BOOKING_STATES:
            raise ValueError(f"state = {texts['state']!r:.30}: expected one of {', '.join(BOOKING_STATES)}")
        start, end = aware_time_in(item, "slot_start"), aware_time_in(item, "slot_end")
        if end <= start:
            raise ValueError("slot_end must come after slot_start")
        return cls(id=texts["id"], code=texts["code"], service=texts["service"], slot_start=start,
                   slot_end=end, initial=texts["initial"][:1], state=texts["state"],
                   checked_in=item.get("checked_in") is True)


def parse_bookings(data: dict[str, Any] | None) -> tuple[Booking, ...]:
    """The bookings of a hub answer by slot; a spoiled entry is left out (and logged), never
    the whole list: one bad booking must not turn every visitor away."""
    items = data.get("bookings") if isinstance(data, dict) else None
    found = []
    for item in items if isinstance(items, list) else ():
        try:
            found.append(Booking.from_wire(item))
        except ValueError as exc:
            log.warning("bookings: leaving out a booking the hub sent: %s", exc)
    return tuple(sorted(found, key=lambda b: (b.slot_start, b.id)))


def parse_applications(data: dict[str, Any] | None) -> dict[str, str]:
    """Application number (as booking_code_key spells it) → state; spoiled entries left out."""
    items = data.get("applications") if isinstance(data, dict) else None
    found = {}
    for item in items if isinstance(items, list) else ():
        number = item.get("number") if isinstance(item, dict) else None
        state = item.get("state") if isinstance(item, dict) else None
        if isinstance(number, str) and booking_code_key(number) and state in APPLICATION_STATES:
            found[booking_code_key(number)] = state
        else:
            log.warning("applications: leaving out an entry the hub sent: %.80r", item)
    return found


class BookingBook(HubCopy[tuple[Booking, ...]]):
    """The bookings of the kiosk's center for today (and tomorrow morning), as the hub last
    sent them. `BookingBook.of(...)` holds a fixed list; `BookingBook.polling(...)` follows a hub
    (call `start()`)."""

    def __init__(self, poller: HubPoller | None = None, bookings: Iterable[Booking] = ()):
        super().__init__(poller, parse_bookings, tuple(sorted(bookings, key=lambda b: (b.slot_start, b.id))))

    @classmethod
    def polling(cls, hub: HubClient, *, cache_file: str | Path | None = None,
                interval: float = BOOKINGS_EVERY_S, timeout: float = 5.0) -> BookingBook:
        """Stale answers are kept on purpose (stale_after=inf): a booking the kiosk knows holds
        until its slot is over, hub or no hub; the check-in rules judge the time."""
        return cls(HubPoller(hub, BOOKINGS_TODAY_PATH, interval=interval, stale_after=float("inf"),
                             timeout=timeout, cache_file=cache_file, name="bookings"))

    @classmethod
    def of(cls, bookings: Iterable[Booking]) -> BookingBook:
        return cls(None, bookings)

    def bookings(self) -> list[Booking]:
        """Every booking known, by slot."""
        return list(self._current())

    def find(self, code: str) -> Booking | None:
        """The booking of this code, compared as booking_code_key spells it; of several (a code
        booked again after a cancellation), an active one first, then the latest slot."""
        key = booking_code_key(code)
        matches = [b for b in self._current() if key and booking_code_key(b.code) == key]
        return max(matches, key=lambda b: (b.state == "active", b.slot_start), default=None)


class ApplicationBook(HubCopy[dict[str, str]]):
    """The readiness of the center's applications, as the back office last reported it."""

    def __init__(self, poller: HubPoller | None = None, states: dict[str, str] | None = None):
        super().__init__(poller, parse_applications,
                         {booking_code_key(k): v for k, v in (states or {}).items()})

    @classmethod
    def polling(cls, hub: HubClient, *, cache_file: str | Path | None = None,
                interval: float = APPLICATIONS_EVERY_S, timeout: float = 5.0) -> ApplicationBook:
        return cls(HubPoller(hub, APPLICATIONS_PATH, interval=interval, stale_after=float("inf"),
                             timeout=timeout, cache_file=cache_file, name="applications"))

    @classmethod
    def of(cls, states: dict[str, str]) -> ApplicationBook:
        """A fixed book: application number → "not-ready" | "ready" | "collected"."""
        return cls(None, states)

    def status(self, number: str) -> str | None:
        """"not-ready", "ready" or "collected"; None for a number the back office never reported."""
        key = booking_code_key(number)
        return self._current().get(key) if key else None
