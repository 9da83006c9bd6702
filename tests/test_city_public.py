"""Public waiting times from hand-made projection rows: the figures, a silent center unknown, no
personal data, cache headers, one computation for a burst, the rate limit and whose address counts."""
from __future__ import annotations

import gzip
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests
from fastapi import HTTPException

from city.city import City
from city.figures import center_figures
from city.public import PublicSettings, PublicWaits
from city.public_limits import RateLimiter
from city.routes.public import _current, configure
from city.server import CityThread
from mfc_edge.city_protocol import PUBLIC_WAITS_PATH

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday, 12:30 in Moscow
TODAY = "2026-11-23"
seq = iter(range(1, 100_000))
# Every key the answer may have, at any depth: nothing about a ticket, an operator, a window or a device.
PUBLIC_KEYS = {"made_at", "centers", "center", "id", "name", "district", "state", "waiting", "wait_minutes",
               "longest_wait_minutes", "groups", "name_ru", "name_en", "best_time", "date", "weekday", "hours",
               "from", "to", "last_contact"}


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def ticket(conn: psycopg.Connection, center: str, tid: str, service: str, *, state: str = "waiting",
           issued: datetime, first_called: datetime | None = None, started: datetime | None = None,
           finished: datetime | None = None, day: str = TODAY, walk_in: bool = False) -> None:
    conn.execute(
        "INSERT INTO tickets (center, id, number, service, day, state, issued_at, first_called_at, called_at, "
        "started_at, finished_at, \"window\", operator, walk_in, hub_seq) "
        "VALUES (%s, %s, 'П042', %s, %s, %s, %s, %s, %s, %s, %s, '7', 'ivanova', %s, %s)",
        [center, tid, service, day, state, issued, first_called, first_called, started, finished, walk_in, next(seq)])


def window(conn: psycopg.Connection, center: str, name: str, services: list[str], *, open_: bool = True,
           paused: bool = False) -> None:
    conn.execute("INSERT INTO windows (center, \"window\", open_since, services, operator, paused_since, hub_seq) "
                 "VALUES (%s, %s, %s, %s, 'ivanova', %s, %s)",
                 [center, name, at(120) if open_ else None, services, at(5) if paused else None, next(seq)])


def hand_made_city(dsn: str) -> None:
    """Three centers: c1 open with a line, c2 whose hub went silent, c3 with every window closed."""
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO hubs (id, token_hash, last_contact) VALUES ('hub-1', 'a', %s), ('hub-2', 'b', %s)",
                     [NOW - timedelta(seconds=20), NOW - timedelta(minutes=20)])
        conn.execute("INSERT INTO centers (id, name, district, timezone, hub) VALUES "
                     "('c1', 'МФЦ Арбат', 'ЦАО', 'Europe/Moscow', 'hub-1'), "
                     "('c2', 'МФЦ Сокол', 'САО', 'Europe/Moscow', 'hub-2'), "
                     "('c3', 'МФЦ Марьино', 'ЮВАО', 'Europe/Moscow', 'hub-1')")
        window(conn, "c1", "1", ["passport-rf", "residence-registration"])
        window(conn, "c1", "2", ["passport-rf", "pension"])
        window(conn, "c1", "3", ["pension"], paused=True)   # paused: serves nobody now
        window(conn, "c1", "4", ["egrn-extract"], open_=False)
        window(conn, "c3", "1", ["passport-rf"], open_=False)
        # The last visits of c1: 6, 8 and 10 minutes (mean 8); a walk-in's too, as the hub counts it.
        for i, length in enumerate((6, 8, 10)):
            ticket(conn, "c1", f"done{i}", "pension", state="done", issued=at(100), first_called=at(90 - i),
                   started=at(60 - 20 * i), finished=at(60 - 20 * i - length))
        ticket(conn, "c1", "w1", "passport-rf", issued=at(40))
        ticket(conn, "c1", "w2", "passport-rf", issued=at(10))
        ticket(conn, "c1", "w3", "residence-registration", issued=at(5))
        ticket(conn, "c1", "w4", "pension", issued=at(3))
        ticket(conn, "c1", "w5", "no-such-service", issued=at(2))
        ticket(conn, "c1", "old", "passport-rf", issued=at(60 * 24), day="2026-11-22")  # yesterday's
        ticket(conn, "c2", "w1", "passport-rf", issued=at(30))
        ticket(conn, "c3", "w1", "passport-rf", issued=at(30))


@pytest.fixture
def city(city_dsn: str) -> Iterator[City]:
    hand_made_city(city_dsn)
    c = City(city_dsn, clock=lambda: NOW, pool_size=4)
    try:
        yield c
    finally:
        c.close()


class Client:
    """The city's API on 127.0.0.1 for the block, asked with `get(path, **requests_kwargs)`."""

    def __init__(self, city: City, settings: PublicSettings | None = None, trusted: str = "127.0.0.1"):
        self.server = CityThread(city)
        # uvicorn believes X-Forwarded-For from these addresses only (its forwarded_allow_ips).
        self.server.server.config.forwarded_allow_ips = trusted
        if settings is not None:
            configure(self.server.app, settings)
        self.session = requests.Session()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.server.url + path, timeout=30, **kwargs)

    def options(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.options(self.server.url + path, timeout=30, **kwargs)

    def __enter__(self) -> Client:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()
        self.server.stop()


def client_of(city: City, settings: PublicSettings | None = None, trusted: str = "127.0.0.1") -> Client:
    return Client(city, settings, trusted)


def by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in answer["centers"]}


def all_keys(data: Any) -> set[str]:
    if isinstance(data, dict):
        return set(data).union(*(all_keys(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(all_keys(v) for v in data))
    return set()


def test_the_figures_are_the_projections_and_the_hubs_simple_rule(city: City) -> None:
    with client_of(city) as client:
        answer = client.get(PUBLIC_WAITS_PATH).json()
    with city.db.connection() as conn:
        figures = {f["id"]: f for f in center_figures(conn, NOW)}
    c1 = by_id(answer)["c1"]
    assert answer["made_at"] == "2026-11-23T09:30:00Z"
    assert (c1["name"], c1["district"], c1["state"]) == ("МФЦ Арбат", "ЦАО", "open")
    assert c1["waiting"] == figures["c1"]["waiting"] == 5
    assert c1["longest_wait_minutes"] == math.ceil(figures["c1"]["longest_wait_s"] / 60) == 40
    # Five ahead, visits of 8 minutes, two windows open and not paused: 5 × 8 / 2 = 20.
    assert c1["wait_minutes"] == 20
    groups = {g["id"]: g for g in c1["groups"]}
    assert groups["passports"]["waiting"] == 3 and groups["passports"]["wait_minutes"] == 12  # 3 × 8 / 2
    assert groups["passports"]["name_ru"] == "Паспорта и регистрация"
    # Window 2 alone serves pensions now (window 3 is paused): 1 × 8 / 1.
    assert groups["social"]["waiting"] == 1 and groups["social"]["wait_minutes"] == 8
    assert groups["other"]["waiting"] == 1
    assert sum(g["waiting"] for g in c1["groups"]) == c1["waiting"]
    assert "real-estate" not in groups  # its only window is closed and nobody waits for it
    assert c1["last_contact"] == "2026-11-23T09:29:40Z"


def test_a_silent_center_is_unknown_and_a_closed_one_closed(city: City) -> None:
    with client_of(city) as client:
        centers = by_id(client.get(PUBLIC_WAITS_PATH).json())
    c2, c3 = centers["c2"], centers["c3"]
    assert c2["state"] == "unknown"
    assert c2["waiting"] is None and c2["wait_minutes"] is None and c2["longest_wait_minutes"] is None
    assert c2["groups"] == [] and c2["last_contact"] == "2026-11-23T09:10:00Z"
    assert c3["state"] == "closed" and c3["wait_minutes"] is None and c3["waiting"] == 1


def test_one_center_alone_and_an_unknown_one(city: City) -> None:
    with client_of(city) as client:
        one = client.get(f"{PUBLIC_WAITS_PATH}/c1")
        assert one.status_code == 200
        assert one.json()["center"] == by_id(client.get(PUBLIC_WAITS_PATH).json())["c1"]
        missing = client.get(f"{PUBLIC_WAITS_PATH}/nowhere")
        assert missing.status_code == 404 and "nowhere" in missing.json()["detail"]
        hostile = client.get(f"{PUBLIC_WAITS_PATH}/<script>")
        assert hostile.status_code == 404 and hostile.json()["detail"] == "нет центра ? / no center ?"


def test_no_personal_data_in_the_answer(city: City) -> None:
    with client_of(city) as client:
        reply = client.get(PUBLIC_WAITS_PATH)
    assert all_keys(reply.json()) <= PUBLIC_KEYS
    for secret in ("П042", "ivanova", "hub-1", "done0", "w1"):
        assert secret not in reply.text


def test_cache_headers_etag_and_304(city: City) -> None:
    with client_of(city) as client:
        first = client.get(PUBLIC_WAITS_PATH, headers={"Origin": "https://portal.example"})
        assert first.status_code == 200
        assert first.headers["cache-control"] == "public, max-age=15"
        assert first.headers["access-control-allow-origin"] == "*"
        assert first.headers["last-modified"] == "Mon, 23 Nov 2026 09:30:00 GMT"
        etag = first.headers["etag"]
        again = client.get(PUBLIC_WAITS_PATH, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert client.get(PUBLIC_WAITS_PATH, headers={"If-None-Match": '"other"'}).status_code == 200
        since = client.get(PUBLIC_WAITS_PATH, headers={"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304
        one = client.get(f"{PUBLIC_WAITS_PATH}/c1")
        assert one.headers["etag"] != etag
        assert client.get(f"{PUBLIC_WAITS_PATH}/c1", headers={"If-None-Match": one.headers["etag"]}).status_code == 304
        preflight = client.options(PUBLIC_WAITS_PATH, headers={"Origin": "https://portal.example",
                                                               "Access-Control-Request-Method": "GET"})
        assert preflight.status_code == 204 and "If-None-Match" in preflight.headers["access-control-allow-headers"]


def test_the_page_and_its_files_are_served_without_cookies(city: City) -> None:
    with client_of(city) as client:
        page = client.get("/waits")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "set-cookie" not in page.headers and "script-src 'self'" in page.headers["content-security-policy"]
        assert '<html lang="ru">' in page.text and "/waits/waits.js" in page.text
        assert client.get("/waits/waits.js").headers["content-type"].startswith("text/javascript")
        assert client.get("/waits/waits.css").status_code == 200
        assert client.get("/waits/../app.py").status_code == 404
        assert client.get("/waits/waits.html.bak").status_code == 404


def test_a_reader_taking_gzip_gets_the_same_answer_compressed(city: City) -> None:
    with client_of(city) as client:
        plain = client.get(PUBLIC_WAITS_PATH, headers={"Accept-Encoding": "identity"})
        packed = client.get(PUBLIC_WAITS_PATH, headers={"Accept-Encoding": "gzip"}, stream=True)
        raw = packed.raw.read(decode_content=False)
        refused = client.get(PUBLIC_WAITS_PATH, headers={"Accept-Encoding": "gzip;q=0"})
    assert len(plain.content) > 1024 and "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(raw) == plain.content and len(raw) < len(plain.content)
    assert packed.headers["etag"] != plain.headers["etag"]
    assert "content-encoding" not in refused.headers


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_computes_once_and_an_old_answer_is_made_again_once(city: City) -> None:
    clock = Clock()
    waits = PublicWaits(city, PublicSettings(cache_seconds=15), monotonic=clock)
    made = []
    start = threading.Barrier(12)

    def ask() -> None:
        start.wait()
        made.append(waits.answer().etag)

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert waits.computations == 1 and len(set(made)) == 1
    clock.t += 14
    waits.answer()
    assert waits.computations == 1
    clock.t += 2  # past its age: the old answer is served while one thread makes the next
    old = waits.answer()
    for _ in range(20):
        assert waits.answer() in (old, waits._answer)
    deadline = threading.Event()
    for _ in range(100):
        if waits.computations == 2:
            break
        deadline.wait(0.05)
    assert waits.computations == 2


def test_a_database_gone_keeps_the_last_answer_and_without_one_is_503(city: City) -> None:
    clock = Clock()
    waits = PublicWaits(city, PublicSettings(cache_seconds=15), monotonic=clock)
    made = waits.answer()
    city.db.pool.close()  # the database cannot be reached any more
    clock.t += 60
    for _ in range(3):
        assert waits.answer() is made
    for _ in range(100):
        if not waits._refreshing:
            break
        threading.Event().wait(0.05)
    assert waits.answer() is made and waits.computations == 1
    with pytest.raises(HTTPException) as refused:
        _current(PublicWaits(city))
    assert refused.value.status_code == 503 and "\n" not in refused.value.detail


def test_the_rate_limit_answers_429_with_retry_after(city: City) -> None:
    settings = PublicSettings(rate_per_second=0.5, burst=3)
    with client_of(city, settings) as client:
        codes = [client.get(PUBLIC_WAITS_PATH).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get(PUBLIC_WAITS_PATH)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
        assert refused.headers["access-control-allow-origin"] == "*"
        assert "too many requests" in refused.json()["detail"]
        assert client.get("/waits").status_code == 429  # the page counts too


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(city: City) -> None:
    # The balancer is this machine (the test's requests come from 127.0.0.1).
    with client_of(city, PublicSettings(rate_per_second=0.01, burst=1), trusted="127.0.0.0/8") as lb:
        assert lb.get(PUBLIC_WAITS_PATH, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
        assert lb.get(PUBLIC_WAITS_PATH, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
        # Another resident behind the same balancer has a bucket of their own; a spoofed first hop changes nothing.
        assert lb.get(PUBLIC_WAITS_PATH, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200
        assert lb.get(PUBLIC_WAITS_PATH, headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.2"}).status_code == 429
    # Not a proxy: whatever it writes in the header, its requests count against its own address.
    with client_of(city, PublicSettings(rate_per_second=0.01, burst=1), trusted="10.0.0.0/24") as peer:
        assert peer.get(PUBLIC_WAITS_PATH, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 200
        assert peer.get(PUBLIC_WAITS_PATH, headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 429


def test_a_bucket_refills_with_time() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1.0, burst=2, monotonic=clock)
    assert [limiter.take("a"), limiter.take("a"), limiter.take("a")] == [0, 0, 1]
    clock.t += 1.0
    assert limiter.take("a") == 0


def test_best_time_is_the_hours_of_the_lowest_typical_wait(city_dsn: str) -> None:
    with psycopg.connect(city_dsn) as conn:
        conn.execute("INSERT INTO hubs (id, token_hash, last_contact) VALUES ('hub-1', 'a', %s)", [NOW])
        conn.execute("INSERT INTO centers (id, name, timezone, hub) VALUES ('c1', 'МФЦ', 'Europe/Moscow', 'hub-1')")
        # Four past Mondays and Tuesdays, Moscow time: 10:00 waits 30 min, 11:00 5, 15:00 12, 17:00 20.
        for week in range(1, 5):
            for weekday, offset in (("mon", 0), ("tue", 1)):
                day = datetime(2026, 11, 23, tzinfo=UTC) - timedelta(weeks=week) + timedelta(days=offset)
                for hour, wait in ((10, 30), (11, 5), (15, 12), (17, 20)):
                    issued = day + timedelta(hours=hour - 3, minutes=10)
                    ticket(conn, "c1", f"{weekday}{week}-{hour}", "passport-rf", state="done", issued=issued,
                           first_called=issued + timedelta(minutes=wait), day=day.date().isoformat())
    c = City(city_dsn, clock=lambda: NOW, pool_size=2)
    try:
        settings = PublicSettings(best_days=2, best_hours=2)
        waits = PublicWaits(c, settings)
        assert waits.answer().data["centers"][0]["best_time"] is None  # not known yet: read in the background
        waits.read_history()
        waits._answer = None  # the next answer made now, with the history read
        best = waits.answer().data["centers"][0]["best_time"]
    finally:
        c.close()
    # Today (Monday, 12:30 in Moscow) only the hours still to come; Tuesday all of its hours.
    assert best == [
        {"date": TODAY, "weekday": 1, "hours": [{"from": "15:00", "to": "16:00", "wait_minutes": 12},
                                                {"from": "17:00", "to": "18:00", "wait_minutes": 20}]},
        {"date": "2026-11-24", "weekday": 2, "hours": [{"from": "11:00", "to": "12:00", "wait_minutes": 5},
                                                       {"from": "15:00", "to": "16:00", "wait_minutes": 12}]}]
