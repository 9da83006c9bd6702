"""The city dashboard's figures over HTTP: every center with the totals of its district and the
city, a silent center shown as unknown, a center's drill-down, and the pages' headers."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests

from city.accounts import Accounts
from city.city import City
from city.server import CityThread
from mfc_edge.city_protocol import SILENT_AFTER_S

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
TODAY = "2026-11-26"
PASSWORD = "correct horse 42"
_seq = iter(range(1, 100_000))


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def ticket(conn: psycopg.Connection, center: str, tid: str, *, service: str = "passport", state: str = "waiting",
           issued: float = 5, called: float | None = None, finished: float | None = None, day: str = TODAY) -> None:
    conn.execute(
        "INSERT INTO tickets (center, id, number, service, day, state, issued_at, first_called_at, called_at, "
        "started_at, finished_at, hub_seq) VALUES (%s, %s, 'А001', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [center, tid, service, day, state, at(issued), None if called is None else at(called),
         None if called is None else at(called), None if called is None else at(called),
         None if finished is None else at(finished), next(_seq)])


def history(conn: psycopg.Connection) -> None:
    """Three centers of two districts; 'south' has not been heard from for ten minutes."""
    conn.execute("INSERT INTO hubs (id, token_hash, last_contact) VALUES ('hub-a', 'a', %s), ('hub-b', 'b', %s)",
                 [NOW - timedelta(seconds=20), NOW - timedelta(seconds=SILENT_AFTER_S + 300)])
    conn.execute("INSERT INTO centers (id, name, district, hub) VALUES "
                 "('arbat', 'МФЦ Арбат', 'ЦАО', 'hub-a'), ('tverskoy', 'МФЦ Тверской', 'ЦАО', 'hub-a'), "
                 "('south', 'МФЦ Южный', 'ЮАО', 'hub-b')")
    ticket(conn, "arbat", "a1", issued=40)
    ticket(conn, "arbat", "a2", issued=10, service="tax")
    ticket(conn, "arbat", "a3", issued=12, service="tax")
    ticket(conn, "arbat", "a4", state="done", issued=120, called=110, finished=100)  # issued 10:00, served 10:20
    ticket(conn, "arbat", "a5", state="serving", issued=30, called=5)
    ticket(conn, "tverskoy", "t1", issued=20)
    ticket(conn, "south", "s1", issued=90)  # a line the city heard of long ago
    conn.execute("INSERT INTO windows (center, \"window\", open_since, services, operator, paused_since, "
                 "pause_reason, hub_seq) VALUES "
                 "('arbat', '1', %s, '{passport}', 'ivanova', NULL, '', 1), "
                 "('arbat', '2', %s, '{tax,passport}', 'petrov', %s, 'обед', 2), "
                 "('arbat', '3', NULL, '{}', '', NULL, '', 3), "
                 "('tverskoy', '1', %s, '{}', 'sidorova', NULL, '', 4)",
                 [at(200), at(200), at(10), at(100)])
    conn.execute("INSERT INTO devices (center, id, role, online, since, revoked, hub_seq) VALUES "
                 "('arbat', 'kiosk-1', 'kiosk', false, %s, false, 1), ('arbat', 'screen-1', 'signage', true, %s, false, 2), "
                 "('arbat', 'kiosk-old', 'kiosk', false, %s, true, 3), ('south', 'kiosk-9', 'kiosk', false, %s, false, 4)",
                 [at(15), at(100), at(900), at(30)])
    conn.execute("INSERT INTO ratings (center, event, \"window\", ticket, score, scale, day, at, hub_seq) VALUES "
                 "('arbat', 'r1', '1', 'a4', 5, 5, %s, %s, 1), ('tverskoy', 'r2', '1', 't0', 2, 5, %s, %s, 2)",
                 [TODAY, at(99), TODAY, at(50)])


@pytest.fixture
def city(city_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[City]:
    from argon2 import PasswordHasher

    # Argon2id still, with a small cost: the default's 64 MiB a hash is what the city runs.
    monkeypatch.setattr("city.accounts._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with psycopg.connect(city_dsn) as conn:
        history(conn)
    found = City(city_dsn, lambda: NOW, pool_size=2)
    Accounts(found).add("petrova", "Петрова", PASSWORD, "viewer")
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def session(city: City) -> Iterator[tuple[str, requests.Session]]:
    with CityThread(city) as server:
        s = requests.Session()
        assert s.post(f"{server.url}/dashboard/api/sign-in", json={"login": "petrova", "password": PASSWORD},
                      timeout=30).status_code == 200
        yield server.url, s


def get(session: tuple[str, requests.Session], path: str) -> Any:
    url, s = session
    reply = s.get(url + path, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_every_center_with_its_districts_and_the_citys_totals(session: tuple[str, requests.Session]) -> None:
    found = get(session, "/dashboard/api/centers")
    centers = {c["id"]: c for c in found["centers"]}
    arbat = centers["arbat"]
    assert arbat["waiting"] == 3 and arbat["longest_wait_s"] == 40 * 60
    assert (arbat["windows_open"], arbat["windows_paused"]) == (2, 1)
    assert arbat["devices_offline"] == 1  # the revoked kiosk is not counted
    assert arbat["ratings_today"] == 1 and arbat["happy_share"] == 1.0
    # In line today: a1 (40 min, waiting: over), a2, a3, a4 (10 min), a5 (25 min: over).
    assert arbat["within_15_share"] == round(1 - 2 / 5, 3)
    assert arbat["silent"] is False and arbat["last_contact"].startswith("2026-11-26T08:59:40")
    # The silent center: figures unknown, not zero, and not the stale ones.
    south = centers["south"]
    assert south["silent"] is True and south["waiting"] is None and south["longest_wait_s"] is None
    assert south["devices_offline"] is None and south["last_contact"] is not None
    districts = {d["district"]: d for d in found["districts"]}
    assert districts["ЦАО"]["waiting"] == 4 and districts["ЦАО"]["centers"] == 2 and districts["ЦАО"]["silent"] == 0
    assert districts["ЮАО"] == {**districts["ЮАО"], "centers": 1, "silent": 1, "waiting": 0, "longest_wait_s": None}
    total = found["total"]
    assert total["centers"] == 3 and total["silent"] == 1
    assert total["waiting"] == 4 and total["longest_wait_s"] == 40 * 60 and total["windows_open"] == 3
    assert total["devices_offline"] == 1 and total["ratings_today"] == 2 and total["happy_share"] == 0.5


def test_a_centers_drill_down(session: tuple[str, requests.Session]) -> None:
    found = get(session, "/dashboard/api/centers/arbat")
    assert found["center"]["name"] == "МФЦ Арбат" and found["silent"] is False
    windows = {w["window"]: w for w in found["windows"]}
    assert set(windows) == {"1", "2"} and found["windows_closed"] == ["3"]
    assert windows["2"]["paused"] is True and windows["2"]["pause_reason"] == "обед"
    assert windows["2"]["operator"] == "petrov" and windows["2"]["services"] == ["tax", "passport"]
    assert [d["id"] for d in found["devices_offline"]] == ["kiosk-1"]
    # Services the catalog does not know are named by their ids.
    assert found["waiting_by_service"] == [
        {"service": "passport", "name_ru": "passport", "name_en": "passport", "waiting": 1, "longest_wait_s": 40 * 60},
        {"service": "tax", "name_ru": "tax", "name_en": "tax", "waiting": 2, "longest_wait_s": 12 * 60}]
    hours = {h["hour"]: h for h in found["hours"]}
    assert len(hours) == 24
    # Moscow time: a4 issued at 10:00 and served at 10:20; a1, a5 issued in the 11 o'clock hour, the rest at 11:48+.
    assert hours[10] == {"hour": 10, "issued": 1, "served": 1}
    assert hours[11]["issued"] == 4 and hours[11]["served"] == 0
    assert sum(h["issued"] for h in found["hours"]) == 5
    south = get(session, "/dashboard/api/centers/south")
    assert south["silent"] is True and south["center"]["waiting"] is None
    url, s = session
    assert s.get(f"{url}/dashboard/api/centers/arbat", timeout=30).headers["cache-control"] == "no-store"
    assert s.get(f"{url}/dashboard/api/centers/nowhere", timeout=30).status_code == 404
    assert s.get(f"{url}/dashboard/api/centers/..%2F..", timeout=30).status_code in (404, 422)
    assert requests.get(f"{url}/dashboard/api/centers/arbat", timeout=30).status_code == 401


def test_the_pages_run_only_the_citys_own_scripts(session: tuple[str, requests.Session]) -> None:
    url, _ = session
    for path in ("/dashboard", "/dashboard/sign-in", "/dashboard/static/dashboard.js", "/dashboard/static/city.css"):
        reply = requests.get(url + path, timeout=30)
        assert reply.status_code == 200
        assert "script-src 'self'" in reply.headers["content-security-policy"]
        assert reply.headers["x-frame-options"] == "DENY"
    page = requests.get(url + "/dashboard", timeout=30).text
    assert "http" not in page.replace("http-equiv", "")  # nothing from other sites
    assert requests.get(url + "/dashboard/static/../accounts.py", timeout=30).status_code == 404
    assert requests.get(url + "/dashboard/static/nothing.js", timeout=30).status_code == 404
