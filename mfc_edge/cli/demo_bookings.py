"""The booking system's and the back office's part of the demo: with an integration token of
their own they post the day's bookings and the readiness of a few applications to the demo
hub through the integration API, as they would to a center's hub, and the kiosk takes its copy
(Kiosk.bookings, Kiosk.applications) for the check-in scenes.

The codes are for the kiosk's scenes: one typed on the keypad, one read by the scanner, one too
early, one cancelled; the application numbers one ready, one not yet, one already collected.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from mfc_edge.protocol import APPLICATIONS_IMPORT_PATH, BOOKINGS_IMPORT_PATH

BY_KEYPAD, BY_SCAN, EARLY, CANCELLED = "KD-4821", "QR7305", "ER-1150", "CX-2044"
READY, NOT_READY, COLLECTED = "77-0012/34", "77-0099/01", "77-0050/10"


def demo_bookings(now: datetime) -> list[dict[str, Any]]:
    """The day's bookings as the city portal would post them, slots around `now`."""
    def one(booking_id: str, code: str, service: str, in_minutes: int, initial: str, state: str = "active"):
        start = now + timedelta(minutes=in_minutes)
        return {"id": booking_id, "center": "strogino", "code": code, "service": service,
                "slot_start": start.isoformat(), "slot_end": (start + timedelta(minutes=15)).isoformat(),
                "initial": initial, "state": state, "version": 1}

    return [one("portal-1001", BY_KEYPAD, "passport-rf", 10, "А"),
            one("portal-1002", BY_SCAN, "property-rights", 15, "М"),
            one("portal-1003", EARLY, "passport-rf", 120, "Е"),
            one("portal-1004", CANCELLED, "passport-rf", 20, "", state="cancelled")]


def import_bookings(center: Any) -> str:
    """Post the bookings and applications with an integration token, as the booking system and
    the back office do; the kiosk then has its copy. A line for the demo's summary."""
    _, token = center.hub.integration_tokens.issue("strogino", "Запись на приём (демо)")
    headers = {"Authorization": f"Bearer {token}"}
    url = center.server.url
    booked = requests.post(f"{url}{BOOKINGS_IMPORT_PATH}", json={"bookings": demo_bookings(center.clock.now())},
                           headers=headers, timeout=10)
    ready = requests.post(f"{url}{APPLICATIONS_IMPORT_PATH}", headers=headers, timeout=10, json={"applications": [
        {"number": READY, "center": "strogino", "state": "ready"},
        {"number": NOT_READY, "center": "strogino", "state": "not-ready"},
        {"number": COLLECTED, "center": "strogino", "state": "collected"}]})
    for reply in (booked, ready):
        if reply.status_code != 200:
            raise RuntimeError(f"the demo hub refused the demo's import: {reply.status_code} {reply.text[:300]}")
    kiosk = center.kiosk
    if kiosk is not None and kiosk.bookings.poller and kiosk.applications.poller:
        kiosk.bookings.poller.poll_once()
        kiosk.applications.poller.poll_once()
    b, a = booked.json(), ready.json()
    return (f"The booking system posted {b['created'] + b['cancelled']} bookings ({b['cancelled']} cancelled) and "
            f"the back office "
            f"{a['created']} applications through the integration API; the kiosk keeps "
            f"{len(kiosk.bookings.bookings()) if kiosk else 0} bookings of today on disk.")
