"""A hub's log stored by the city exactly once and projected: duplicates however they come
(the same batch twice, from two threads, through two city apps on one database), the newest
snapshot kept, tickets replaced, each bad record refused on its own, and the HTTP edges."""
from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests
from psycopg_pool import PoolTimeout

from city.city import City
from city.hubs import Hubs
from city.ingest import Ingest, Unauthorized
from city.server import CityThread
from mfc_edge import city_protocol as cp
from mfc_edge.protocol import PRINTER_STATUS

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
_seq = itertools.count(1)


@pytest.fixture
def city(city_dsn: str) -> Iterator[City]:
    c = City(city_dsn, lambda: NOW, pool_size=4)
    yield c
    c.close()


def enrolled(city: City, hub: str = "hub-1", centers: tuple[str, ...] = ("c1",)) -> str:
    hubs = Hubs(city)
    return hubs.enroll(hubs.make_code(hub, list(centers)), hub).token


def record(kind: str, body: dict[str, Any], *, center: str = "c1", device: str = "", seq: int | None = None,
           rid: str | None = None) -> dict[str, Any]:
    return {"id": rid or f"h{uuid.uuid4().hex}", "seq": seq or next(_seq), "center": center, "type": kind,
            "device": device, "at": NOW.isoformat(), "body": body}


def ticket(tid: str, state: str = "waiting", **extra: Any) -> dict[str, Any]:
    return {"ticket": tid, "number": "А001", "service": "passport", "day": "2026-11-26", "priority": 0,
            "state": state, "issued_at": "2026-11-26T11:50:00+03:00", "first_called_at": None, "called_at": None,
            "started_at": None, "finished_at": None, "window": "", "operator": "", "walk_in": False,
            "estimate_minutes": 7, "replaces": None, **extra}


def window(name: str, open_since: str | None = "2026-11-26T08:00:00+00:00") -> dict[str, Any]:
    return {"window": name, "open_since": open_since, "services": ["passport"], "operator": "ivanova",
            "paused_since": None, "pause_reason": ""}


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def statuses(reply: dict[str, Any]) -> list[str]:
    return [r["status"] for r in reply["results"]]


def test_a_batch_posted_twice_is_stored_and_projected_once(city: City, city_dsn: str) -> None:
    token = enrolled(city)
    event = record(PRINTER_STATUS, {"status": "ok", "anything": [1, 2]}, device="kiosk-1", rid=str(uuid.uuid4()))
    batch = [event, record(cp.HUB_TICKET, ticket("t1")), record(cp.HUB_WINDOW, window("5"))]
    first = Ingest(city).post(token, batch)
    assert statuses(first) == ["stored"] * 3
    assert first["last_seq"] == max(r["seq"] for r in batch)
    assert statuses(Ingest(city).post(token, batch)) == ["duplicate"] * 3
    assert statuses(Ingest(city).post(token, [event, event])) == ["duplicate"] * 2
    assert rows(city_dsn, "SELECT count(*), count(DISTINCT id) FROM log") == [(3, 3)]
    assert rows(city_dsn, "SELECT id, state, issued_at FROM tickets") == [
        ("t1", "waiting", datetime(2026, 11, 26, 8, 50, tzinfo=UTC))]
    assert rows(city_dsn, "SELECT \"window\", services, operator FROM windows") == [("5", ["passport"], "ivanova")]
    assert rows(city_dsn, "SELECT body FROM log WHERE type = 'printer.status'") == [(event["body"],)]


def test_one_batch_from_two_threads_and_two_city_apps_is_stored_once(city: City, city_dsn: str) -> None:
    token = enrolled(city)
    batch = [record(cp.HUB_TICKET, ticket(f"t{i}")) for i in range(200)]
    other = City(city_dsn, lambda: NOW, pool_size=4)
    replies: list[list[str]] = []
    try:
        with CityThread(city) as a, CityThread(other) as b:
            def post(url: str) -> None:
                r = requests.post(url + cp.CITY_LOG_PATH, json={"records": batch}, timeout=30,
                                  headers={"Authorization": f"Bearer {token}"})
                replies.append(statuses(r.json()))
            threads = [threading.Thread(target=post, args=(u,)) for u in (a.url, b.url, a.url, b.url)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        other.close()
    assert len(replies) == 4
    # Each record stored by exactly one of the posts, a duplicate for the three others.
    for i in range(200):
        assert sorted(reply[i] for reply in replies) == ["duplicate"] * 3 + ["stored"]
    assert rows(city_dsn, "SELECT count(*) FROM log") == [(200,)]
    assert rows(city_dsn, "SELECT count(*) FROM tickets") == [(200,)]


def test_the_newest_snapshot_wins_whatever_the_order(city: City, city_dsn: str) -> None:
    token = enrolled(city)
    called = record(cp.HUB_TICKET, ticket("t1", "called", called_at="2026-11-26T09:00:00+00:00",
                                          first_called_at="2026-11-26T09:00:00+00:00", window="5"), seq=20)
    waiting = record(cp.HUB_TICKET, ticket("t1"), seq=10)
    done = record(cp.HUB_TICKET, ticket("t1", "done"), seq=30)
    Ingest(city).post(token, [called])
    Ingest(city).post(token, [waiting])  # a late retry of an older state
    assert rows(city_dsn, "SELECT state, \"window\", hub_seq FROM tickets") == [("called", "5", 20)]
    Ingest(city).post(token, [done, record(cp.HUB_TICKET, ticket("t1", "serving"), seq=25)])  # one batch
    assert rows(city_dsn, "SELECT state, hub_seq FROM tickets") == [("done", 30)]
    Ingest(city).post(token, [record(cp.HUB_WINDOW, window("5", None), seq=41),
                              record(cp.HUB_WINDOW, window("5"), seq=40)])
    assert rows(city_dsn, "SELECT open_since FROM windows") == [(None,)]


def test_a_ticket_that_takes_its_kiosks_id_replaces_its_old_row(city: City, city_dsn: str) -> None:
    token = enrolled(city)
    Ingest(city).post(token, [record(cp.HUB_TICKET, ticket("by-number", "called", awaiting_event=True), seq=5)])
    Ingest(city).post(token, [record(cp.HUB_TICKET, ticket("kiosk-id", "called", replaces="by-number",
                                                           slot_at="2026-11-26T09:10:00+00:00"), seq=6)])
    assert rows(city_dsn, "SELECT id, awaiting_event, slot_at FROM tickets") == [
        ("kiosk-id", False, datetime(2026, 11, 26, 9, 10, tzinfo=UTC))]


def test_devices_ratings_and_the_centers_name(city: City, city_dsn: str) -> None:
    token = enrolled(city)
    Hubs(city).set_center("c1", district="ЦАО")
    Ingest(city).post(token, [
        record(cp.HUB_DEVICE, {"role": "kiosk", "online": False, "since": NOW.isoformat(), "revoked": False},
               device="kiosk-1"),
        record(cp.HUB_RATING, {"event": "e1", "window": "5", "ticket": "t1", "score": 5, "scale": 5,
                               "day": "2026-11-26", "at": NOW.isoformat()}),
        record(cp.HUB_CENTER, {"name": "МФЦ Арбат", "timezone": "Europe/Moscow"}),
    ])
    assert rows(city_dsn, "SELECT id, online FROM devices") == [("kiosk-1", False)]
    assert rows(city_dsn, "SELECT event, score FROM ratings") == [("e1", 5)]
    assert rows(city_dsn, "SELECT name, district FROM centers") == [("МФЦ Арбат", "ЦАО")]
    Hubs(city).set_center("c1", name="МФЦ района Арбат")  # the city's name is kept over the hub's
    Ingest(city).post(token, [record(cp.HUB_CENTER, {"name": "Арбат", "timezone": "Asia/Yekaterinburg"})])
    assert rows(city_dsn, "SELECT name, timezone FROM centers") == [("МФЦ района Арбат", "Asia/Yekaterinburg")]


def test_bad_records_are_refused_one_by_one(city: City, city_dsn: str) -> None:
    token = enrolled(city)
    enrolled(city, "hub-2", ("c2",))
    good = record(cp.HUB_TICKET, ticket("t1"))
    bad = [
        record(cp.HUB_TICKET, ticket("t2"), center="c2"),                  # another hub's center
        record("no.such.type", {}),
        record(cp.HUB_TICKET, {**ticket("t3"), "issued_at": "yesterday"}),
        record(cp.HUB_TICKET, {k: v for k, v in ticket("t4").items() if k != "state"}),
        record(cp.HUB_RATING, {"event": "e", "window": "5", "ticket": None, "score": 6, "scale": 5,
                               "day": "2026-11-26", "at": NOW.isoformat()}),
        record(cp.HUB_DEVICE, {"role": "kiosk", "online": None, "since": None, "revoked": False}),  # no device
        record(PRINTER_STATUS, {"text": "\x00"}, device="kiosk-1"),
        record(PRINTER_STATUS, {"text": "x" * (cp.MAX_RECORD_BODY_BYTES + 1)}, device="kiosk-1"),
        {**record(PRINTER_STATUS, {}), "seq": 0},
        {**record(PRINTER_STATUS, {}), "id": "../../etc"},
        {**record(PRINTER_STATUS, {}), "body": []},
        "not a record",
    ]
    reply = Ingest(city).post(token, [bad[0], good, *bad[1:]])
    assert statuses(reply) == ["rejected", "stored"] + ["rejected"] * (len(bad) - 1)
    reasons = [r.get("reason", "") for r in reply["results"]]
    assert reasons[0] == "center c2 is not held by this hub"
    assert all(reason and "\n" not in reason for i, reason in enumerate(reasons) if i != 1)
    assert reply["last_seq"] == good["seq"]
    assert rows(city_dsn, "SELECT id FROM tickets") == [("t1",)]


def test_tokens_beats_and_last_seq(city: City, city_dsn: str) -> None:
    token = enrolled(city)
    for hostile in (None, "", "nope", "x" * 5000):
        with pytest.raises(Unauthorized):
            Ingest(city).post(hostile, [])
    assert rows(city_dsn, "SELECT last_contact, last_seq FROM hubs") == [(None, 0)]
    beat = Ingest(city).post(token, [])
    assert beat == {"results": [], "last_seq": 0}
    assert rows(city_dsn, "SELECT last_contact FROM hubs") == [(NOW,)]
    Ingest(city).post(token, [record(cp.HUB_TICKET, ticket("t1"), seq=77)])
    assert Ingest(city).post(token, [])["last_seq"] == 77
    Hubs(city).revoke("hub-1")
    with pytest.raises(Unauthorized):
        Ingest(city).post(token, [])


def test_http_edges(city: City, city_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = enrolled(city)
    auth = {"Authorization": f"Bearer {token}"}
    with CityThread(city) as server:
        url = server.url + cp.CITY_LOG_PATH

        def post(headers: dict[str, str] | None = None, **kw: Any) -> requests.Response:
            return requests.post(url, headers=headers if headers is not None else auth, timeout=10, **kw)

        assert post({}, json={"records": []}).status_code == 401
        assert post({"Authorization": "Bearer wrong"}, json={"records": []}).status_code == 401
        assert post({"Authorization": token}, json={"records": []}).status_code == 401
        for bad in (b"{", b"[]", b'{"records": {}}', "\"\udc80\"".encode("utf-8", "surrogatepass")):
            r = post(data=bad)
            assert r.status_code == 400 and "\n" not in r.json()["detail"]
        assert post(json={"records": [{}] * (cp.MAX_LOG_RECORDS + 1)}).status_code == 413
        assert post(data=b" " * (cp.MAX_LOG_BYTES + 1)).status_code == 413
        r = post(json={"records": [record(cp.HUB_TICKET, ticket("t1"), seq=5)]})
        assert r.status_code == 200 and r.json()["last_seq"] == 5

        def exhausted(*args: Any, **kwargs: Any) -> Any:
            raise PoolTimeout("no connection")
        monkeypatch.setattr(city.db.pool, "connection", exhausted)
        r = post(json={"records": []})
        assert r.status_code == 429 and r.headers["Retry-After"] == "2"

        def down(*args: Any, **kwargs: Any) -> Any:
            raise psycopg.OperationalError("connection refused\nis the server running?")
        monkeypatch.setattr(city.db.pool, "connection", down)
        r = post(json={"records": []})
        assert r.status_code == 503 and r.json() == {"detail": "the city's database is unavailable: retry later"}
    assert rows(city_dsn, "SELECT count(*) FROM log") == [(1,)]


def test_the_centers_clock_day_is_kept_as_sent(city: City, city_dsn: str) -> None:
    # Times may be spelt in any zone; the projection keeps the instant.
    token = enrolled(city)
    later = (NOW + timedelta(hours=1)).astimezone().isoformat()
    Ingest(city).post(token, [record(cp.HUB_TICKET, ticket("t1", issued_at=later))])
    assert rows(city_dsn, "SELECT issued_at FROM tickets") == [(NOW + timedelta(hours=1),)]


def test_a_second_ticket_of_a_printed_number_is_stored_by_its_call_number(city: City, city_dsn: str) -> None:
    """A kiosk whose range wrapped prints П505 twice in a day: the hub calls the second П505/2."""
    token = enrolled(city)
    reply = Ingest(city).post(token, [record(cp.HUB_TICKET, ticket("t1", number="П505")),
                                      record(cp.HUB_TICKET, ticket("t2", number="П505/2")),
                                      record(cp.HUB_TICKET, ticket("t3", number="П505/x"))])
    assert statuses(reply) == ["stored", "stored", "rejected"]
    assert rows(city_dsn, "SELECT id, number FROM tickets ORDER BY id") == [("t1", "П505"), ("t2", "П505/2")]
