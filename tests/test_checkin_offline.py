"""Check-in with the hub away, and the collection lane, through a real hub.

Two enrolled kiosks take the day's bookings from the hub, the hub stops, the kiosks restart and
check visitors in from their copies on disk, by touches on their screens; the same code is
checked in at both while offline; the hub comes back, both kiosks sync, and the hub gives the
booking to one ticket and flags the other for its operator. A ready application's collection
ticket is printed, synced, called and named on its phone page."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from hardware.escpos_decode import decode_escpos, receipt_text
from mfc_edge.protocol import BOOKINGS_IMPORT_PATH
from tests.helpers.day import TEST_DAY
from tests.helpers.devices import write_config

pytestmark = pytest.mark.slow


def post_bookings(hub, url: str, now) -> None:
    _, token = hub.integration_tokens.issue("strogino", "Запись на приём")
    slot = now + timedelta(minutes=10)
    reply = requests.post(f"{url}{BOOKINGS_IMPORT_PATH}", timeout=10, headers={"Authorization": f"Bearer {token}"},
                          json={"bookings": [{"id": "portal-1", "center": "strogino", "code": "KD-4821",
                                              "service": "passport-rf", "slot_start": slot.isoformat(),
                                              "slot_end": (slot + timedelta(minutes=15)).isoformat(),
                                              "initial": "А"}]})
    assert reply.status_code == 200 and reply.json()["created"] == 1


def kiosk_config(folder: Path, device_id: str, printer_uri: str, hub_url: str):
    from mfc_edge.config import load_config

    folder.mkdir(parents=True)
    path = write_config(folder, printer_uri=printer_uri)
    text = path.read_text().replace('id = "kiosk-1"', f'id = "{device_id}"').replace("https://hub.example.org", hub_url)
    if device_id != "kiosk-1":  # each kiosk of a center numbers from its own range
        text = text.replace("ticket_range = [1, 499]", "ticket_range = [500, 999]")
    path.write_text(text)
    return load_config(path)


def check_in_by_touch(kiosk, clock, code: str) -> str:
    """A visitor types `code` at the kiosk; the outcome's text, after taking the booked ticket if offered."""
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk

    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, bookings=kiosk.bookings,
                   applications=kiosk.applications)
    with HeadlessKiosk(app, (1280, 800)) as k:
        k.tap("booking")
        for char in code:
            k.tap(tag=f"key:{char}")
        k.tap("check")
        said = k.find(tag="outcome").text
        if any(getattr(w, "tag", "") == "take-booked" for w in k.widgets()):
            k.tap("take-booked")
            assert k.screen == "result" and "По записи на 10:10" in k.texts()
    return said


def synced(kiosk, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kiosk.sync.wake()
        if kiosk.store.outbox_size() == 0:
            return True
        time.sleep(0.1)
    return False


def test_the_same_code_at_two_kiosks_offline_then_the_hub_settles_it(tmp_path, clock, printer):
    from hub.booked_visits import BookedVisits
    from hub.hub import Hub
    from hub.server import HubThread
    from kiosk.wiring import open_kiosk
    from offline_cache.enrollment import enroll

    hub = Hub(tmp_path / "hub", clock=clock)
    server = HubThread(hub).start()
    port = int(server.url.rsplit(":", 1)[1])
    try:
        post_bookings(hub, server.url, clock.now())
        devices = [kiosk_config(tmp_path / name, name, printer.uri, server.url) for name in ("kiosk-1", "kiosk-2")]
        for device in devices:  # enrolled, and each takes the day's bookings before the hub goes
            enroll(device, hub.identity.create_code("strogino", "kiosk"))
            kiosk = open_kiosk(device, clock)
            assert kiosk.bookings.poller.poll_once() and kiosk.bookings.find("KD4821") is not None
            kiosk.close()
    finally:
        server.stop()

    # The hub is away; the kiosks restart and check in from their copies on disk.
    clock.advance(minutes=2)
    first, second = (open_kiosk(device, clock) for device in devices)
    try:
        assert check_in_by_touch(first, clock, "KD4821") == "Ваша запись найдена: 10:10. Получите талон."
        assert "По записи на 10:10" in receipt_text(decode_escpos(printer.wait_for_jobs(1)[0].data))
        # Again at the same kiosk: refused, the hub still away.
        assert check_in_by_touch(first, clock, "KD4821").startswith("По этой записи уже получен талон")
        clock.advance(minutes=1)
        # The other kiosk does not know: it checks the same booking in.
        assert check_in_by_touch(second, clock, "KD4821") == "Ваша запись найдена: 10:10. Получите талон."
        assert [len(k.store.tickets()) for k in (first, second)] == [1, 1]

        server = HubThread(hub, port=port).start()  # the hub is back
        try:
            assert synced(first) and synced(second)
            day = BookedVisits(hub.db, hub.centers).day("strogino", TEST_DAY.isoformat())
            [visit] = day["visits"]
            assert visit["code"] == "KD4821" and visit["ticket"] == first.store.tickets()[0].number
            [duplicate] = day["duplicates"]  # the second kiosk's ticket, told to its operator
            assert duplicate["booking"] == "portal-1" and duplicate["number"] == second.store.tickets()[0].number
            # The kiosks' copies now say the booking is used: a third kiosk would refuse it too.
            assert second.bookings.poller.poll_once() and second.bookings.find("KD4821").checked_in
        finally:
            server.stop()
    finally:
        first.close()
        second.close()
        hub.close()


def test_a_ready_documents_ticket_is_printed_synced_called_and_its_phone_page_says_so(tmp_path, clock, printer):
    from hub.hub import Hub
    from hub.server import HubThread
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from kiosk.wiring import open_kiosk
    from mfc_edge.protocol import APPLICATIONS_IMPORT_PATH
    from offline_cache.enrollment import enroll

    hub = Hub(tmp_path / "hub", clock=clock)
    with HubThread(hub) as server:
        _, token = hub.integration_tokens.issue("strogino", "Бэк-офис")
        reply = requests.post(f"{server.url}{APPLICATIONS_IMPORT_PATH}", timeout=10,
                              headers={"Authorization": f"Bearer {token}"},
                              json={"applications": [{"number": "77-0012/34", "center": "strogino", "state": "ready"}]})
        assert reply.status_code == 200
        device = kiosk_config(tmp_path / "kiosk-1", "kiosk-1", printer.uri, server.url)
        enroll(device, hub.identity.create_code("strogino", "kiosk"))
        kiosk = open_kiosk(device, clock)
        try:
            assert kiosk.applications.poller.poll_once()
            app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, bookings=kiosk.bookings,
                           applications=kiosk.applications)
            with HeadlessKiosk(app, (1280, 800)) as k:
                k.tap("documents")
                for char in "770012/34":
                    k.tap(tag=f"key:{char}")
                k.tap("check")
                assert k.find(tag="document-state").text == "Готовы"
                k.tap("take-collection")
                assert k.screen == "result"
            ticket = kiosk.store.tickets()[0]
            assert ticket.number == "Г001"
            printed = receipt_text(decode_escpos(printer.wait_for_jobs(1)[0].data))
            assert "Г001" in printed and "Выдача готовых документов" in printed
            assert synced(kiosk)
            called = hub.queue.call_next("strogino", "7", ["document-collection"])
            assert called is not None and called["number"] == "Г001"
            page = requests.get(f"{server.url}/t/{ticket.status_token}/state", timeout=10).json()
            assert page["state"] == "called" and page["window"] == "7"
            assert "Выдача готовых документов" in requests.get(f"{server.url}/t/{ticket.status_token}",
                                                                timeout=10).text
        finally:
            kiosk.close()
    hub.close()
