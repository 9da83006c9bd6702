"""The city's SLA reports: the hub's own figures (hub/reports.py's tallies fed the same tickets)
per center, district and service, as series, over one district, and as CSV, XLSX and JSON over
HTTP and from the command line."""
from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import requests

from city.accounts import Accounts
from city.city import City
from city.reports import FIGURES, ReportError, make_report
from city.server import CityThread
from hub.reports import Tally, visit

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse 42"
CENTERS = {"arbat": ("ЦАО", "Europe/Moscow"), "tverskoy": ("ЦАО", "Europe/Moscow"),
           "ural": ("УрФО", "Asia/Yekaterinburg")}
DAYS = [date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 26)]  # Sun, Mon, Tue, today
STATES = ["done", "done", "done", "no_show", "cancelled", "expired", "serving", "waiting", "called", "held"]


def made_up_history(seed: int = 7) -> list[dict[str, Any]]:
    """Tickets of every kind the hub's report counts, with times as a hub would give them."""
    rnd = random.Random(seed)
    tickets = []
    for center, (_, zone) in CENTERS.items():
        for day in DAYS:
            opens = datetime.combine(day, datetime.min.time(), ZoneInfo(zone)) + timedelta(hours=8)
            for n in range(40):
                state = rnd.choice(STATES) if day < NOW.date() else rnd.choice(["waiting", "done", "serving"])
                issued = opens + timedelta(minutes=rnd.uniform(0, 600))
                if day == NOW.date():
                    issued = min(issued, NOW - timedelta(minutes=rnd.uniform(1, 60)))
                walk_in = state == "done" and rnd.random() < 0.1
                awaiting = not walk_in and state in ("done", "serving") and rnd.random() < 0.05
                slot = issued + timedelta(minutes=rnd.choice([-10, 5, 20])) if rnd.random() < 0.15 else None
                called = None
                if state in ("done", "no_show", "serving", "called", "held") or (state == "expired" and rnd.random() < 0.3):
                    called = issued + timedelta(minutes=0 if walk_in else rnd.expovariate(1 / 12))
                started = called + timedelta(minutes=rnd.uniform(0, 2)) if called and state in ("done", "serving") else None
                finished = None
                if state == "done":
                    finished = started + timedelta(minutes=rnd.uniform(2, 25))  # type: ignore[operator]
                elif state == "cancelled":
                    finished = issued + timedelta(minutes=rnd.uniform(1, 40))
                elif state == "no_show":
                    finished = called + timedelta(minutes=3)  # type: ignore[operator]
                tickets.append({
                    "center": center, "id": f"{center}-{day}-{n}", "service": rnd.choice(["passport", "tax", "snils"]),
                    "day": day, "state": state, "issued_at": issued, "first_called_at": called, "called_at": called,
                    "started_at": started, "finished_at": finished, "walk_in": walk_in, "awaiting_event": awaiting,
                    "slot_at": slot, "estimate_minutes": rnd.choice([None, 5, 10, 20]) if not walk_in else None,
                    "score": rnd.choice([None, None, 1, 3, 4, 5]) if state == "done" else None,
                    # The hub closes a ticket left in line when its service day is over.
                    "expired_at": datetime.combine(day + timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
                    if state == "expired" else None})
    return tickets


def store(conn: psycopg.Connection, tickets: list[dict[str, Any]]) -> None:
    conn.execute("INSERT INTO hubs (id, token_hash, last_contact) VALUES ('hub-1', 'x', %s)", [NOW])
    for center, (district, zone) in CENTERS.items():
        conn.execute("INSERT INTO centers (id, name, district, timezone, hub) VALUES (%s, %s, %s, %s, 'hub-1')",
                     [center, f"МФЦ {center}", district, zone])
    for n, t in enumerate(tickets):
        conn.execute(
            "INSERT INTO tickets (center, id, number, service, day, state, issued_at, first_called_at, called_at, "
            "started_at, finished_at, walk_in, awaiting_event, slot_at, estimate_minutes, hub_seq) "
            "VALUES (%s, %s, 'А1', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [t["center"], t["id"], t["service"], t["day"], t["state"], t["issued_at"], t["first_called_at"],
             t["called_at"], t["started_at"], t["finished_at"], t["walk_in"], t["awaiting_event"], t["slot_at"],
             t["estimate_minutes"], n])
        if t["score"] is not None:
            conn.execute("INSERT INTO ratings (center, event, \"window\", ticket, score, scale, day, at, hub_seq) "
                         "VALUES (%s, %s, '1', %s, %s, 5, %s, %s, %s)",
                         [t["center"], f"r-{t['id']}", t["id"], t["score"], t["day"], t["finished_at"], n])


def hub_figures(tickets: list[dict[str, Any]]) -> dict[str, Any]:
    """What the hub's own report gives for these tickets (hub/reports.visit and Tally)."""
    tally = Tally()
    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    for t in tickets:
        row = {"state": t["state"], "walk_in": t["walk_in"], "held": False, "awaiting_event": t["awaiting_event"],
               "slot_at": iso(t["slot_at"]), "issued_at": iso(t["issued_at"]), "first_called": iso(t["first_called_at"]),
               "expired_at": iso(t["expired_at"]), "finished_at": iso(t["finished_at"]), "started_at": iso(t["started_at"]),
               "estimate_minutes": t["estimate_minutes"], "score": t["score"], "scale": 5}
        tally.add(visit(row, NOW.isoformat()))
    return {key: value for key, value in tally.figures().items() if key in FIGURES}


@pytest.fixture(scope="module")
def history() -> list[dict[str, Any]]:
    return made_up_history()


@pytest.fixture
def city(city_dsn: str, history: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Iterator[City]:
    from argon2 import PasswordHasher

    monkeypatch.setattr("city.accounts._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with psycopg.connect(city_dsn) as conn:
        store(conn, history)
    found = City(city_dsn, lambda: NOW, pool_size=2)
    try:
        yield found
    finally:
        found.close()


def test_the_figures_are_the_hubs_per_center_district_and_service(city: City, history: list[dict[str, Any]]) -> None:
    first, last = DAYS[0], DAYS[-1]
    by_center = make_report(city, first, last, "center")
    assert [r["center"] for r in by_center["rows"]] == sorted(CENTERS)
    for row in by_center["rows"]:
        mine = [t for t in history if t["center"] == row["center"]]
        assert {k: row[k] for k in FIGURES} == hub_figures(mine), row["center"]
        assert row["name"] == f"МФЦ {row['center']}"
    assert by_center["total"] == hub_figures(history)
    # The figures cover every kind of ticket, or the comparison proves little.
    total = by_center["total"]
    assert all(total[k] > 0 for k in ("served", "no_show", "cancelled", "waiting", "expired", "walk_in",
                                      "awaiting_event", "estimated", "rated"))
    by_district = make_report(city, first, last, "district")
    assert {r["district"]: {k: r[k] for k in FIGURES} for r in by_district["rows"]} == {
        district: hub_figures([t for t in history if CENTERS[t["center"]][0] == district])
        for district in ("ЦАО", "УрФО")}
    by_service = make_report(city, DAYS[1], DAYS[2], "service", district="ЦАО")
    for row in by_service["rows"]:
        mine = [t for t in history if t["service"] == row["service"] and CENTERS[t["center"]][0] == "ЦАО"
                and DAYS[1] <= t["day"] <= DAYS[2]]
        assert {k: row[k] for k in FIGURES} == hub_figures(mine), row["service"]


def test_a_series_by_week_clipped_to_the_range(city: City, history: list[dict[str, Any]]) -> None:
    found = make_report(city, DAYS[0], DAYS[-1], "district", every="week")
    # Sunday the 22nd closes one week; Monday the 23rd opens the next, clipped at the 26th.
    assert [(p["from"], p["to"]) for p in found["periods"]] == [("2026-11-22", "2026-11-22"),
                                                               ("2026-11-23", "2026-11-26")]
    assert [(r["from"], r["district"]) for r in found["rows"]] == [
        ("2026-11-22", "УрФО"), ("2026-11-22", "ЦАО"), ("2026-11-23", "УрФО"), ("2026-11-23", "ЦАО")]
    second = [t for t in history if t["day"] >= DAYS[1]]
    assert {k: found["periods"][1][k] for k in FIGURES} == hub_figures(second)
    daily = make_report(city, DAYS[0], DAYS[-1], "center", every="day", district="УрФО")
    assert {r["center"] for r in daily["rows"]} == {"ural"} and len(daily["periods"]) == 4
    empty = make_report(city, date(2025, 1, 1), date(2025, 1, 31), "center")
    assert empty["rows"] == [] and empty["total"]["issued"] == 0 and empty["total"]["mean_wait_minutes"] is None
    nowhere = make_report(city, DAYS[0], DAYS[-1], "center", district="нет такого")
    assert nowhere["rows"] == []
    for bad in (lambda: make_report(city, DAYS[1], DAYS[0]), lambda: make_report(city, DAYS[0], DAYS[1], "window"),
                lambda: make_report(city, date(2024, 1, 1), date(2025, 6, 1))):
        with pytest.raises(ReportError):
            bad()


def test_exports_over_http_and_the_command_line(city: City, city_dsn: str, tmp_path, capsys) -> None:
    from openpyxl import load_workbook

    from mfc_edge.cli import main

    Accounts(city).add("petrova", "Петрова", PASSWORD, "viewer")
    with CityThread(city) as server:
        s = requests.Session()
        s.post(f"{server.url}/dashboard/api/sign-in", json={"login": "petrova", "password": PASSWORD}, timeout=30)
        base = f"{server.url}/dashboard/api/report?from=2026-11-22&to=2026-11-26&by=center"
        as_json = s.get(base, timeout=30).json()
        assert as_json["total"]["issued"] == len(make_up := made_up_history()) and len(as_json["rows"]) == 3
        reply = s.get(base + "&format=csv&every=week", timeout=30)
        assert reply.headers["content-type"].startswith("text/csv")
        assert "city-report-city-2026-11-22-2026-11-26-center-week.csv" in reply.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["Период / Period", "Центр / Center", "Выдано / Issued"]
        assert rows[-1][1] == "всего / total" and int(rows[-1][2]) == len(make_up)
        reply = s.get(base + "&format=xlsx&district=ЦАО", timeout=30)
        sheet = load_workbook(io.BytesIO(reply.content)).active
        cells = [[c.value for c in row] for row in sheet.iter_rows()]
        assert cells[0][0].startswith("ЦАО 2026-11-22..2026-11-26") and cells[1][0] == "Центр / Center"
        assert cells[2][0] == "МФЦ arbat (arbat)" and cells[-1][0] == "всего / total"
        assert "filename=\"city-report-district-" in reply.headers["content-disposition"]  # no Cyrillic in a header
        for bad in ("from=2026-11-26&to=2026-11-22", "from=2026-13-01&to=2026-11-22", "from=x&to=y", "from=2026-11-01"
                    "&to=2026-11-02&by=window", "from=2026-11-01&to=2026-11-02&format=pdf"):
            reply = s.get(f"{server.url}/dashboard/api/report?{bad}", timeout=30)
            assert reply.status_code == 422, bad
        assert requests.get(base, timeout=30).status_code == 401

    out = tmp_path / "report.xlsx"
    assert main(["city", "report", "--from", "2026-11-22", "--to", "2026-11-26", "--by", "district", "--format", "xlsx",
                 "--out", str(out), "--dsn", city_dsn]) == 0
    assert load_workbook(out).active.cell(3, 1).value in ("УрФО", "ЦАО")
    capsys.readouterr()
    assert main(["city", "report", "--from", "2026-11-22", "--to", "2026-11-26", "--by", "service", "--district", "ЦАО",
                 "--dsn", city_dsn]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["district"] == "ЦАО" and {r["service"] for r in printed["rows"]} == {"passport", "tax", "snils"}
    assert main(["city", "report", "--from", "2026-11-26", "--to", "2026-11-01", "--dsn", city_dsn]) != 0
    assert "before it begins" in capsys.readouterr().err
    assert main(["city", "report", "--from", "yesterday", "--to", "2026-11-01", "--dsn", city_dsn]) != 0
    assert main(["city", "report", "--from", "2026-11-01", "--to", "2026-11-02", "--format", "xlsx",
                 "--dsn", city_dsn]) != 0
