"""Proof of play (hub/report_plays.py) from hand-made `slide.played` events: plays, seconds, first
and last per screen and item over the center's service days; CSV and XLSX read back; the
command and the supervisor's route."""
from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, timedelta

import openpyxl
import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.db import iso
from hub.report_plays import PLAYS_QUERY, plays, plays_csv, plays_xlsx
from hub.server import HubThread
from mfc_edge.cli import main
from tests.helpers.day import TEST_DAY, at

CENTER = "strogino"
D, D1 = TEST_DAY.isoformat(), (TEST_DAY + timedelta(days=1)).isoformat()
PASSWORD = "correct horse 42"
_ids = itertools.count(1)


def played(hub: Hub, device: str, item: int, started: str, seconds: float, *, asset: str | None = "promo.png",
           bundle: str | None = "2026.11.1", kind: str = "image", center: str = CENTER,
           event_type: str = "slide.played") -> None:
    body = {"item": item, "kind": kind, "asset": asset, "bundle": bundle, "started_at": started, "duration_s": seconds}
    if event_type == "slide.skipped":
        body = {"item": item, "kind": kind, "asset": asset, "bundle": bundle, "reason": "missing", "detail": ""}
    with hub.db.transaction() as d:
        d["events"].insert({"id": f"e-{next(_ids)}", "center": center, "device": device, "type": event_type,
                            "at": started, "body": json.dumps(body), "received_at": started})


def hand_made(hub: Hub) -> None:
    # Screen 1, item 0: three plays on the test day, one of them stated in UTC at 00:30 Moscow time.
    played(hub, "screen-1", 0, iso(at(0, 30).astimezone(UTC)), 10)
    played(hub, "screen-1", 0, at(12, 0).isoformat(), 10.5)
    played(hub, "screen-1", 0, at(18, 0, days=1).isoformat(), 9.5)  # the next day's
    played(hub, "screen-1", 1, at(12, 0, 10).isoformat(), 20, asset=None, kind="queue")  # a drawn slide
    played(hub, "screen-2", 0, at(13, 0).isoformat(), 10)
    played(hub, "screen-2", -1, at(14, 0).isoformat(), 30, asset=None, bundle=None, kind="fallback")
    # Not counted: the day before (23:59 Moscow), the day after the range, a skipped slide, another center.
    played(hub, "screen-1", 0, at(23, 59, days=-1).isoformat(), 10)
    played(hub, "screen-1", 0, at(0, 0, days=2).isoformat(), 10)
    played(hub, "screen-1", 0, at(12, 5).isoformat(), 10, event_type="slide.skipped")
    played(hub, "screen-9", 0, at(12, 0).isoformat(), 10, center="other")


@pytest.fixture
def hub(tmp_path):
    found = Hub(tmp_path / "hub", clock=ManualClock(at(10, 30, days=2)))
    hand_made(found)
    yield found
    found.close()


def test_plays_per_screen_and_item_equal_the_hand_counted(hub):
    found = plays(hub.db, hub.centers, CENTER, TEST_DAY, TEST_DAY + timedelta(days=1))
    assert found["rows"] == [
        {"screen": "screen-1", "bundle": "2026.11.1", "item": 0, "kind": "image", "asset": "promo.png", "plays": 3,
         "seconds": 30.0, "first": at(0, 30).isoformat(), "last": at(18, 0, days=1).isoformat()},
        {"screen": "screen-1", "bundle": "2026.11.1", "item": 1, "kind": "queue", "asset": "", "plays": 1,
         "seconds": 20.0, "first": at(12, 0, 10).isoformat(), "last": at(12, 0, 10).isoformat()},
        {"screen": "screen-2", "bundle": "", "item": -1, "kind": "fallback", "asset": "", "plays": 1,
         "seconds": 30.0, "first": at(14, 0).isoformat(), "last": at(14, 0).isoformat()},
        {"screen": "screen-2", "bundle": "2026.11.1", "item": 0, "kind": "image", "asset": "promo.png", "plays": 1,
         "seconds": 10.0, "first": at(13, 0).isoformat(), "last": at(13, 0).isoformat()}]
    assert found["total"] == {"plays": 6, "seconds": 90.0}
    one_day = plays(hub.db, hub.centers, CENTER, TEST_DAY, TEST_DAY)
    assert one_day["rows"][0]["plays"] == 2 and one_day["total"] == {"plays": 5, "seconds": 80.5}


def test_a_report_reads_its_span_of_plays_down_their_index(hub):
    plan = " ".join(row[3] for row in hub.db.db.execute(f"EXPLAIN QUERY PLAN {PLAYS_QUERY}", [CENTER, D, D1]))
    assert "USING INDEX idx_events_plays" in plan, plan


def test_plays_csv_and_xlsx_read_back(hub):
    found = plays(hub.db, hub.centers, CENTER, TEST_DAY, TEST_DAY + timedelta(days=1))
    rows = list(csv.reader(io.StringIO(plays_csv(found).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Экран / Screen", "Выпуск / Bundle", "Позиция / Item"]
    assert rows[1][:7] == ["screen-1", "2026.11.1", "0", "image", "promo.png", "3", "30.0"]
    assert rows[-1][:7] == ["всего / total", "", "", "", "", "6", "90.0"]
    cells = [list(r) for r in openpyxl.load_workbook(io.BytesIO(plays_xlsx(found))).active.iter_rows(values_only=True)]
    assert cells[0][0].startswith(f"{CENTER} {D}..{D1} proof of play")
    assert cells[2][:7] == ["screen-1", "2026.11.1", 0, "image", "promo.png", 3, 30]
    assert cells[-1][5:7] == [6, 90]


def test_the_command_writes_plays(hub, tmp_path, capsys):
    hub.close()
    base = ["hub", "report", "--kind", "plays", "--data", str(tmp_path / "hub"), "--center", CENTER,
            "--from", D, "--to", D1]
    assert main(base) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == ["screen-1", "screen-1", "screen-2", "screen-2", "всего / total"]
    out = tmp_path / "plays.xlsx"
    assert main([*base, "--format", "xlsx", "--out", str(out)]) == 0
    assert "6 plays of strogino" in capsys.readouterr().err
    assert openpyxl.load_workbook(out).active["F3"].value == 3
    assert main([*base[:-2], "--to", "2026-11-01"]) != 0
    err = capsys.readouterr().err.strip()
    assert "the period ends (2026-11-01) before it begins" in err and "\n" not in err


def test_the_route_gives_a_supervisor_the_plays_of_their_center(tmp_path):
    hub = Hub(tmp_path / "hub", clock=ManualClock(at(10, 30, days=2)))
    hub.operators.add(CENTER, "smirnova", "Smirnova", PASSWORD, "supervisor")
    hub.operators.add(CENTER, "ivanova", "Ivanova", PASSWORD, "operator")
    hand_made(hub)
    try:
        with HubThread(hub) as server:
            url = f"{server.url}/console/api/plays"
            asked = {"from": D, "to": D1}
            assert requests.get(url, params=asked, timeout=10).status_code == 401
            sessions = {}
            for login in ("smirnova", "ivanova"):
                sessions[login] = requests.Session()
                reply = sessions[login].post(f"{server.url}/console/api/sign-in", timeout=10,
                                             json={"center": CENTER, "login": login, "password": PASSWORD})
                assert reply.status_code == 200, reply.text
            assert sessions["ivanova"].get(url, params=asked, timeout=10).status_code == 403
            mine = sessions["smirnova"]
            assert mine.get(url, params=asked, timeout=10).json()["total"] == {"plays": 6, "seconds": 90.0}
            xlsx = mine.get(url, params={**asked, "format": "xlsx"}, timeout=10)
            assert xlsx.headers["content-disposition"] == f'attachment; filename="plays-{CENTER}-{D}-{D1}.xlsx"'
            assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).active["F3"].value == 3
            bad = mine.get(url, params={"from": D}, timeout=10)
            assert bad.status_code == 422 and "give from and to" in bad.json()["detail"]
    finally:
        hub.close()
