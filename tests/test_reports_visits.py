"""Reports (hub/reports.py) of the whole visit model: holds, walk-ins, transfers, several
services in one visit, tickets called before their kiosk's event, the operators who served, the
printed estimates, and series of days and weeks. Hand-made histories, as the queue writes them;
every figure asserted is computed by hand beside it."""
from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta
from typing import Any

import openpyxl
import pytest

from hardware.clock import ManualClock
from hub.api import Hub
from hub.db import iso
from hub.identity import Device
from hub.report_export import to_csv, to_xlsx
from hub.reports import NO_OPERATOR, NOT_CALLED, TOTAL, Reports
from mfc_edge import protocol
from mfc_edge.cli import main
from tests.helpers.day import TEST_DAY, at

CENTER = "strogino"
D, D1 = TEST_DAY.isoformat(), (TEST_DAY + timedelta(days=1)).isoformat()
PASSWORD = "correct horse 42"


def t(hour: int, minute: int, days: int = 0) -> str:
    return iso(at(hour, minute, days=days).astimezone(UTC))


def visit(hub: Hub, tid: str, service: str, issued: str, steps: list[tuple[str, str, str | None, str]],
          final: dict[str, Any], *, day: str = D, services: tuple[tuple[str, str], ...] = (),
          rating: int | None = None) -> None:
    """A ticket whose row ends as `final` says, its history `steps` (state, at, window, operator)
    and the outcomes of its visit's services (service, outcome), written at its finish."""
    row = {"id": tid, "center": CENTER, "device": "kiosk-1", "number": f"П{ord(tid):03d}", "service": service,
           "day": day, "priority": 0, "issued_at": issued, "status_token": f"token-{tid}-abcdefghijklmnop",
           "state": "waiting", "window": None, "called_at": None, "started_at": None, "finished_at": None,
           "booking": "", "slot_at": "", "operator": "", "walk_in": 0, "awaiting_event": 0,
           "estimate_minutes": None, **final}
    with hub.db.transaction() as d:
        d["tickets"].insert(row)
        d["ticket_history"].insert_all([{"ticket": tid, "center": CENTER, "state": s, "at": m, "window": w,
                                         "operator": o, "detail": ""} for s, m, w, o in steps])
        d["visit_services"].insert_all([{"ticket": tid, "center": CENTER, "service": s, "outcome": outcome,
                                         "window": row["window"], "operator": row["operator"],
                                         "at": row["finished_at"]} for s, outcome in services])
        if rating:
            d["ratings"].insert({"event": "r-" + tid, "center": CENTER, "device": "console-1", "window": row["window"],
                                 "ticket": tid, "score": rating, "scale": 5, "day": day, "at": row["finished_at"]})


@pytest.fixture
def hub(tmp_path):
    found = Hub(tmp_path / "hub", clock=ManualClock(at(10, 30, days=1)))  # the report is made then
    for login, name in (("ivanova", "Иванова Анна"), ("petrov", "Петров Пётр")):
        found.operators.add(CENTER, login, name, PASSWORD, "operator")
    hand_made(found)
    yield found
    found.close()


def hand_made(hub: Hub) -> None:
    """Window 1 is Ivanova's, window 2 Petrov's. The wait, service time and estimate's error beside each."""
    # Held (sent to pay the fee) and brought back: one visit, wait 4 to the FIRST call; service 36, from the
    # first start to the finish, the time away included (the queue keeps the start); printed 5 → error 1.
    visit(hub, "a", "passport-rf", t(10, 0), [
        ("called", t(10, 4), "1", "ivanova"), ("serving", t(10, 5), "1", "ivanova"),
        ("held", t(10, 10), "1", "ivanova"), ("called", t(10, 30), "1", "ivanova"),
        ("serving", t(10, 31), "1", "ivanova"), ("done", t(10, 41), "1", "ivanova")],
        {"state": "done", "window": "1", "operator": "ivanova", "called_at": t(10, 30), "started_at": t(10, 5),
         "finished_at": t(10, 41), "estimate_minutes": 5}, services=(("passport-rf", "done"),), rating=5)
    # A walk-in with two services (a passport, and a consultation on SNILS): served 12, in no wait figure.
    visit(hub, "b", "passport-rf", t(11, 0), [("serving", t(11, 0), "2", "petrov"), ("done", t(11, 12), "2", "petrov")],
          {"state": "done", "window": "2", "operator": "petrov", "walk_in": 1, "called_at": t(11, 0),
           "started_at": t(11, 0), "finished_at": t(11, 12)},
          services=(("passport-rf", "done"), ("adult-snils", "consultation")))
    # Transferred by Petrov to Ivanova: one visit, wait 20 to the first call; service 10; printed 10 → error 10.
    visit(hub, "c", "adult-snils", t(10, 0), [
        ("called", t(10, 20), "2", "petrov"), ("transferred", t(10, 25), "2", "petrov"),
        ("waiting", t(10, 25), "2", "petrov"), ("called", t(10, 50), "1", "ivanova"),
        ("serving", t(10, 51), "1", "ivanova"), ("done", t(11, 1), "1", "ivanova")],
        {"state": "done", "window": "1", "operator": "ivanova", "called_at": t(10, 50), "started_at": t(10, 51),
         "finished_at": t(11, 1), "estimate_minutes": 10}, services=(("adult-snils", "documents_missing"),), rating=2)
    # Held and never brought back: expired at the day's end, but called: wait 2; printed 3 → error 1.
    visit(hub, "d", "passport-rf", t(10, 0), [
        ("called", t(10, 2), "2", "petrov"), ("held", t(10, 5), "2", "petrov"), ("expired", t(0, 1, days=1), "2", "")],
        {"state": "expired", "window": "2", "operator": "petrov", "called_at": t(10, 2), "estimate_minutes": 3})
    # Never called, expired: waited until 00:01, over 15; its estimate has no wait to compare with.
    visit(hub, "e", "passport-rf", t(10, 0), [("expired", t(0, 1, days=1), None, "")],
          {"state": "expired", "estimate_minutes": 7})
    # Called by its number before the kiosk's event came: its time of issue unknown, in no wait figure; service 6.
    visit(hub, "f", "passport-rf", t(12, 0), [("called", t(12, 0), "1", "ivanova"),
                                              ("serving", t(12, 1), "1", "ivanova"), ("done", t(12, 7), "1", "ivanova")],
          {"state": "done", "window": "1", "operator": "ivanova", "awaiting_event": 1, "called_at": t(12, 0),
           "started_at": t(12, 1), "finished_at": t(12, 7)}, services=(("passport-rf", "refused"),))
    visit(hub, "g", "adult-snils", t(10, 0), [("cancelled", t(10, 10), None, "")],  # gave up after 10
          {"state": "cancelled", "finished_at": t(10, 10)})
    visit(hub, "h", "adult-snils", t(10, 0, days=1), [], {"state": "waiting"}, day=D1)  # still waiting: 30
    # Called at window 1 before the hub kept who called: wait 2; printed 2 → error 0.
    visit(hub, "i", "passport-rf", t(10, 10, days=1), [("called", t(10, 12, days=1), "1", "")],
          {"state": "called", "window": "1", "called_at": t(10, 12, days=1), "estimate_minutes": 2}, day=D1)


def figures(issued: int, served: int, in_line_values: dict[str, Any], **rest: Any) -> dict[str, Any]:
    found = {"issued": issued, "walk_in": 0, "served": served, "no_show": 0, "cancelled": 0, "waiting": 0,
             "expired": 0, "held": 0, "awaiting_event": 0, "mean_wait_minutes": None, "p90_wait_minutes": None,
             "over_15_share": None, "mean_service_minutes": None, "outcome_done": 0,
             "outcome_documents_missing": 0, "outcome_refused": 0, "outcome_consultation": 0, "estimated": 0,
             "estimate_error_minutes": None, "estimate_within_5_share": None, "rated": 0, "happy_share": None}
    return {**found, **in_line_values, **rest}


def waits(mean: float, p90: float, over: float) -> dict[str, Any]:
    return {"mean_wait_minutes": mean, "p90_wait_minutes": p90, "over_15_share": over}


def estimates(n: int, error: float, within: float) -> dict[str, Any]:
    return {"estimated": n, "estimate_error_minutes": error, "estimate_within_5_share": within}


# In the line (not walk-ins, not awaiting): a c d e g h i. Called: a 4, c 20, d 2, i 2 → mean 7.0, 90th the
# 4th of 4: 20. Over 15: c, e (841), h (30) → 3 of 7. Service: a 36, b 12, c 10, f 6 → 16.0. Estimates: a 1,
# c 10, d 1, i 0 → 4, mean 3.0, within 5: 3 of 4. Rated a (5) c (2) → happy 1 of 2.
TOTAL_FIGURES = figures(9, 4, waits(7.0, 20.0, 0.429), walk_in=1, cancelled=1, waiting=1, expired=2, held=2,
                        awaiting_event=1, mean_service_minutes=16.0, outcome_done=2, outcome_documents_missing=1,
                        outcome_refused=1, outcome_consultation=1, **estimates(4, 3.0, 0.75), rated=2,
                        happy_share=0.5)


def test_by_service_each_outcome_in_its_own_services_row(hub):
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY + timedelta(days=1), "service")
    assert found["rows"] == [
        # c g h; the walk-in b's consultation on SNILS is counted here, the visit itself under passport.
        {"service": "adult-snils", **figures(3, 1, waits(20.0, 20.0, 0.667), cancelled=1, waiting=1,
                                             mean_service_minutes=10.0, outcome_documents_missing=1,
                                             outcome_consultation=1, **estimates(1, 10.0, 0.0), rated=1,
                                             happy_share=0.0)},
        # a b d e f i. In the line a d e i: waits 4 2 2 → 2.7, 90th the 3rd: 4; over: e, 1 of 4. Service 36 12 6.
        {"service": "passport-rf", **figures(6, 3, waits(2.7, 4.0, 0.25), walk_in=1, expired=2, held=2,
                                             awaiting_event=1, mean_service_minutes=18.0, outcome_done=2,
                                             outcome_refused=1, **estimates(3, 0.7, 1.0), rated=1, happy_share=1.0)}]
    assert found["total"] == TOTAL_FIGURES


def test_by_operator_named_from_the_centers_operators(hub):
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY + timedelta(days=1), "operator")
    assert found["rows"] == [
        # a c f: in the line a c, waits 4 20; service 36 10 6 → 17.3; estimates 1 10.
        {"operator": "ivanova", "name": "Иванова Анна",
         **figures(3, 3, waits(12.0, 20.0, 0.5), held=1, awaiting_event=1, mean_service_minutes=17.3,
                   outcome_done=1, outcome_documents_missing=1, outcome_refused=1, **estimates(2, 5.5, 0.5),
                   rated=2, happy_share=0.5)},
        # b (walk-in) d (held, expired).
        {"operator": "petrov", "name": "Петров Пётр",
         **figures(2, 1, waits(2.0, 2.0, 0.0), walk_in=1, expired=1, held=1, mean_service_minutes=12.0,
                   outcome_done=1, outcome_consultation=1, **estimates(1, 1.0, 1.0))},
        {"operator": NO_OPERATOR, "name": NO_OPERATOR, **figures(1, 0, waits(2.0, 2.0, 0.0), **estimates(1, 0.0, 1.0))},
        {"operator": NOT_CALLED, "name": NOT_CALLED,  # e g h
         **figures(3, 0, {"over_15_share": 0.667}, cancelled=1, waiting=1, expired=1)}]
    assert found["total"] == TOTAL_FIGURES


def test_by_window_a_held_visitor_stays_at_their_window(hub):
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY + timedelta(days=1), "window")
    assert [(r["window"], r["issued"], r["held"]) for r in found["rows"]] == [("1", 4, 1), ("2", 2, 1),
                                                                             (NOT_CALLED, 3, 0)]


def test_a_series_of_days_and_its_totals(hub):
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY + timedelta(days=1), "service", "day")
    assert [(r["from"], r["to"], r["service"], r["issued"]) for r in found["rows"]] == [
        (D, D, "adult-snils", 2), (D, D, "passport-rf", 5), (D1, D1, "adult-snils", 1), (D1, D1, "passport-rf", 1)]
    # The day's estimates by service: on D1 passport's only one, i, was right to the minute.
    assert found["rows"][3]["estimate_error_minutes"] == 0.0 and found["rows"][3]["estimate_within_5_share"] == 1.0
    # D: in the line a c d e g, over c e → 0.4. D1: h i, over h → 0.5.
    assert [(p["from"], p["issued"], p["over_15_share"]) for p in found["periods"]] == [(D, 7, 0.4), (D1, 2, 0.5)]
    assert found["total"] == TOTAL_FIGURES


def test_a_series_of_weeks_is_clipped_to_the_range(hub):
    sunday = TEST_DAY - timedelta(days=1)
    visit(hub, "z", "passport-rf", t(10, 0, days=-1), [("called", t(10, 1, days=-1), "2", "petrov")],
          {"state": "called", "window": "2", "operator": "petrov", "called_at": t(10, 1, days=-1)},
          day=sunday.isoformat())
    found = Reports(hub.db, hub.centers).report(CENTER, sunday, TEST_DAY + timedelta(days=1), "window", "week")
    assert [(p["from"], p["to"], p["issued"]) for p in found["periods"]] == [
        (sunday.isoformat(), sunday.isoformat(), 1), (D, D1, 9)]
    rows = list(csv.reader(io.StringIO(to_csv(found).decode("utf-8-sig"))))
    assert rows[0][:2] == ["Период / Period", "Окно / Window"]
    assert [r[:3] for r in rows[1:]] == [
        [sunday.isoformat(), "2", "1"], [f"{D}..{D1}", "1", "4"], [f"{D}..{D1}", "2", "2"],
        [f"{D}..{D1}", NOT_CALLED, "3"], [sunday.isoformat(), TOTAL, "1"], [f"{D}..{D1}", TOTAL, "9"],
        [f"{sunday.isoformat()}..{D1}", TOTAL, "10"]]


def test_xlsx_by_operator_reads_back(hub):
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY, TEST_DAY + timedelta(days=1), "operator")
    cells = [list(r) for r in openpyxl.load_workbook(io.BytesIO(to_xlsx(found))).active.iter_rows(values_only=True)]
    header = cells[1]
    assert header[0] == "Оператор / Operator"
    error, outcome = header.index("Ошибка прогноза, мин / Estimate error, min"), header.index("Отказов / Refused")
    assert [r[0] for r in cells[2:]] == ["Иванова Анна (ivanova)", "Петров Пётр (petrov)", NO_OPERATOR, NOT_CALLED,
                                         TOTAL]
    assert cells[2][error] == 5.5 and cells[2][outcome] == 1 and cells[-1][error] == 3.0


def test_the_command_by_operator_every_day(hub, tmp_path, capsys):
    hub.close()
    out = tmp_path / "r.xlsx"
    base = ["hub", "report", "--data", str(tmp_path / "hub"), "--center", CENTER, "--from", D, "--to", D1]
    assert main([*base, "--by", "operator", "--every", "day", "--format", "xlsx", "--out", str(out)]) == 0
    assert "9 tickets of strogino" in capsys.readouterr().err
    sheet = openpyxl.load_workbook(out).active
    assert [r[:2] for r in sheet.iter_rows(min_row=3, max_row=5, values_only=True)] == [
        (D, "Иванова Анна (ivanova)"), (D, "Петров Пётр (petrov)"), (D, NOT_CALLED)]
    with pytest.raises(SystemExit):
        main([*base, "--every", "year"])
    assert "invalid choice: 'year'" in capsys.readouterr().err
    assert main([*base, "--kind", "plays", "--by", "window"]) != 0
    assert "--by and --every are for the visits report" in capsys.readouterr().err


def test_a_visitor_on_hold_right_now_is_held_once_and_in_no_ending(hub):
    # Called at 10:05 (wait 5), sent to make a copy at 10:08, not back yet when the report is made.
    visit(hub, "k", "passport-rf", t(10, 0, days=1), [("called", t(10, 5, days=1), "1", "ivanova"),
                                                      ("held", t(10, 8, days=1), "1", "ivanova")],
          {"state": "held", "window": "1", "operator": "ivanova", "called_at": t(10, 5, days=1)}, day=D1)
    found = Reports(hub.db, hub.centers).report(CENTER, TEST_DAY + timedelta(days=1), TEST_DAY + timedelta(days=1),
                                                "window")
    # D1: h (waiting, 30), i (called, 2), k (held, 5): in the line all three; waits of the called 2 5 → 3.5.
    assert found["total"] == figures(3, 0, waits(3.5, 5.0, 0.333), waiting=1, held=1, **estimates(1, 0.0, 1.0))


def test_the_real_queues_visits_give_the_same_figures(tmp_path):
    """Hold and return, a service added, a walk-in, a number called before its kiosk's event and
    then the event: through the queue's own methods, as the console and keypad call them."""
    clock = ManualClock(at(10, 0))
    hub = Hub(tmp_path / "hub", clock=clock)
    try:
        for login, name in (("ivanova", "Иванова Анна"), ("petrov", "Петров Пётр")):
            hub.operators.add(CENTER, login, name, PASSWORD, "operator")
        with hub.db.transaction() as d:
            d["tickets"].insert({"id": "q1", "center": CENTER, "device": "kiosk-1", "number": "П001",
                                 "service": "passport-rf", "day": D, "priority": 0, "issued_at": t(10, 0),
                                 "status_token": "token-0001-abcdefghijklmnop", "state": "waiting",
                                 "estimate_minutes": 5})
        queue = hub.queue
        queue.open_window(CENTER, "1", ["passport-rf", "adult-snils"], "ivanova")
        queue.open_window(CENTER, "2", ["passport-rf"], "petrov")
        clock.advance(minutes=4)
        assert queue.call_next(CENTER, "1", ["passport-rf", "adult-snils"])["id"] == "q1"  # waited 4
        queue.start(CENTER, "1")
        clock.advance(minutes=6)
        queue.hold(CENTER, "1", "пошлина")  # 10:10, sent to pay the fee
        clock.advance(minutes=20)
        queue.return_held(CENTER, "1")  # 10:30, back at the same window
        queue.start(CENTER, "1")
        queue.add_service(CENTER, "1", "adult-snils")
        clock.advance(minutes=10)
        queue.finish(CENTER, "1", {"adult-snils": "consultation"})  # 10:40: served 36, the time away included
        clock.advance(minutes=5)
        queue.walk_in(CENTER, "2", "passport-rf")  # 10:45
        clock.advance(minutes=10)
        queue.finish(CENTER, "2")  # served 10
        clock.advance(minutes=5)
        queue.call_number(CENTER, "1", "П777", "passport-rf")  # 11:00, the kiosk's ticket not here yet
        clock.advance(minutes=6)
        queue.finish(CENTER, "1")  # served 6, from the call
        reports = Reports(hub.db, hub.centers)
        before = reports.report(CENTER, TEST_DAY, TEST_DAY, "operator")
        # The kiosk's event arrives: П777 was issued at 10:50, so its visitor waited 10.
        body = {"ticket": "kiosk-777", "number": "П777", "service": "passport-rf", "day": D, "priority": False,
                "issued_at": at(10, 50).isoformat(), "status_token": "token-0777-abcdefghijklmnop",
                "clock": {"boot": "kiosk-boot", "mono": 0, "hub": True}}
        (stored,) = hub.events.ingest(Device(CENTER, "kiosk-1", "kiosk"), [
            protocol.make_event(protocol.TICKET_ISSUED, CENTER, "kiosk-1", at(10, 50), body)])
        assert stored.status == "stored", stored
        after = reports.report(CENTER, TEST_DAY, TEST_DAY, "operator")
    finally:
        hub.close()
    # Ivanova: q1 and П777 (awaiting): in the line q1 alone, wait 4; service 36 6 → 21.0; outcomes: q1's passport
    # done and SNILS consultation, П777's passport done; q1's estimate 5 → error 1.
    ivanova = figures(2, 2, waits(4.0, 4.0, 0.0), held=1, awaiting_event=1, mean_service_minutes=21.0,
                      outcome_done=2, outcome_consultation=1, **estimates(1, 1.0, 1.0))
    petrov = figures(1, 1, {}, walk_in=1, mean_service_minutes=10.0, outcome_done=1)  # the walk-in
    assert [(r["operator"], r["name"]) for r in before["rows"]] == [("ivanova", "Иванова Анна"),
                                                                   ("petrov", "Петров Пётр")]
    assert [{k: v for k, v in r.items() if k not in ("operator", "name")} for r in before["rows"]] == [ivanova, petrov]
    # Once its event came, П777 is one visit (still 3 tickets) with its wait of 10: waits 4 10.
    assert after["total"]["issued"] == 3 and after["total"]["awaiting_event"] == 0
    assert after["rows"][0] == {"operator": "ivanova", "name": "Иванова Анна",
                                **ivanova, **waits(7.0, 10.0, 0.0), "awaiting_event": 0}
