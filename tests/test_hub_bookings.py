"""Bookings and ready documents reach the hub through the integration API (created, changed,
cancelled, replayed, refused naming the field), only with an integration token for the right
center; the center's kiosks read their copies with their device token and keep them on disk."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.bookings import MAX_ITEMS
from hub.server import HubThread
from mfc_edge.protocol import (
    APPLICATIONS_IMPORT_PATH,
    APPLICATIONS_PATH,
    BOOKINGS_IMPORT_PATH,
    BOOKINGS_TODAY_PATH,
)
from offline_cache.bookings import ApplicationBook, BookingBook
from offline_cache.hub_client import HubClient

# 10:00 in Moscow, where a center without settings is.
START = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def booking(booking_id: str = "B-1", **fields) -> dict:
    return {"id": booking_id, "center": "strogino", "code": "AB-12 34", "service": "passport-rf",
            "slot_start": "2026-11-26T11:00:00+03:00", "slot_end": "2026-11-26T11:15:00+03:00",
            "initial": "и", **fields}


class Center:
    def __init__(self, hub: Hub, url: str):
        self.hub, self.url = hub, url
        _, self.token = hub.integration_tokens.issue("strogino", "Запись на приём")

    def post(self, path: str, body: object, token: str | None = None) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {token or self.token}"})

    def bookings(self, *items: dict, token: str | None = None) -> requests.Response:
        return self.post(BOOKINGS_IMPORT_PATH, {"bookings": list(items)}, token)

    def device_token(self, center: str = "strogino", device: str = "kiosk-1") -> str:
        code = self.hub.identity.create_code(center, "kiosk")
        return requests.post(f"{self.url}/api/v1/enroll", json={"code": code, "device_id": device},
                             timeout=10).json()["token"]

    def device_get(self, path: str, token: str, etag: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **({"If-None-Match": etag} if etag else {})}
        return requests.get(f"{self.url}{path}", headers=headers, timeout=10)


@pytest.fixture
def center(tmp_path):
    hub = Hub(tmp_path / "hub", clock=ManualClock(START))
    with HubThread(hub) as server:
        yield Center(hub, server.url)
    hub.close()


def counts(reply: requests.Response) -> tuple[int, int, int, int]:
    body = reply.json()
    return body["created"], body["changed"], body["unchanged"], body["cancelled"]


def test_created_changed_cancelled_and_replayed_bookings_reach_the_centers_kiosks(center):
    kiosk = center.device_token()
    empty = center.device_get(BOOKINGS_TODAY_PATH, kiosk)
    assert empty.json() == {"center": "strogino", "day": "2026-11-26", "bookings": []}

    first = center.bookings(booking(), booking("B-2", code="CD5678", initial=""))
    assert first.status_code == 200 and counts(first) == (2, 0, 0, 0) and first.json()["errors"] == []
    seen = center.device_get(BOOKINGS_TODAY_PATH, kiosk, empty.headers["ETag"])
    assert seen.status_code == 200
    assert seen.json()["bookings"][0] == {
        "id": "B-1", "code": "AB1234", "service": "passport-rf", "slot_start": "2026-11-26T08:00:00.000000+00:00",
        "slot_end": "2026-11-26T08:15:00.000000+00:00", "initial": "И", "state": "active", "checked_in": False}

    replay = center.bookings(booking(), booking("B-2", code="CD5678", initial=""))
    assert counts(replay) == (0, 0, 2, 0)
    assert center.device_get(BOOKINGS_TODAY_PATH, kiosk, seen.headers["ETag"]).status_code == 304

    moved = center.bookings(booking(slot_start="2026-11-26T12:00:00+03:00", slot_end="2026-11-26T12:15:00+03:00"))
    assert counts(moved) == (0, 1, 0, 0)
    cancelled = center.bookings(booking("B-2", code="CD5678", initial="", state="cancelled"))
    assert counts(cancelled) == (0, 0, 0, 1)
    assert counts(center.bookings(booking("B-2", code="CD5678", initial="", state="cancelled"))) == (0, 0, 1, 0)
    after = {b["id"]: b for b in center.device_get(BOOKINGS_TODAY_PATH, kiosk).json()["bookings"]}
    assert after["B-1"]["slot_start"] == "2026-11-26T09:00:00.000000+00:00"
    assert after["B-2"]["state"] == "cancelled"


def test_a_lower_version_than_the_one_kept_changes_nothing(center):
    assert counts(center.bookings(booking(version=3, service="property-rights"))) == (1, 0, 0, 0)
    assert counts(center.bookings(booking(version=2))) == (0, 0, 1, 0)  # a retry arriving late
    assert center.hub.bookings.get("B-1")["service"] == "property-rights"
    assert counts(center.bookings(booking(version=4))) == (0, 1, 0, 0)
    assert center.hub.bookings.get("B-1")["service"] == "passport-rf"


def test_only_the_centers_own_kiosks_get_its_bookings_and_applications(center):
    _, anywhere = center.hub.integration_tokens.issue("*", "Городская запись")
    strogino = center.device_token()  # a center is known to the hub by its devices or its settings
    center.hub.centers.set("tushino", "Europe/Moscow")
    reply = center.bookings(booking(), booking("T-1", center="tushino", code="TT1111"),
                            booking("X-1", center="nowhere", code="XX1111"), token=anywhere)
    assert counts(reply) == (2, 0, 0, 0)
    assert [(e["id"], e["field"]) for e in reply.json()["errors"]] == [("X-1", "center")]
    center.post(APPLICATIONS_IMPORT_PATH, {"applications": [{"number": "77-01", "center": "tushino",
                                                              "state": "ready"}]}, anywhere)
    tushino = center.device_token("tushino", "kiosk-9")
    assert [b["id"] for b in center.device_get(BOOKINGS_TODAY_PATH, strogino).json()["bookings"]] == ["B-1"]
    assert [b["id"] for b in center.device_get(BOOKINGS_TODAY_PATH, tushino).json()["bookings"]] == ["T-1"]
    assert center.device_get(APPLICATIONS_PATH, strogino).json() == {"center": "strogino", "applications": []}
    assert center.device_get(APPLICATIONS_PATH, tushino).json()["applications"] == [{"number": "7701",
                                                                                      "state": "ready"}]


def test_the_kiosks_get_today_and_tomorrow_morning_only(center):
    center.bookings(booking("yesterday", code="YY1", slot_start="2026-11-25T11:00", slot_end="2026-11-25T11:15"),
                    booking("tomorrow-am", code="TM1", slot_start="2026-11-27T09:00", slot_end="2026-11-27T09:15"),
                    booking("tomorrow-pm", code="TP1", slot_start="2026-11-27T15:00", slot_end="2026-11-27T15:15"))
    got = center.device_get(BOOKINGS_TODAY_PATH, center.device_token()).json()["bookings"]
    assert [b["id"] for b in got] == ["tomorrow-am"]
    assert got[0]["slot_start"] == "2026-11-27T06:00:00.000000+00:00"  # no offset: the center's local time


@pytest.mark.parametrize(("fields", "field"), [
    ({"id": ""}, "id"), ({"id": "a b"}, "id"), ({"code": "1"}, "code"), ({"code": 1234}, "code"),
    ({"service": "no-such"}, "service"), ({"slot_start": "at ten"}, "slot_start"),
    ({"slot_end": "2026-11-26T10:00:00+03:00"}, "slot_end"), ({"slot_start": None}, "slot_start"),
    ({"initial": "Иванов"}, "initial"), ({"initial": "1"}, "initial"), ({"state": "gone"}, "state"),
    ({"version": -1}, "version"), ({"version": "2"}, "version"), ({"center": "../x"}, "center"),
    ({"name": "Иванов Иван"}, "name"), ({"phone": "+7 900"}, "phone"),
    ({"slot_start": "2029-01-01T10:00:00+03:00", "slot_end": "2029-01-01T10:15:00+03:00"}, "slot_start"),
    ({"slot_start": "9999-12-31T23:30:00+00:00"}, "slot_start"), ({"slot_end": "0001-01-01T00:00:00+03:00"}, "slot_end"),
    ({"slot_start": "2026-11-26T11:00:00+25:00"}, "slot_start"), ({"version": 2.5}, "version"),
    ({"slot_end": "2026-11-27T11:00:00+03:00"}, "slot_end"),
])
def test_a_bad_booking_is_refused_naming_the_field_and_the_others_are_taken(center, fields, field):
    reply = center.bookings(booking("good", code="GOOD1"), booking(**fields))
    assert reply.status_code == 422
    assert counts(reply) == (1, 0, 0, 0)
    [error] = reply.json()["errors"]
    assert error["item"] == 1 and error["field"] == field and error["error"]
    assert center.hub.bookings.get("good") is not None


def test_a_code_already_held_by_another_active_booking_is_refused(center):
    center.bookings(booking())
    [error] = center.bookings(booking("B-9")).json()["errors"]
    assert error["field"] == "code" and "B-1" in error["error"]
    assert counts(center.bookings(booking("B-9", state="cancelled"))) == (0, 0, 0, 1)


@pytest.mark.parametrize("body", [{}, {"bookings": "B-1"}, [booking()], {"bookings": [booking()] * (MAX_ITEMS + 1)}])
def test_a_malformed_batch_is_a_422_naming_the_field(center, body):
    reply = center.post(BOOKINGS_IMPORT_PATH, body)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][-1] in ("bookings", "body")
    assert center.hub.bookings.get("B-1") is None


def test_wrong_revoked_and_other_center_tokens_are_refused(center):
    assert requests.post(f"{center.url}{BOOKINGS_IMPORT_PATH}", json={"bookings": [booking()]},
                         timeout=10).status_code == 401
    assert center.bookings(booking(), token="mfci_not-a-token").status_code == 401
    found, other = center.hub.integration_tokens.issue("tushino", "Запись Тушино")
    refused = center.bookings(booking("T-1", code="TT1"), booking(), token=other)
    assert refused.status_code == 403 and "strogino" in refused.json()["detail"]
    assert center.hub.bookings.get("T-1") is None  # nothing of the batch is stored
    assert center.hub.integration_tokens.revoke(found.id)
    assert center.bookings(booking(center="tushino"), token=other).status_code == 401
    assert not center.hub.integration_tokens.revoke(found.id)
    listed = {t["id"]: t for t in center.hub.integration_tokens.all()}
    assert listed[found.id]["revoked_at"] and "hash" not in listed[found.id]


def test_a_device_token_cannot_post_and_an_integration_token_cannot_read(center):
    kiosk = center.device_token()
    refused = center.bookings(booking(), token=kiosk)
    assert refused.status_code == 403 and "integration token" in refused.json()["detail"]
    assert center.post(APPLICATIONS_IMPORT_PATH, {"applications": []}, kiosk).status_code == 403
    for path in (BOOKINGS_TODAY_PATH, APPLICATIONS_PATH, "/api/v1/notices", "/api/v1/feed"):
        assert center.device_get(path, center.token).status_code == 401, path


def test_applications_are_created_changed_replayed_and_refused_naming_the_field(center):
    def post(*items: dict) -> requests.Response:
        return center.post(APPLICATIONS_IMPORT_PATH, {"applications": list(items)})

    one = {"number": "77-0012/34", "center": "strogino", "state": "not-ready"}
    assert counts(post(one, {**one, "number": "55"})) == (2, 0, 0, 0)
    assert counts(post({**one, "number": "770012/34"})) == (0, 0, 1, 0)  # dashes ignored: the same one
    assert counts(post({**one, "state": "ready"})) == (0, 1, 0, 0)
    assert center.hub.applications.status("strogino", "77 0012/34") == "ready"
    bad = post({**one, "state": "lost"}, {**one, "number": ""}, {**one, "name": "Иванов"}, "77-1")
    assert bad.status_code == 422
    assert [(e["item"], e["field"]) for e in bad.json()["errors"]] == [
        (0, "state"), (1, "number"), (2, "name"), (3, "application")]


def test_the_kiosks_copies_follow_the_hub_and_survive_a_restart_with_the_hub_away(center, tmp_path):
    token = center.device_token()
    folder = tmp_path / "kiosk"
    book = BookingBook.polling(HubClient(center.url, token), cache_file=folder / "bookings.json")
    ready = ApplicationBook.polling(HubClient(center.url, token), cache_file=folder / "applications.json")
    assert book.poller.poll_once() and book.bookings() == [] and book.find("AB1234") is None
    center.bookings(booking(), booking("B-2", code="CD5678", state="cancelled"))
    center.post(APPLICATIONS_IMPORT_PATH, {"applications": [
        {"number": "77-0012/34", "center": "strogino", "state": "ready"},
        {"number": "55", "center": "strogino", "state": "collected"}]})
    assert book.poller.poll_once() and ready.poller.poll_once()
    assert book.poller.poll_once() and book.poller.last_status == 304

    hub_away = HubClient("http://127.0.0.1:9", token)
    book = BookingBook.polling(hub_away, cache_file=folder / "bookings.json", timeout=0.5)
    ready = ApplicationBook.polling(hub_away, cache_file=folder / "applications.json", timeout=0.5)
    assert not book.poller.poll_once()
    found = book.find(" ab-12 34 ")
    assert found is not None and (found.id, found.code, found.initial, found.state) == ("B-1", "AB1234", "И",
                                                                                        "active")
    assert found.slot_start == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert found.slot_end - found.slot_start == timedelta(minutes=15) and not found.checked_in
    assert book.find("cd5678").state == "cancelled"
    assert book.find("ZZ0000") is None and book.find("") is None
    assert [b.id for b in book.bookings()] == ["B-1", "B-2"]
    assert (ready.status("770012/34"), ready.status("55"), ready.status("56")) == ("ready", "collected", None)


def test_a_spoiled_entry_is_left_out_of_the_kiosks_copy_not_the_whole_list():
    from offline_cache.bookings import parse_applications, parse_bookings

    good = {"id": "B-1", "code": "AB1234", "service": "passport-rf", "slot_start": "2026-11-26T08:00:00+00:00",
            "slot_end": "2026-11-26T08:15:00+00:00", "initial": "", "state": "active", "checked_in": True}
    parsed = parse_bookings({"bookings": [good, {**good, "id": "B-2", "slot_start": "10:00"}, "x",
                                          {**good, "id": "B-3", "state": "maybe"}]})
    assert [(b.id, b.checked_in) for b in parsed] == [("B-1", True)]
    assert parse_applications({"applications": [{"number": "1", "state": "ready"}, {"number": 2},
                                                 {"number": "3", "state": "lost"}]}) == {"1": "ready"}
    assert parse_bookings(None) == () and BookingBook.of([]).find("AB1234") is None
    assert ApplicationBook.of({"77-01": "ready"}).status("7701") == "ready"


def test_an_enrolled_kiosk_keeps_its_centers_bookings_and_applications(center, tmp_path, printer, clock):
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config
    from offline_cache.hub_client import save_token
    from tests.helpers.devices import write_config

    center.bookings(booking())
    center.post(APPLICATIONS_IMPORT_PATH, {"applications": [{"number": "55", "center": "strogino", "state": "ready"}]})
    config = write_config(tmp_path, printer_uri=printer.uri)
    config.write_text(config.read_text().replace("https://hub.example.org", center.url))
    device = load_config(config)
    save_token(device.data_dir, center.device_token())
    kiosk = open_kiosk(device, clock)
    try:
        assert kiosk.bookings.poller.poll_once() and kiosk.applications.poller.poll_once()
        assert kiosk.bookings.find("AB1234").id == "B-1" and kiosk.applications.status("55") == "ready"
    finally:
        kiosk.close()
    alone = open_kiosk(device, clock, connect=False)  # no hub link at all: empty books, never None
    try:
        assert alone.bookings.find("AB1234") is None and alone.applications.status("55") is None
    finally:
        alone.close()


def test_the_demo_posts_its_bookings_and_applications_through_the_api(center):
    from types import SimpleNamespace

    from mfc_edge.cli.demo_bookings import BY_KEYPAD, BY_SCAN, CANCELLED, READY, import_bookings

    demo = SimpleNamespace(hub=center.hub, server=SimpleNamespace(url=center.url), clock=ManualClock(START),
                           kiosk=None)
    assert import_bookings(demo).startswith("The booking system posted 4 bookings (1 cancelled)")
    kiosk = center.device_token()
    got = {b["code"]: b for b in center.device_get(BOOKINGS_TODAY_PATH, kiosk).json()["bookings"]}
    assert {"KD4821", "QR7305"} <= set(got) and got[CANCELLED.replace("-", "")]["state"] == "cancelled"
    assert got[BY_KEYPAD.replace("-", "")]["slot_start"] == iso_utc(START + timedelta(minutes=10))
    assert BY_SCAN in got and center.hub.applications.status("strogino", READY) == "ready"


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
