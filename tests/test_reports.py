"""Reports (hub/reports.py): the figures of hand-made histories equal the values computed by
hand below; the same figures from the real queue's own history; CSV and XLSX read back; the
command's bad input in one line; the console route for supervisors of their own center only."""
from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, date, timedelta

import openpyxl
import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.db import iso
from hub.report_export import to_csv, to_xlsx
from hub.reports import NOT_CALLED, TOTAL, ReportError, Reports, period
from hub.server import HubThread
from mfc_edge.cli import main
from tests.helpers.day import TEST_DAY, at

CENTER = "strogino"
D, D1 = TEST_DAY.isoformat(), (TEST_DAY + timedelta(days=1)).isoformat()
PASSWORD = "correct horse 42"
_serial = itertools.count(1)


def t(hour: int, minute: int, days: int = 0) -> str:
    """A Moscow time of the test day (or `days` later) as the hub stores it."""
    return iso(at(hour, minute, days=days).astimezone(UTC))


def visit(hub: Hub, tid: str, service: str, issued: str, history: list[tuple[str, str, str | None]], *,
          day: str = D, slot: str = "", priority: int = 0, rating: tuple[int, int] | None = None,
          center: str = CENTER) -> None:
    """A ticket and its history, as the queue writes them: `history` is (state, at, window);
    the ticket's row ends as the last entry left it (a transfer moves it to `to:SERVICE`)."""
    n = next(_serial)
    row = {"id": tid, "center": center, "device": "kiosk-1", "number": f"П{n:03d}", "service": service, "day": day,
           "priority": priority, "issued_at": issued, "status_token": f"token-{n:04d}-abcdefghijklmnop",
           "state": "waiting", "window": None, "called_at": None, "started_at": None, "finished_at": None,
           "booking": "b-" + tid if slot else "", "slot_at": slot}
    rows = []
    for state, moment, window in history:
        if state.startswith("to:"):
            rows.append(("transferred", moment, window, f"{row['service']} -> {state[3:]}"))
            row.update(service=state[3:], state="waiting", window=None, called_at=None, started_at=None)
            state = "waiting"
        elif state == "called":
            row.update(state=state, window=window, called_at=moment)
        elif state == "serving":
            row.update(state=state, started_at=moment)
        elif state == "done":
            row.update(state=state, finished_at=moment, started_at=row["started_at"] or row["called_at"])
        else:  # no_show, cancelled, expired
            row.update(state=state, finished_at=moment if state != "expired" else None)
        rows.append((state, moment, window, ""))
    with hub.db.transaction() as d:
        d["tickets"].insert(row)
        d["ticket_history"].insert_all([{"ticket": tid, "center": center, "state": s, "at": m, "window": w,
                                         "detail": detail} for s, m, w, detail in rows])
        if rating:
            d["ratings"].insert({"event": "r-" + tid, "center": center, "device": "console-1", "window": row["window"],
                                 "ticket": tid, "score": rating[0], "scale": rating[1], "day": day, "at": moment})


@pytest.fixture
def hub(tmp_path):
    found = Hub(tmp_path / "hub", clock=ManualClock(at(10, 30, days=1)))  # the report is made then
    yield found
    found.close()


def hand_made(hub: Hub) -> None:
    """Two service days: every way a visit ends. The wait and its reason beside each."""
    visit(hub, "a", "passport-rf", t(10, 0), [("called", t(10, 5), "1"), ("serving", t(10, 6), "1"),
                                              ("done", t(10, 16), "1")], rating=(5, 5))  # wait 5, service 10
    visit(hub, "b", "passport-rf", t(10, 0), [("called", t(10, 20), "1"), ("no_show", t(10, 22), "1")])  # 20
    visit(hub, "c", "adult-snils", t(10, 10), [("called", t(10, 12), "2"), ("done", t(10, 20), "2")],
          priority=1, rating=(2, 5))  # wait 2, service 8 (from the call: no "serving")
    # Transferred at window 2, served at window 1 in the other service: wait 10 (to the first call), service 10.
    visit(hub, "d", "passport-rf", t(10, 0), [("called", t(10, 10), "2"), ("to:adult-snils", t(10, 15), "2"),
                                              ("called", t(10, 40), "1"), ("serving", t(10, 41), "1"),
                                              ("done", t(10, 51), "1")])
    # Booked for 11:00, checked in early at 10:45: the wait runs from the slot, 3; service 5.
    visit(hub, "e", "adult-snils", t(10, 45), [("called", t(11, 3), "2"), ("done", t(11, 8), "2")], slot=t(11, 0))
    # Booked for 11:00, checked in late at 11:10: the wait runs from the check-in, 21; service 10.
    visit(hub, "f", "passport-rf", t(11, 10), [("called", t(11, 31), "1"), ("done", t(11, 41), "1")],
          slot=t(11, 0))
    # Booked for 12:00 and called early, at 11:45: wait 0; service 5.
    visit(hub, "k", "passport-rf", t(11, 40), [("called", t(11, 45), "1"), ("done", t(11, 50), "1")],
          slot=t(12, 0))
    visit(hub, "g", "passport-rf", t(10, 30), [("cancelled", t(10, 50), None)])  # gave up after 20
    visit(hub, "h", "passport-rf", t(19, 0), [("expired", t(0, 1, days=1), None)])  # never called: 301
    visit(hub, "i", "adult-snils", t(10, 20, days=1), [], day=D1)  # still waiting: 10 so far
    visit(hub, "j", "adult-snils", t(10, 0, days=1), [], day=D1)  # still waiting: 30 so far
    visit(hub, "x", "passport-rf", t(10, 0), [("called", t(10, 40), "1")], center="other")  # not this center's
    with hub.db.transaction() as d:  # a rating the hub could not attach to a ticket counts nowhere
        d["ratings"].insert({"event": "r-none", "center": CENTER, "device": "console-1", "window": "1",
                             "ticket": None, "score": 1, "scale": 5, "day": D, "at": t(12, 0)})


def figures(issued, served, no_show, cancelled, waiting, expired, mean_wait, p90_wait, over, service, rated, happy,
            **visit_model):
    """The figures of a group; those of the visit model (walk-ins, holds, outcomes, estimates) are
    none unless given."""
    return {"issued": issued, "walk_in": 0, "served": served, "no_show": no_show, "cancelled": cancelled,
            "waiting": waiting, "expired": expired, "held": 0, "awaiting_event": 0, "mean_wait_minutes": mean_wait,
            "p90_wait_minutes": p90_wait, "over_15_share": over, "mean_service_minutes": service,
            "outcome_done": 0, "outcome_documents_missing": 0, "outcome_refused": 0, "outcome_consultation": 0,
            "estimated": 0, "estimate_error_minutes": None, "estimate_within_5_share": None,
            "rated": rated, "happy_share": happy, **visit_model}


# Passport: a b f k g h. Called: waits 5 20 21 0 → mean 11.5, 90th 21 (4th of 4). Over 15: b f g h, 4 of 6.
# Snils: c d e i j. Called: 2 10 3 → mean 5.0, 90th 10 (3rd of 3). Over 15: j, 1 of 5.
# Total: waits 5 20 21 0 2 10 3 → 61/7 = 8.7, 90th the 7th of 7: 21. Over: 5 of 11. Service 10 10 5 8 10 5 → 8.0.
TOTAL_FIGURES = figures(11, 6, 1, 1, 2, 1, 8.7, 21.0, 0.455, 8.0, 2, 0.5)


def test_figures_by_service_equal_the_hand_computed(hub):
    hand_made(hub)
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY + timedelta(days=1), "service")
    assert found["made_at"] == t(10, 30, days=1)
    assert found["rows"] == [
        {"service": "adult-snils", **figures(5, 3, 0, 0, 2, 0, 5.0, 10.0, 0.2, 7.7, 1, 0.0)},
        {"service": "passport-rf", **figures(6, 3, 1, 1, 0, 1, 11.5, 21.0, 0.667, 8.3, 1, 1.0)}]
    assert found["total"] == TOTAL_FIGURES


def test_figures_by_window_group_the_visitors_never_called_apart(hub):
    hand_made(hub)
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY + timedelta(days=1), "window")
    # Window 1: a b d f k (d was last called there). Waits 5 20 10 21 0 → 11.2; service 10 10 10 5 → 8.75.
    assert found["rows"] == [
        {"window": "1", **figures(5, 4, 1, 0, 0, 0, 11.2, 21.0, 0.4, 8.8, 1, 1.0)},
        {"window": "2", **figures(2, 2, 0, 0, 0, 0, 2.5, 3.0, 0.0, 6.5, 1, 0.0)},
        {"window": NOT_CALLED, **figures(4, 0, 0, 1, 2, 1, None, None, 0.75, None, 0, None)}]
    assert found["total"] == TOTAL_FIGURES


def test_a_period_counts_its_own_service_days_only(hub):
    hand_made(hub)
    reports = Reports(hub.db, hub.centers)
    second = reports.report(CENTER, TEST_DAY + timedelta(days=1), TEST_DAY + timedelta(days=1), "service")
    assert [r["service"] for r in second["rows"]] == ["adult-snils"]
    assert second["total"]["issued"] == 2 and second["total"]["over_15_share"] == 0.5
    assert reports.report("nowhere", TEST_DAY, TEST_DAY, "service")["total"]["issued"] == 0


def test_periods_and_bad_ones():
    assert period("day", TEST_DAY) == (TEST_DAY, TEST_DAY)
    assert period("week", date(2026, 11, 26)) == (date(2026, 11, 23), date(2026, 11, 29))
    assert period("month", date(2026, 2, 10)) == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(ReportError, match="period 'year'"):
        period("year", TEST_DAY)


def test_the_real_queues_history_gives_the_same_figures(tmp_path):
    clock = ManualClock(at(10, 0))
    hub = Hub(tmp_path / "hub", clock=clock)
    try:
        with hub.db.transaction() as d:
            for n, minute in enumerate((0, 1, 2, 3), start=1):
                d["tickets"].insert({"id": f"q{n}", "center": CENTER, "device": "kiosk-1", "number": f"П{n:03d}",
                                     "service": "passport-rf", "day": D, "priority": 0, "issued_at": t(10, minute),
                                     "status_token": f"token-{n:04d}-abcdefghijklmnop", "state": "waiting"})
        queue = hub.queue
        clock.advance(minutes=6)
        assert queue.call_next(CENTER, "1", ["passport-rf"])["id"] == "q1"  # 10:06: waited 6
        queue.start(CENTER, "1")
        clock.advance(minutes=4)
        queue.finish(CENTER, "1")  # served 4
        assert queue.call_next(CENTER, "1", ["passport-rf"])["id"] == "q2"  # 10:10: waited 9
        clock.advance(minutes=2)
        queue.transfer(CENTER, "1", "adult-snils")
        clock.advance(minutes=1)
        queue.cancel("token-0003-abcdefghijklmnop")  # 10:13: gave up after 11
        clock.advance(minutes=7)
        assert queue.call_next(CENTER, "2", ["adult-snils"])["id"] == "q2"  # 10:20
        clock.advance(minutes=5)
        queue.finish(CENTER, "2")  # served 5, from the call
        clock.set(at(0, 5, days=1))
        assert queue.close_past_days(CENTER) == 1  # q4 never called
        found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY, "service")
    finally:
        hub.close()
    # Each finished visit's service gets its outcome, "done" when the operator gives none.
    assert found["total"] == figures(4, 2, 0, 1, 0, 1, 7.5, 9.0, 0.25, 4.5, 0, None, outcome_done=2)
    assert [(r["service"], r["issued"]) for r in found["rows"]] == [("adult-snils", 1), ("passport-rf", 3)]


def test_csv_and_xlsx_read_back(hub):
    hand_made(hub)
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY + timedelta(days=1), "window")
    rows = list(csv.reader(io.StringIO(to_csv(found).decode("utf-8-sig"))))
    header = rows[0]
    assert header[:4] == ["Окно / Window", "Выдано / Issued", "Без талона / Walk-ins", "Обслужено / Served"]
    wait, over, happy = (header.index(c) for c in ("Среднее ожидание, мин / Mean wait, min",
                                                   "Доля ждавших > 15 мин / Share waited > 15 min",
                                                   "Доля довольных / Happy share"))
    assert rows[1][:4] == ["1", "5", "0", "4"] and rows[3][0] == NOT_CALLED and rows[3][wait] == ""  # no wait: empty
    assert rows[-1][0] == TOTAL and rows[-1][1:5] == ["11", "0", "6", "1"] and rows[-1][over] == "0.455"

    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(found))).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0][0].startswith(f"{CENTER} {D}..{D1}")
    assert cells[1][:2] == ["Окно / Window", "Выдано / Issued"] and cells[1] == header
    assert cells[2][:4] == ["1", 5, 0, 4] and cells[2][wait] == 11.2
    assert cells[-1][0] == TOTAL and cells[-1][over] == 0.455 and cells[-1][happy] == 0.5


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2026-13-01", "--to", "2026-11-30"], "--from '2026-13-01': give a date as YYYY-MM-DD"),
    (["--from", "2026-11-30", "--to", "2026-11-01"], "the period ends (2026-11-01) before it begins (2026-11-30)"),
    (["--from", "2024-01-01", "--to", "2026-01-01"], "a report covers at most 366 days"),
    (["--from", "2026-11-01", "--to", "2026-11-30", "--center", "../x"], "--center"),
])
def test_the_command_refuses_bad_input_in_one_line(tmp_path, capsys, args, message):
    base = ["hub", "report", "--data", str(tmp_path), "--center", CENTER]
    assert main([*base, *args]) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_the_command_writes_csv_and_xlsx(tmp_path, capsys):
    hub = Hub(tmp_path / "hub", clock=ManualClock(at(10, 30, days=1)))
    hand_made(hub)
    hub.close()
    out = tmp_path / "r.xlsx"
    base = ["hub", "report", "--data", str(tmp_path / "hub"), "--center", CENTER, "--from", D, "--to", D1]
    assert main([*base, "--by", "window", "--format", "xlsx", "--out", str(out)]) == 0
    sheet = openpyxl.load_workbook(out).active
    assert [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)] == ["1", "2", NOT_CALLED, TOTAL]
    capsys.readouterr()
    assert main(base) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == ["adult-snils", "passport-rf", TOTAL]
    assert main([*base[:3], str(tmp_path / "none"), *base[4:]]) != 0
    assert "no hub data folder" in capsys.readouterr().err


@pytest.fixture
def served(tmp_path):
    hub = Hub(tmp_path / "hub", clock=ManualClock(at(10, 30, days=1)))
    for center, login, role in ((CENTER, "ivanova", "operator"), (CENTER, "smirnova", "supervisor"),
                                ("other", "orlova", "supervisor")):
        hub.operators.add(center, login, login.title(), PASSWORD, role)
    hand_made(hub)
    body = {"item": 0, "kind": "image", "asset": "promo.png", "bundle": "2026.11.1", "started_at": t(12, 0),
            "duration_s": 10}
    with hub.db.transaction() as d:  # one play of a screen, for the proof-of-play download
        d["events"].insert({"id": "play-1", "center": CENTER, "device": "screen-1", "type": "slide.played",
                            "at": t(12, 0), "body": json.dumps(body), "received_at": t(12, 0)})
    with HubThread(hub) as server:
        yield server.url
    hub.close()


def signed_in(url: str, center: str, login: str) -> requests.Session:
    session = requests.Session()
    reply = session.post(f"{url}/console/api/sign-in", json={"center": center, "login": login, "password": PASSWORD},
                         timeout=10)
    assert reply.status_code == 200, reply.text
    return session


def test_the_route_is_for_supervisors_of_their_own_center(served):
    url = f"{served}/console/api/report"
    asked = {"from": D, "to": D1, "by": "service"}
    assert requests.get(url, params=asked, timeout=10).status_code == 401
    assert signed_in(served, CENTER, "ivanova").get(url, params=asked, timeout=10).status_code == 403
    mine = signed_in(served, CENTER, "smirnova")
    assert mine.get(url, params=asked, timeout=10).json()["total"] == TOTAL_FIGURES
    # Another center's supervisor sees their own center's figures, never these; no parameter names a center.
    other = signed_in(served, "other", "orlova").get(url, params={**asked, "center": CENTER}, timeout=10).json()
    assert other["center"] == "other" and other["total"]["issued"] == 1

    week = mine.get(url, params={"period": "week", "on": D, "by": "window"}, timeout=10).json()
    assert (week["from"], week["to"]) == (D, (TEST_DAY + timedelta(days=6)).isoformat())
    assert week["total"]["issued"] == 11

    xlsx = mine.get(url, params={**asked, "format": "xlsx"}, timeout=10)
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).active["B3"].value == 5
    text = mine.get(url, params={**asked, "format": "csv"}, timeout=10)
    assert text.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))[-1][:2] == [TOTAL, "11"]

    for bad, why in (({"from": D}, "give from and to"), ({**asked, "by": "team"}, "by 'team'"),
                     ({"from": "x", "to": D}, "from 'x'"), ({"period": "week"}, "on ''")):
        reply = mine.get(url, params=bad, timeout=10)
        assert reply.status_code == 422 and why in reply.json()["detail"], (bad, reply.text)


@pytest.mark.browser
@pytest.mark.slow
def test_the_console_shows_the_report_with_its_chart_and_downloads(served):
    playwright = pytest.importorskip("playwright.sync_api")
    from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, sign_in

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, timezone_id="Europe/Moscow",
                                accept_downloads=True)
        refused: list[str] = []  # what the hub's Content-Security-Policy stopped: nothing the page needs
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        sign_in(page, served, "smirnova", "Smirnova")
        page.wait_for_selector("#reports:not(.hidden)")
        page.wait_for_selector("#report-rows tr:has-text('Всего')")  # this month's, shown at first
        page.fill("#report-from", D)
        page.fill("#report-to", D1)
        page.select_option("#report-by", "window")
        page.click("#report-show")
        page.wait_for_selector("#report-rows tr:has-text('окно 2')")
        rows = page.eval_on_selector_all("#report-rows tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
        assert rows[0] == ["окно 1", "5", "0", "4", "1", "0", "0", "11,2 мин", "21 мин", "40 %", "8,8 мин",
                           "0\u00a0·\u00a00\u00a0·\u00a00\u00a0·\u00a00", "—", "—", "100 %"]
        assert rows[2][:7] == ["не вызваны", "4", "0", "0", "0", "1", "2"] and rows[2][9] == "75 %"
        assert rows[3][0] == "Всего" and rows[3][9] == "46 %"
        heads = page.eval_on_selector_all("#reports thead th", "cells => cells.map(c => c.textContent)")
        assert heads[:2] == ["Окно", "Выдано"] and len(heads) == len(rows[0])
        widths = page.eval_on_selector_all("#report-chart .fill", "bars => bars.map(b => b.style.width)")
        assert widths == ["40%", "0%", "75%", "46%"]
        # A series of days by operator: a row per day and operator, and the chart a bar per day.
        page.select_option("#report-by", "operator")
        page.select_option("#report-every", "day")
        page.click("#report-show")
        page.wait_for_selector("#report-rows tr:has-text('весь период')")
        rows = page.eval_on_selector_all("#report-rows tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
        assert [r[:3] for r in rows] == [["23.11", "оператор не записан", "7"], ["23.11", "не вызваны", "2"],
                                         ["24.11", "не вызваны", "2"], ["23.11", "Всего", "9"],
                                         ["24.11", "Всего", "2"], ["весь период", "Всего", "11"]]
        bars = page.eval_on_selector_all("#report-chart .report-bar > span:first-child", "s => s.map(e => e.textContent)")
        assert bars == ["23.11", "24.11", "Всего"]
        with page.expect_download() as download:
            page.click("#report-csv")
        assert download.value.suggested_filename == f"report-{CENTER}-{D}-{D1}-operator-day.csv"
        with page.expect_download() as download:
            page.click("#plays-xlsx")
        assert download.value.suggested_filename == f"plays-{CENTER}-{D}-{D1}.xlsx"
        with open(download.value.path(), "rb") as f:
            sheet = openpyxl.load_workbook(io.BytesIO(f.read())).active
        assert [row[:6] for row in sheet.iter_rows(min_row=3, max_row=3, values_only=True)] == [
            ("screen-1", "2026.11.1", 0, "image", "promo.png", 1)]
        page.select_option("#report-by", "window")
        page.select_option("#report-every", "")
        page.click("#report-show")
        page.wait_for_selector("#report-rows tr:has-text('окно 2')")
        with page.expect_download() as download:
            page.click("#report-xlsx")
        assert download.value.suggested_filename == f"report-{CENTER}-{D}-{D1}-window.xlsx"
        with open(download.value.path(), "rb") as f:
            sheet = openpyxl.load_workbook(io.BytesIO(f.read())).active
        assert [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)] == ["1", "2", NOT_CALLED, TOTAL]
        assert not refused, refused
        browser.close()
