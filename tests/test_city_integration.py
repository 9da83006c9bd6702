"""The back office's feed: tokens and their scope, events derived from the tickets' snapshots,
the cursor (order, resuming, never skipping a row committed late), bad input as one line."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests

from city.city import City
from city.hubs import Hubs
from city.integration import Feed, IntegrationError, IntegrationTokens, Scope, checked_scope
from city.server import CityThread
from mfc_edge.city_protocol import FEED_PATH
from mfc_edge.cli import main
from tests.helpers.city_feed import T0, a_visit, at, snapshot


@pytest.fixture
def city(city_dsn: str) -> Iterator[City]:
    c = City(city_dsn, clock=lambda: T0)
    try:
        yield c
    finally:
        c.close()


class Client:
    """requests to a city process served from a thread, by path."""

    def __init__(self, url: str):
        self.url, self.session = url, requests.Session()
        self.session.trust_env = False

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=10, **kwargs)


@pytest.fixture
def client(city: City) -> Iterator[Client]:
    with CityThread(city) as server:
        yield Client(server.url)


def token_for(city: City, **scope: list[str]) -> dict[str, str]:
    _, token = IntegrationTokens(city).issue("АИС МФЦ", checked_scope(**scope))
    return {"Authorization": f"Bearer {token}"}


def read_all(client: Client, headers: dict[str, str], after: str | None = None, limit: int = 100,
             **params: str) -> tuple[list[dict[str, Any]], str]:
    events: list[dict[str, Any]] = []
    while True:
        reply = client.get(FEED_PATH, headers=headers, params={"limit": limit, **({"after": after} if after else {}),
                                                               **params})
        assert reply.status_code == 200, reply.text
        page = reply.json()
        events += page["events"]
        after = page["next"]
        if not page["more"]:
            return events, page["next"]


def test_a_visit_gives_its_events_in_order_with_times_and_waits(city: City, client: Client) -> None:
    with city.db.connection() as conn:
        a_visit(conn, "c1", "t001", 1)
    events, _ = read_all(client, token_for(city))
    assert [e["type"] for e in events] == ["ticket.issued", "ticket.called", "ticket.started", "ticket.served"]
    served = events[-1]
    assert served["ticket"] == "t001" and served["center"] == "c1" and served["service"] == "passport"
    assert served["window"] == "3" and served["previous_state"] == "serving" and served["state"] == "done"
    assert served["wait_s"] == 600 and served["service_s"] == 300
    assert events[0]["wait_s"] is None and events[0]["previous_state"] is None
    assert served["at"] == at(16)


def test_a_booked_visitors_wait_begins_at_the_slot(city: City, client: Client) -> None:
    with city.db.connection() as conn:
        snapshot(conn, "c1", "early", 1, "called", 10, slot_at=at(20), called_at=at(10), first_called_at=at(10))
        snapshot(conn, "c1", "late", 2, "called", 30, slot_at=at(20), called_at=at(30), first_called_at=at(30))
        snapshot(conn, "c1", "walk", 3, "called", 30, called_at=at(30), first_called_at=at(30))
    events, _ = read_all(client, token_for(city))
    assert [(e["ticket"], e["wait_s"], e["slot_at"]) for e in events] == [
        ("early", 0, at(20)), ("late", 600, at(20)), ("walk", 1800, None)]


def test_the_cursor_resumes_where_a_page_ended_and_a_page_read_again_is_the_same(city: City,
                                                                                 client: Client) -> None:
    with city.db.connection() as conn:
        for n in range(5):
            a_visit(conn, "c1", f"t{n:03}", 1 + 10 * n)
    headers = token_for(city)
    everything, end = read_all(client, headers, limit=1000)
    assert len(everything) == 20
    paged, end_paged = read_all(client, headers, limit=3)
    assert paged == everything and end_paged == end
    middle = everything[6]["cursor"]
    again = client.get(FEED_PATH, headers=headers, params={"after": middle, "limit": 4}).json()
    assert again == client.get(FEED_PATH, headers=headers, params={"after": middle, "limit": 4}).json()
    assert again["events"] == everything[7:11] and again["more"] is True
    with city.db.connection() as conn:
        snapshot(conn, "c1", "t900", 100, "waiting")
    later, _ = read_all(client, headers, after=end)
    assert [(e["ticket"], e["type"]) for e in later] == [("t900", "ticket.issued")]


def test_transfers_and_endings_have_their_types_and_a_stale_retry_gives_none(city: City,
                                                                               client: Client) -> None:
    with city.db.connection() as conn:
        snapshot(conn, "c1", "t1", 1, "waiting")
        snapshot(conn, "c1", "t1", 2, "called", 5, window="1", called_at=at(5))
        snapshot(conn, "c1", "t1", 3, "waiting", 6, service="tax")  # sent to another service's line
        snapshot(conn, "c1", "t1", 4, "no_show", 9, window="2", called_at=at(8), finished_at=at(9))
    with city.db.connection() as conn:
        snapshot(conn, "c1", "t1", 2, "called", 5, window="1")  # an old snapshot again, late: not news
        snapshot(conn, "c1", "t2", 5, "waiting")
        snapshot(conn, "c1", "t2", 6, "cancelled", 3)
        snapshot(conn, "c1", "t3", 7, "expired", 900)  # first heard of when it expired
    events, _ = read_all(client, token_for(city))
    assert [(e["ticket"], e["type"]) for e in events] == [
        ("t1", "ticket.issued"), ("t1", "ticket.called"), ("t1", "ticket.transferred"), ("t1", "ticket.no_show"),
        ("t2", "ticket.issued"), ("t2", "ticket.cancelled"), ("t3", "ticket.expired")]
    assert events[2]["service"] == "tax"


def test_a_batch_stored_out_of_the_hubs_order_gives_its_events_in_the_hubs_order(city: City,
                                                                                    client: Client) -> None:
    with city.db.connection() as conn:  # one batch, stored in the order of its records' ids
        snapshot(conn, "c1", "t1", 5, "done", 16, called_at=at(10), started_at=at(11), finished_at=at(16))
        snapshot(conn, "c1", "t2", 2, "waiting")
        snapshot(conn, "c1", "t1", 3, "called", 10, called_at=at(10))
        snapshot(conn, "c1", "t1", 1, "waiting")
        snapshot(conn, "c1", "t1", 4, "serving", 11, called_at=at(10), started_at=at(11))
    events, _ = read_all(client, token_for(city), limit=2)
    assert [(e["ticket"], e["type"], e["seq"]) for e in events] == [
        ("t1", "ticket.issued", 1), ("t2", "ticket.issued", 2), ("t1", "ticket.called", 3),
        ("t1", "ticket.started", 4), ("t1", "ticket.served", 5)]


def test_no_row_is_skipped_when_transactions_commit_out_of_order(city: City, client: Client) -> None:
    headers = token_for(city)
    early = psycopg.connect(city.db.dsn)
    late = psycopg.connect(city.db.dsn)
    try:
        early.execute("SELECT pg_current_xact_id()")  # the older transaction
        late.execute("SELECT pg_current_xact_id()")
        snapshot(late, "c1", "late", 1, "waiting")  # the lower city_seq, in the younger transaction
        snapshot(early, "c1", "early", 2, "waiting")
        early.commit()
        first, cursor = read_all(client, headers)
        assert [e["ticket"] for e in first] == ["early"]
        late.commit()
        second, _ = read_all(client, headers, after=cursor)
        assert [e["ticket"] for e in second] == ["late"]

        # A row written by a transaction still open holds back every younger one.
        held = psycopg.connect(city.db.dsn)
        try:
            snapshot(held, "c1", "held", 3, "waiting")
            with city.db.connection() as conn:
                snapshot(conn, "c1", "after", 4, "waiting")
            assert read_all(client, headers, after=cursor)[0] == second
            held.commit()
            assert [e["ticket"] for e in read_all(client, headers, after=cursor)[0]] == ["late", "held", "after"]
        finally:
            held.close()
    finally:
        early.close()
        late.close()


def test_a_token_reads_only_its_centers_and_districts(city: City, client: Client) -> None:
    with city.db.connection() as conn:
        conn.execute("INSERT INTO centers (id, district) VALUES ('c1', 'Северный'), ('c2', 'Южный'), "
                     "('c3', 'Южный')")
        for n, center in enumerate(("c1", "c2", "c3")):
            snapshot(conn, center, f"t{n}", n + 1, "waiting")
    by_center = token_for(city, centers=["c1"])
    by_district = token_for(city, districts=["Южный"])
    assert [e["center"] for e in read_all(client, by_center)[0]] == ["c1"]
    assert [e["center"] for e in read_all(client, by_district)[0]] == ["c2", "c3"]
    assert [e["center"] for e in read_all(client, by_district, center="c3")[0]] == ["c3"]
    refused = client.get(FEED_PATH, headers=by_district, params={"center": "c1"})
    assert refused.status_code == 403 and "c1" in refused.json()["detail"]
    # the cursor of a reader that saw nothing still moves past what it may not see
    _, end = read_all(client, by_center)
    with city.db.connection() as conn:
        snapshot(conn, "c1", "t9", 9, "called", 5)
    assert [e["ticket"] for e in read_all(client, by_center, after=end)[0]] == ["t9"]


def test_tokens_are_kept_hashed_and_revoking_refuses_at_once(city: City, client: Client) -> None:
    tokens = IntegrationTokens(city)
    found, token = tokens.issue("  АИС   МФЦ ", Scope())
    assert found.name == "АИС МФЦ"
    with city.db.connection() as conn:
        stored = conn.execute("SELECT * FROM integration_tokens").fetchone()
    assert token not in str(stored.values())
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(FEED_PATH, headers=headers).status_code == 200
    assert tokens.revoke(found.id) and not tokens.revoke(found.id)
    assert client.get(FEED_PATH, headers=headers).status_code == 401
    for hostile in ("", "Bearer", "Bearer x", "Bearer mfcc_" + "A" * 5000, "Basic abc", "Bearer mfcc_' OR 1=1 --"):
        reply = client.get(FEED_PATH, headers={"Authorization": hostile})
        assert reply.status_code == 401, hostile
    hubs = Hubs(city)
    hub_token = hubs.enroll(hubs.make_code("hub-1", ["c1"]), "hub-1").token
    refused = client.get(FEED_PATH, headers={"Authorization": f"Bearer {hub_token}"})
    assert refused.status_code == 403 and "integration token" in refused.json()["detail"]
    with pytest.raises(IntegrationError, match="name"):
        tokens.issue(" ", Scope())
    with pytest.raises(IntegrationError, match="center 'Bad Center'"):
        checked_scope(centers=["Bad Center"])


@pytest.mark.parametrize("params", [
    {"after": "not-a-cursor"}, {"after": base64.urlsafe_b64encode(b"1:x:2").decode()},
    {"after": base64.urlsafe_b64encode(b"2:1:2").decode()}, {"after": "%%%"}, {"after": "A" * 500},
    {"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"limit": "-1"}, {"center": "../etc"}])
def test_bad_input_is_a_one_line_400(city: City, client: Client, params: dict[str, str]) -> None:
    reply = client.get(FEED_PATH, headers=token_for(city), params=params)
    assert reply.status_code == 400
    detail = reply.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail


def test_the_openapi_describes_the_feed(client: Client) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][FEED_PATH]["get"]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} == {"after", "limit", "center"}
    event = spec["components"]["schemas"]["FeedEvent"]["properties"]
    assert "ticket.no_show" in event["type"]["description"] and event["wait_s"]["description"]
    undescribed = [name for name, field in event.items() if not field.get("description")]
    assert undescribed == [] and operation["description"]


def test_a_reader_may_start_from_now_and_skip_the_history(city: City, client: Client) -> None:
    with city.db.connection() as conn:
        a_visit(conn, "c1", "t001", 1)
    headers = token_for(city)
    end = Feed(city).end()
    now = client.get(FEED_PATH, headers=headers, params={"after": "now"}).json()
    assert now == {"events": [], "next": end, "more": False}
    with city.db.connection() as conn:
        snapshot(conn, "c1", "t002", 20, "waiting")
    assert [e["ticket"] for e in read_all(client, headers, after=end)[0]] == ["t002"]


def test_the_command_line_issues_lists_and_revokes(city_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["city", "integration-token", "--dsn", city_dsn, "--name", "АИС", "--district", "Южный",
                 "--center", "c7"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("mfcc_") and "shown only now" in err
    assert main(["city", "integration-token", "--dsn", city_dsn, "--list"]) == 0
    listed = capsys.readouterr().out
    assert "АИС" in listed and "c7" in listed and "Южный" in listed and token not in listed
    token_id = listed.split()[0]
    assert main(["city", "revoke-integration-token", token_id, "--dsn", city_dsn]) == 0
    assert main(["city", "revoke-integration-token", token_id, "--dsn", city_dsn]) == 1
    assert main(["city", "integration-token", "--dsn", city_dsn, "--name", "x", "--center", "No Such"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mfc-edge: error: center 'No Such'") and "\n" not in err


def test_a_reader_of_few_centers_reads_on_past_a_long_stretch_of_others(city: City, client: Client,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("city.integration.SCAN_PER_EVENT", 1)
    monkeypatch.setattr("city.integration.SCAN_EXTRA", 0)
    with city.db.connection() as conn:
        for n in range(12):
            a_visit(conn, "c1", f"t{n:03}", 1 + 10 * n)
        snapshot(conn, "c2", "mine", 500, "waiting")
    headers = token_for(city, centers=["c2"])
    first = client.get(FEED_PATH, headers=headers, params={"limit": 5}).json()
    assert first["events"] == [] and first["more"] is True  # 5 of the 61 snapshots looked through
    events, end = read_all(client, headers, limit=5)
    assert [e["ticket"] for e in events] == ["mine"]
    assert client.get(FEED_PATH, headers=headers, params={"after": end}).json() == {
        "events": [], "next": end, "more": False}
