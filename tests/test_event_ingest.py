"""The events route and its checks: what the hub refuses, and that a refused batch stores nothing."""
from __future__ import annotations

import json
import uuid
from datetime import UTC

import pytest
import requests

from hub.api import Hub
from hub.server import HubThread
from mfc_edge import protocol
from tests.helpers.day import TEST_DAY, at

AT = at(7, tz=UTC)


def ticket_event(**envelope) -> dict:
    body = {"ticket": uuid.uuid4().hex, "number": "П001", "service": "passport-rf", "day": TEST_DAY.isoformat(),
            "priority": False, "issued_at": AT.isoformat(), "lang": "ru", "status_token": uuid.uuid4().hex}
    return {**protocol.make_event(protocol.TICKET_ISSUED, "strogino", "kiosk-1", AT, body), **envelope}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("ingest-hub"))
    with HubThread(hub) as server:
        device, token = hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-1")
        yield hub, server.url, {"Authorization": f"Bearer {token}"}
    hub.close()


def post(served, body: bytes, **headers) -> requests.Response:
    _, url, auth = served
    return requests.post(f"{url}/api/v1/events", data=body, timeout=10,
                         headers={**auth, "Content-Type": "application/json", **headers})


def stored(served) -> int:
    return served[0].events.count("strogino")


@pytest.mark.parametrize("event_id, accepted", [
    ("0b7f8e2c-6f4e-4d0a-9a53-2d0e8f1b7c11", True),
    ("0B7F8E2C-6F4E-4D0A-9A53-2D0E8F1B7C12", True),
    ("{0b7f8e2c-6f4e-4d0a-9a53-2d0e8f1b7c13}", True),  # other spellings uuid.UUID accepts stay accepted
    ("urn:uuid:0b7f8e2c-6f4e-4d0a-9a53-2d0e8f1b7c14", True),
    ("0b7f8e2c6f4e4d0a9a532d0e8f1b7c15", True),
    ("0b7f8e2c-6f4e-4d0a-9a53-2d0e8f1b7c1", False),
    ("0b7f8e2c-6f4e-4d0a-9a53-2d0e8f1b7c1g", False),
    ("0b7f8e2c-6f4e-4d0a-9a53-2d0e8f1b7c16\n", False),
    ("ticket-1", False),
    ("", False),
    (None, False),
    (12345678901234567890123456789012, False),  # a number whose digits would make a UUID
])
def test_event_ids_must_be_uuids(event_id, accepted):
    problem = protocol.event_problem(ticket_event(id=event_id))
    if accepted:
        assert problem is None
    else:
        assert problem == f"id = {event_id!r} is not a UUID"


def test_body_size_rule_is_unchanged_by_a_compact_body_text():
    event = ticket_event()
    base = len(json.dumps(event["body"], ensure_ascii=False))
    for size in (protocol.MAX_EVENT_BYTES, protocol.MAX_EVENT_BYTES + 1):
        event["body"]["note"] = "я" * (size - base - len(', "note": ""'))
        spaced = json.dumps(event["body"], ensure_ascii=False)
        compact = json.dumps(event["body"], ensure_ascii=False, separators=(",", ":"))
        assert len(spaced) == size
        expected = None if size <= protocol.MAX_EVENT_BYTES else (
            f"the event's body is larger than {protocol.MAX_EVENT_BYTES} characters")
        assert protocol.event_problem(event) == expected
        assert protocol.event_problem(event, spaced) == expected
        assert protocol.event_problem(event, compact) == expected


def test_a_batch_gets_a_result_per_event_and_stores_each_once(served):
    good, bad = ticket_event(), ticket_event(id="not-a-uuid")
    first = post(served, json.dumps({"events": [good, bad, good]}).encode())
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert first.json() == {"results": [
        {"id": good["id"], "status": "stored", "reason": ""},
        {"id": "not-a-uuid", "status": "rejected", "reason": "id = 'not-a-uuid' is not a UUID"},
        {"id": good["id"], "status": "duplicate", "reason": ""}]}
    again = post(served, json.dumps({"events": [good]}).encode())
    assert again.json() == {"results": [{"id": good["id"], "status": "duplicate", "reason": ""}]}
    rows = list(served[0].db.db.query("SELECT body FROM events WHERE id = ?", [good["id"]]))
    assert [json.loads(r["body"]) for r in rows] == [good["body"]]


def test_issue_times_are_stored_in_one_spelling_whatever_the_device_sent(served):
    moscow = ticket_event()
    moscow["body"]["issued_at"] = f"{TEST_DAY}T10:00:00+03:00"
    utc = ticket_event()
    utc["body"]["issued_at"] = f"{TEST_DAY}T07:00:00.000001+00:00"
    assert post(served, json.dumps({"events": [moscow, utc]}).encode()).status_code == 200
    found = {r["id"]: r["issued_at"] for r in served[0].db.db.query(
        "SELECT id, issued_at FROM tickets WHERE id IN (?, ?)", [moscow["body"]["ticket"], utc["body"]["ticket"]])}
    assert found == {moscow["body"]["ticket"]: f"{TEST_DAY}T07:00:00.000000+00:00",
                     utc["body"]["ticket"]: f"{TEST_DAY}T07:00:00.000001+00:00"}
    received = {r["received_at"] for r in served[0].db.db.query(
        "SELECT received_at FROM tickets WHERE id = ?", [utc["body"]["ticket"]])}
    assert len(received) == 1 and None not in received  # when the hub had it: the end of day looks at it


@pytest.mark.parametrize("body", [
    b"{not json",
    b"",
    b'{"events": "nope"}',
    b'{"events": [1, 2}',
    b"[]",
    b'{"something": []}',
    b'{"events": [{"id": "x"}], "v": NaN}',
    b'{"events": ["\\ud800"]}',  # a lone surrogate: no text SQLite could store
    b'\xff\xfe{"events": []}',
])
def test_malformed_batches_get_a_422_and_store_nothing(served, body):
    before = stored(served)
    reply = post(served, body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"]
    assert stored(served) == before


def test_too_many_events_or_bytes_are_refused_before_anything_is_stored(served):
    before = stored(served)
    too_many = [ticket_event() for _ in range(protocol.MAX_BATCH_EVENTS + 1)]
    assert post(served, json.dumps({"events": too_many}).encode()).status_code == 422
    over = b'{"events": ["' + b"x" * protocol.MAX_BATCH_BYTES + b'"]}'
    assert post(served, over).status_code == 413
    assert stored(served) == before


def test_a_batch_without_a_valid_token_is_refused(served):
    _, url, _ = served
    before = stored(served)
    reply = requests.post(f"{url}/api/v1/events", data=json.dumps({"events": [ticket_event()]}), timeout=10,
                          headers={"Authorization": "Bearer nope", "Content-Type": "application/json"})
    assert reply.status_code == 401
    assert stored(served) == before


def test_the_events_route_documents_its_body_and_reply(served):
    _, url, _ = served
    operation = requests.get(f"{url}/openapi.json", timeout=10).json()["paths"]["/api/v1/events"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert operation["requestBody"]["required"] is True
    assert schema["required"] == ["events"]
    assert schema["properties"]["events"]["type"] == "array"
    assert schema["properties"]["events"]["maxItems"] == protocol.MAX_BATCH_EVENTS
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BatchReply"}
