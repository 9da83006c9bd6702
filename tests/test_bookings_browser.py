"""The supervisor's booked visits on the console in headless Chromium, against a real hub on
127.0.0.1: each booking with its check-in, ticket, call and 5-minute norm, the no-show, and the
second check-in of a booking, which the operator is told of when calling it."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hardware.clock import ManualClock
from hub.api import Hub
from hub.db import iso
from hub.identity import Device
from hub.server import HubThread
from mfc_edge import protocol
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.helpers.day import TEST_DAY, at

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def book(hub: Hub, booking: str, code: str, slot: datetime) -> None:
    with hub.db.transaction() as d:
        d.table("bookings").insert({"id": booking, "center": "strogino", "code": code, "service": "passport-rf",
                                    "slot_start": iso(slot), "slot_end": iso(slot + timedelta(minutes=15)),
                                    "initial": "", "state": "active", "version": 1, "updated_at": iso(at(8)),
                                    "checked_in_ticket": "", "checked_in_at": ""})


def check_in(hub: Hub, kiosk: str, number: str, when: datetime, booking: str, code: str, slot: datetime) -> None:
    """The ticket.issued event of a kiosk's check-in, reaching the hub as a kiosk's sync sends it."""
    body = {"ticket": uuid.uuid4().hex, "number": number, "service": "passport-rf", "day": TEST_DAY.isoformat(),
            "priority": False, "issued_at": when.isoformat(), "status_token": uuid.uuid4().hex,
            "booking": {"id": booking, "code": code, "slot_start": slot.astimezone(UTC).isoformat()}}
    event = protocol.make_event(protocol.TICKET_ISSUED, "strogino", kiosk, when, body)
    [outcome] = hub.events.ingest(Device("strogino", kiosk, "kiosk", None), [event])
    assert outcome.status == "stored"


@pytest.fixture
def center(tmp_path):
    clock = ManualClock(at(9, 55))
    hub = Hub(tmp_path / "hub", clock=clock)
    hub.operators.add("strogino", "smirnova", "Смирнова Анна", "correct horse 42", role="supervisor")
    book(hub, "BK-1", "A7K2P9", at(10))
    book(hub, "BK-2", "Q4M8R2", at(10, 15))
    book(hub, "BK-3", "Z9X3C5", at(9, 15))  # nobody comes
    # BK-1 checked in at two kiosks while both were offline: kiosk-2's ticket, the later, syncs first.
    check_in(hub, "kiosk-2", "Т001", at(9, 52), "BK-1", "A7K2P9", at(10))
    check_in(hub, "kiosk-1", "П001", at(9, 50), "BK-1", "A7K2P9", at(10))
    hub.queue.open_window("strogino", "5", ["passport-rf"], "smirnova")
    clock.set(at(10, 2))
    assert hub.queue.call_next("strogino", "5", ["passport-rf"])["number"] == "П001"  # 2 minutes after its slot
    clock.set(at(10, 5))
    check_in(hub, "kiosk-1", "П002", at(10, 5), "BK-2", "Q4M8R2", at(10, 15))
    clock.set(at(10, 16))
    hub.queue.finish("strogino", "5")
    assert hub.queue.call_next("strogino", "5", ["passport-rf"])["number"] == "Т001"  # its 15 minutes end first
    clock.set(at(10, 23))
    with HubThread(hub) as server:
        yield hub, server.url
    hub.close()


def test_the_supervisor_sees_the_days_bookings_and_the_operator_the_second_check_in(center):
    playwright = pytest.importorskip("playwright.sync_api")
    hub, url = center
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, timezone_id="Europe/Moscow")
        refused: list[str] = []  # what the hub's Content-Security-Policy stopped: nothing the page needs
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        sign_in(page, url, "smirnova", "Смирнова Анна")
        page.wait_for_selector("#booking-rows tr:has-text('A7K2P9')")
        rows = {r[1]: r for r in page.eval_on_selector_all(
            "#booking-rows tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")}
        assert rows["Z9X3C5"] == ["09:15–09:30", "Z9X3C5", "Паспорт гражданина РФ", "не пришёл", "—", "—", "—"]
        assert rows["A7K2P9"] == ["10:00–10:15", "A7K2P9", "Паспорт гражданина РФ", "09:50", "П001", "10:02", "да"]
        # П002 checked in for 10:15 at 10:05 and still waits at 10:23: its 5 minutes are gone.
        assert rows["Q4M8R2"] == ["10:15–10:30", "Q4M8R2", "Паспорт гражданина РФ", "10:05", "П002", "—", "нет"]
        summary = page.text_content("#bookings-summary")
        assert "Записей 3 · пришли 2 · вызваны 1 · вызваны в течение 5 минут 1 из 2 (50 %) · не пришли 1" in summary
        assert "Т001" in page.text_content("#booking-duplicates")
        assert page.is_visible("#booking-duplicates-title")
        assert not refused, refused

        # The operator's side: the ticket of the second check-in, at the window, says so.
        page.fill("#window", "5")
        page.wait_for_selector("#current:has-text('Т001')")
        assert "повторная регистрация по записи" in page.text_content("#current-info")
        page.click("#finish")
        page.click("#call-next")
        page.wait_for_selector("#current:has-text('П002')")
        page.wait_for_selector("#current-info:has-text('по записи на 10:15')")
        page.wait_for_selector("#booking-rows tr:has-text('Q4M8R2'):has-text('10:23')")
        browser.close()
