"""Booked visits over HTTP on a real hub (127.0.0.1): the booking system posts a booking, two
kiosks that were offline each send a check-in of it, and the hub settles it; the kiosks' copy
then says it is checked in, and only a supervisor reads the day's booked visits."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.server import HubThread
from mfc_edge import protocol
from tests.helpers.day import TEST_DAY, at

SLOT = at(10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    clock = ManualClock(at(9, 55))
    hub = Hub(tmp_path_factory.mktemp("booked-routes"), clock=clock)
    hub.operators.add("strogino", "ivanova", "Иванова Мария", "correct horse 42")
    hub.operators.add("strogino", "smirnova", "Смирнова Анна", "correct horse 42", role="supervisor")
    with HubThread(hub) as server:
        kiosks = {}
        for kiosk in ("kiosk-1", "kiosk-2"):
            _, token = hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), kiosk)
            kiosks[kiosk] = {"Authorization": f"Bearer {token}"}
        _, integration = hub.integration_tokens.issue("strogino", "Запись на приём")
        posted = requests.post(f"{server.url}{protocol.BOOKINGS_IMPORT_PATH}", timeout=10,
                               headers={"Authorization": f"Bearer {integration}"}, json={"bookings": [{
                                   "id": "portal-1", "center": "strogino", "code": "KD4821", "service": "passport-rf",
                                   "slot_start": SLOT.isoformat(),
                                   "slot_end": (SLOT + timedelta(minutes=15)).isoformat()}]})
        assert posted.status_code == 200, posted.text
        yield hub, server.url, kiosks
    hub.close()


def check_in(url: str, auth: dict[str, str], kiosk: str, number: str, when: datetime) -> str:
    ticket = uuid.uuid4().hex
    body = {"ticket": ticket, "number": number, "service": "passport-rf", "day": TEST_DAY.isoformat(),
            "priority": False, "issued_at": when.isoformat(), "status_token": uuid.uuid4().hex,
            "booking": {"id": "portal-1", "code": "KD4821", "slot_start": SLOT.astimezone(UTC).isoformat()}}
    reply = requests.post(f"{url}{protocol.EVENTS_PATH}", headers=auth, timeout=10, json={"events": [
        protocol.make_event(protocol.TICKET_ISSUED, "strogino", kiosk, when, body)]})
    assert reply.status_code == 200 and reply.json()["results"][0]["status"] == "stored", reply.text
    return ticket


def signed_in(url: str, login: str) -> requests.Session:
    session = requests.Session()
    reply = session.post(f"{url}/console/api/sign-in", timeout=10,
                         json={"center": "strogino", "login": login, "password": "correct horse 42"})
    assert reply.status_code == 200, reply.text
    return session


def test_two_offline_check_ins_of_one_booking_are_settled_and_the_kiosks_learn_it(served):
    hub, url, kiosks = served
    later = check_in(url, kiosks["kiosk-2"], "kiosk-2", "Т001", at(9, 52))  # synced first
    earlier = check_in(url, kiosks["kiosk-1"], "kiosk-1", "П001", at(9, 50))
    tickets = {r["id"]: r for r in hub.db.db.query("SELECT * FROM tickets")}
    assert (tickets[earlier]["booking"], tickets[later]["booking_duplicate"]) == ("portal-1", "portal-1")
    today = requests.get(f"{url}{protocol.BOOKINGS_TODAY_PATH}", headers=kiosks["kiosk-1"], timeout=10).json()
    assert [(b["id"], b["checked_in"]) for b in today["bookings"]] == [("portal-1", True)]

    assert signed_in(url, "ivanova").get(f"{url}/console/api/bookings", timeout=10).status_code == 403
    supervisor = signed_in(url, "smirnova")
    assert supervisor.get(f"{url}/console/api/bookings?day=2026-02-30", timeout=10).status_code == 422
    day = supervisor.get(f"{url}/console/api/bookings", timeout=10).json()
    assert [(v["code"], v["ticket"]) for v in day["visits"]] == [("KD4821", "П001")]
    assert [d["number"] for d in day["duplicates"]] == ["Т001"]
    assert supervisor.get(f"{url}/console/api/bookings?day=2026-11-24", timeout=10).json()["visits"] == []
