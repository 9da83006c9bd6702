"""Events with impossible times or loose fields: each is refused on its own, with its reason,
and the rest of its batch is stored."""
from __future__ import annotations

import logging
import socket
import time
import uuid
from datetime import UTC

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.server import HubThread
from mfc_edge import protocol
from offline_cache.hub_client import HubClient
from offline_cache.outbox import DeviceStore
from offline_cache.sync import SyncAgent
from tests.helpers.day import MONDAY_10AM, TEST_DAY, at

AT = at(7, tz=UTC)


def ticket_event(**body) -> dict:
    fields = {"ticket": uuid.uuid4().hex, "number": "П001", "service": "passport-rf", "day": TEST_DAY.isoformat(),
              "priority": False, "issued_at": AT.isoformat(), "status_token": uuid.uuid4().hex, **body}
    return protocol.make_event(protocol.TICKET_ISSUED, "strogino", "kiosk-1", AT, fields)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("bad-input-hub"))
    with HubThread(hub) as server:
        _, token = hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-1")
        yield hub, server.url, token
    hub.close()


def send(served, events: list[dict]) -> requests.Response:
    _, url, token = served
    return requests.post(f"{url}{protocol.EVENTS_PATH}", json={"events": events}, timeout=10,
                         headers={"Authorization": f"Bearer {token}"})


def ticket_ids(served) -> set[str]:
    return {r["id"] for r in served[0].db.db.query("SELECT id FROM tickets")}


# Times Python parses but cannot move to UTC (the first two), and others no clock of ours shows.
EXTREME_TIMES = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+00:00",
                 "9999-12-31T23:59:59.999999+00:00", "1970-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00"]


@pytest.mark.parametrize("moment", EXTREME_TIMES)
@pytest.mark.parametrize("where", ["at", "issued_at"])
def test_an_event_with_an_impossible_time_is_refused_alone_and_the_batch_is_stored(served, moment, where):
    bad, good = ticket_event(), ticket_event()
    if where == "at":
        bad["at"] = moment
    else:
        bad["body"]["issued_at"] = moment
    reply = send(served, [bad, good])
    assert reply.status_code == 200, reply.text
    results = {r["id"]: r for r in reply.json()["results"]}
    assert results[good["id"]]["status"] == "stored"
    assert results[bad["id"]]["status"] == "rejected"
    assert repr(moment) in results[bad["id"]]["reason"]
    found = ticket_ids(served)
    assert good["body"]["ticket"] in found and bad["body"]["ticket"] not in found


@pytest.mark.parametrize("moment", EXTREME_TIMES[:2])
def test_other_events_with_impossible_times_are_refused_too(served, moment):
    status = protocol.make_event(protocol.PRINTER_STATUS, "strogino", "kiosk-1", AT,
                                 {"status": "paper_out", "previous": "ok"})
    status["at"] = moment
    played = protocol.make_event(protocol.SLIDE_PLAYED, "strogino", "kiosk-1", AT, {
        "item": 0, "kind": "image", "asset": "a.png", "bundle": 1, "started_at": moment, "duration_s": 10})
    good = ticket_event()
    reply = send(served, [status, played, good])
    assert reply.status_code == 200, reply.text
    assert [r["status"] for r in reply.json()["results"]] == ["rejected", "rejected", "stored"]


def test_a_device_that_holds_such_an_event_empties_its_outbox(served, tmp_path):
    """Once a batch with such an event made the hub answer 500, and the device sent it forever."""
    _, url, token = served
    store = DeviceStore(tmp_path / "device.sqlite", center_id="strogino", device_id="kiosk-1",
                        clock=ManualClock(MONDAY_10AM))
    with store.transaction():
        store._add_event(protocol.TICKET_ISSUED, AT, {**ticket_event()["body"], "issued_at": EXTREME_TIMES[0]})
    store.record_event(protocol.TICKET_ISSUED, ticket_event()["body"])
    hub = HubClient(url, token)
    try:
        assert SyncAgent(store, hub).drain() == 2
        assert store.outbox_size() == 0
        [refused] = store.rejected_events()
        assert "issued_at" in refused["reason"]
    finally:
        hub.close()
        store.close()


@pytest.mark.parametrize("field, value", [
    ("number", "П001\n"),            # a trailing newline passed a ^...$ check
    ("number", "П٠٠١"),              # Arabic-Indic digits
    ("number", "П００１"),            # full-width digits
    ("number", "ПП01"),
    ("ticket", "abc\n"),
    ("ticket", "abc٣"),
    ("service", "passport-rf\n"),
    ("service", "no-such-service"),  # not in the center's catalog
    ("day", "9999-99-99"),
    ("day", "2026-02-30"),
    ("day", "٢٠٢٦-11-23"),
    ("day", f"{TEST_DAY}\n"),
    ("day", "0001-01-01"),
    ("status_token", uuid.uuid4().hex + "\n"),
])
def test_loose_ticket_fields_are_refused_with_a_reason(served, field, value):
    bad, good = ticket_event(**{field: value}), ticket_event()
    reply = send(served, [bad, good])
    assert reply.status_code == 200, reply.text
    bad_result, good_result = reply.json()["results"]
    assert good_result["status"] == "stored"
    assert bad_result["status"] == "rejected" and bad_result["reason"].startswith(f"body.{field} = {value!r}")
    assert bad["body"]["ticket"] not in ticket_ids(served)


def test_an_unknown_service_is_named_with_the_center(served):
    reply = send(served, [ticket_event(service="fishing-licence")])
    [result] = reply.json()["results"]
    assert result == {"id": result["id"], "status": "rejected",
                      "reason": "body.service = 'fishing-licence' is not a service of center strogino's catalog"}


@pytest.mark.parametrize("event_type, body", [
    (protocol.RATING_GIVEN, {"window": "5\n", "ticket": None, "score": 5, "scale": 5, "day": TEST_DAY.isoformat()}),
    (protocol.RATING_GIVEN, {"window": "5", "ticket": None, "score": 5, "scale": 5, "day": "2026-13-01"}),
    (protocol.HELP_REQUESTED, {"request": uuid.uuid4().hex + "\n", "point": "entrance"}),
    (protocol.BUNDLE_REFUSED, {"version": 1, "reason": "tampered\n", "detail": None}),
    (protocol.SLIDE_SKIPPED, {"item": 0, "kind": "image\n", "asset": None, "bundle": None, "reason": "missing",
                              "detail": ""}),
])
def test_other_fields_are_matched_whole(event_type, body):
    event = protocol.make_event(event_type, "strogino", "console-5", AT, body)
    assert protocol.event_problem(event) is not None


def test_the_kiosks_own_events_pass():
    body = ticket_event()["body"]
    assert protocol.event_problem(ticket_event()) is None
    assert protocol.event_problem(protocol.make_event(protocol.TICKET_ISSUED, "strogino", "kiosk-1", AT,
                                                      {**body, "number": "Я999", "day": "2099-12-31"})) is None
    played = protocol.make_event(protocol.SLIDE_PLAYED, "strogino", "screen-1", AT, {
        "item": -1, "kind": "load-chart", "asset": None, "bundle": None, "started_at": AT.isoformat(),
        "duration_s": 12.5})
    assert protocol.event_problem(played) is None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("method, path, content_type", [("POST", protocol.EVENTS_PATH, "application/json"),
                                                        ("PUT", protocol.SCREENSHOT_PATH, "image/png")])
def test_a_request_cut_mid_body_is_one_line_in_the_hub_log(served, method, path, content_type):
    """Once a full ASGI traceback for every device that lost its network mid-batch."""
    hub, url, token = served
    if path == protocol.SCREENSHOT_PATH:  # screens send screenshots
        _, token = hub.identity.enroll(hub.identity.create_code("strogino", "signage"), "screen-cut")
    records = _Records()
    for name in ("uvicorn.error", "hub.api"):
        logging.getLogger(name).addHandler(records)
    try:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {token}\r\n"
                         f"Content-Type: {content_type}\r\nContent-Length: 100000\r\n\r\n".encode() + b"x" * 1000)
            time.sleep(0.2)
        for _ in range(200):
            if records.records:
                break
            time.sleep(0.01)
        time.sleep(0.2)  # anything else the hub would log about it
    finally:
        for name in ("uvicorn.error", "hub.api"):
            logging.getLogger(name).removeHandler(records)
    [record] = records.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage().startswith(f"{method} {path} from 127.0.0.1:")
    assert record.getMessage().endswith("the connection closed before the whole body arrived")
    assert send(served, [ticket_event()]).status_code == 200  # and the hub goes on


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_body_with_values_json_cannot_carry_is_refused_with_the_reason(served, value):
    """Python's JSON parser accepts NaN; FastAPI's 422 echoed it back and failed with a 500."""
    _, url, _ = served
    reply = requests.post(f"{url}{protocol.ENROLL_PATH}", data=f'{{"code": {value}, "device_id": "kiosk-9"}}',
                          headers={"Content-Type": "application/json"}, timeout=10)
    assert reply.status_code == 422
    [problem] = reply.json()["detail"]
    assert problem["loc"] == ["body", "code"] and "input" not in problem
