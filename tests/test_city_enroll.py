"""Hubs enroll with the city: one-time codes, tokens kept only as hashes, one hub per center, and
the command line's one-line errors."""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests

from city.city import City
from city.hubs import HubError, Hubs
from city.server import CityThread
from mfc_edge.city_protocol import CITY_ENROLL_PATH, CITY_LOG_PATH
from mfc_edge.cli import main


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def city(city_dsn: str, clock: Clock) -> Iterator[City]:
    c = City(city_dsn, clock, pool_size=4)
    yield c
    c.close()


def test_a_code_is_traded_once_for_a_token_kept_only_as_its_hash(city: City, city_dsn: str) -> None:
    hubs = Hubs(city)
    code = hubs.make_code("hub-1", ["c1", "c2"])
    enrolled = hubs.enroll(code.lower().replace("-", " "), "hub-1")  # read out and typed loosely
    assert enrolled.centers == ["c1", "c2"] and enrolled.hub == "hub-1"
    assert hubs.authenticate(enrolled.token) == "hub-1"
    with pytest.raises(HubError, match="already used"):
        hubs.enroll(code, "hub-1")
    with psycopg.connect(city_dsn) as conn:
        stored = conn.execute("SELECT token_hash FROM hubs").fetchone()
        codes = conn.execute("SELECT code_hash FROM hub_codes").fetchall()
        centers = conn.execute("SELECT id, hub FROM centers ORDER BY id").fetchall()
    assert stored == (hashlib.sha256(enrolled.token.encode()).hexdigest(),)
    assert code not in str(codes) and code.replace("-", "") not in str(codes)
    assert centers == [("c1", "hub-1"), ("c2", "hub-1")]


def test_wrong_expired_and_other_hubs_codes_are_refused(city: City, clock: Clock) -> None:
    hubs = Hubs(city)
    with pytest.raises(HubError, match="unknown code"):
        hubs.enroll("AAAA-BBBB-CCCC-DDDD", "hub-1")
    code = hubs.make_code("hub-1", ["c1"])
    with pytest.raises(HubError, match="made for hub hub-1, not hub-2"):
        hubs.enroll(code, "hub-2")
    clock.now += timedelta(hours=24)
    with pytest.raises(HubError, match="expired"):
        hubs.enroll(code, "hub-1")
    with pytest.raises(HubError, match="hub"):
        hubs.make_code("Hub 1/..", ["c1"])
    with pytest.raises(HubError, match="center"):
        hubs.make_code("hub-1", ["c1", "../etc"])


def test_a_center_held_by_another_hub_is_refused_at_code_time_and_at_use(city: City) -> None:
    hubs = Hubs(city)
    early = hubs.make_code("hub-2", ["c1"])  # made while c1 was free
    hubs.enroll(hubs.make_code("hub-1", ["c1"]), "hub-1")
    with pytest.raises(HubError, match="center c1 is held by hub hub-1"):
        hubs.make_code("hub-2", ["c1", "c2"])
    with pytest.raises(HubError, match="center c1 is held by hub hub-1"):
        hubs.enroll(early, "hub-2")
    assert hubs.revoke("hub-1") and not hubs.revoke("hub-1")
    hubs.enroll(hubs.make_code("hub-2", ["c1"]), "hub-2")  # freed by the revocation
    assert [(c["id"], c["hub"]) for c in hubs.centers()] == [("c1", "hub-2")]


def test_one_code_used_by_two_at_once_gives_one_token(city: City) -> None:
    hubs = Hubs(city)
    code = hubs.make_code("hub-1", ["c1"])
    outcomes: list[str] = []

    def use() -> None:
        try:
            hubs.enroll(code, "hub-1")
            outcomes.append("token")
        except HubError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=use) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["this code was already used"] * 2 + ["token"]


def test_revoked_hub_and_hostile_tokens_are_refused(city: City) -> None:
    hubs = Hubs(city)
    token = hubs.enroll(hubs.make_code("hub-1", ["c1"]), "hub-1").token
    for hostile in ("", "x" * 10_000, "' OR 1=1 --", "\x00", token[:-1], token.upper()):
        assert hubs.authenticate(hostile) is None
    hubs.revoke("hub-1")
    assert hubs.authenticate(token) is None
    again = hubs.enroll(hubs.make_code("hub-1", ["c1"]), "hub-1").token  # a hub enrolled anew
    assert hubs.authenticate(again) == "hub-1" and hubs.authenticate(token) is None


def test_enroll_over_http(city: City) -> None:
    code = Hubs(city).make_code("hub-1", ["c1"])
    with CityThread(city) as server:
        url = server.url + CITY_ENROLL_PATH
        for bad in (b"not json", b"[]", b'{"code": 1, "hub": "hub-1"}'):
            r = requests.post(url, data=bad, timeout=10)
            assert r.status_code == 400 and "\n" not in r.json()["detail"]
        assert requests.post(url, data=b"x" * 10_000, timeout=10).status_code == 413
        r = requests.post(url, json={"code": "WRONG", "hub": "hub-1"}, timeout=10)
        assert r.status_code == 403 and r.json()["detail"] == "unknown code"
        r = requests.post(url, json={"code": code, "hub": "hub-1"}, timeout=10)
        assert r.status_code == 200
        reply = r.json()
        assert set(reply) == {"token", "hub", "centers", "bundle_key"}
        assert (reply["hub"], reply["centers"], reply["bundle_key"]) == ("hub-1", ["c1"], None)
        assert requests.post(url, json={"code": code, "hub": "hub-1"}, timeout=10).status_code == 403
        beat = requests.post(server.url + CITY_LOG_PATH, json={"records": []}, timeout=10,
                             headers={"Authorization": f"Bearer {reply['token']}"})
        assert beat.status_code == 200


def test_set_center_keeps_the_citys_name_and_checks_the_zone(city: City) -> None:
    hubs = Hubs(city)
    row = hubs.set_center("c1", name="МФЦ Арбат", district="ЦАО")
    assert (row["name"], row["district"], row["timezone"]) == ("МФЦ Арбат", "ЦАО", "Europe/Moscow")
    with pytest.raises(HubError, match="time zone 'Mars/Olympus'"):
        hubs.set_center("c1", timezone="Mars/Olympus")
    with pytest.raises(HubError, match="one line"):
        hubs.set_center("c1", name="two\nlines")
    assert hubs.set_center("c1", timezone="Asia/Yekaterinburg")["name"] == "МФЦ Арбат"


def test_command_line(city_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    dsn = ["--dsn", city_dsn]

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(["city", argv[0], *dsn, *argv[1:]])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, _ = run("hub-code", "--hub", "hub-1", "--center", "c1", "--center", "c2")
    assert status == 0 and len(out.splitlines()[0]) == 19
    city = City(city_dsn)
    try:
        Hubs(city).enroll(out.splitlines()[0], "hub-1")
    finally:
        city.close()
    for argv, message in (
        (("hub-code", "--hub", "hub-2", "--center", "c2"),
         "center c2 is held by hub hub-1: revoke that hub first (mfc-edge city revoke-hub --hub hub-1)"),
        (("hub-code", "--hub", "Hub_2", "--center", "c3"), "hub 'Hub_2': expected lowercase latin letters"),
        (("set-center", "c1", "--timezone", "Europe/Nowhere"), "time zone 'Europe/Nowhere'"),
        (("set-center", "c1"), "say what to set"),
        (("revoke-hub", "--hub", "hub-9"), "--hub hub-9: no such hub enrolled"),
    ):
        status, _, err = run(*argv)
        assert status == 2 and err.startswith(f"mfc-edge: error: {message}") and err.count("\n") == 1, err
    assert run("set-center", "c1", "--name", "МФЦ Арбат", "--district", "ЦАО")[0] == 0
    status, out, _ = run("centers")
    assert out.splitlines() == ["c1\tМФЦ Арбат\tЦАО\tEurope/Moscow\thub hub-1", "c2\t-\t-\tEurope/Moscow\thub hub-1"]
    status, out, _ = run("hubs")
    assert out.startswith("hub-1\tc1,c2\tlast contact -\tlast seq 0\tenrolled")
    assert run("revoke-hub", "--hub", "hub-1")[0] == 0
    assert "revoked" in run("hubs")[1]


def test_the_database_must_be_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MFC_CITY_DSN", raising=False)
    assert main(["city", "hubs"]) == 2
    assert capsys.readouterr().err.startswith("mfc-edge: error: name the city's database")
