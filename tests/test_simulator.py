"""The day simulator on short days with a fixed seed: every visitor is accounted for (served,
a no-show, expired or still waiting), each with the estimate printed for them. How accurate
the estimates are is the benchmark's question (benchmarks/estimate_bench.py), not a test's."""
from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from hub.day_profiles import PASSPORTS, SHORT, WindowPlan
from hub.simulator import CENTER, DaySimulator

MONDAY = date(2026, 3, 2)


@pytest.fixture
def simulator(tmp_path):
    s = DaySimulator(seed=7, folder=tmp_path / "hub")
    yield s
    s.close()


def tickets(simulator: DaySimulator, day: date) -> list[dict]:
    return list(simulator.hub.db.db.query("SELECT * FROM tickets WHERE center = ? AND day = ?",
                                          [CENTER, day.isoformat()]))


def test_every_visitor_of_a_short_day_is_accounted_for(simulator):
    outcome = simulator.run(MONDAY, 1, SHORT)
    [tally] = outcome.days
    assert tally.visitors > 10
    rows = tickets(simulator, MONDAY)
    assert len(rows) == tally.visitors == tally.arrivals == tally.accounted
    # The windows serve until the line is done: nobody is left waiting, called or being served.
    assert set(tally.states) <= {"done", "no_show"} and tally.states["done"] > 0
    assert all(r["estimate_source"] == "hub" and r["estimate_minutes"] is not None for r in rows)
    assert all(r["called_at"] >= r["issued_at"] for r in rows)
    # Each estimate is compared with its wait, for both rules, on the same visitors.
    assert outcome.accuracy["plan"]["all"].count == outcome.accuracy["simple"]["all"].count == len(rows)
    assert sum(a.count for s, a in outcome.accuracy["plan"].items() if s != "all") == len(rows)
    assert outcome.never_called == 0
    # The pause of window 1 at 9:40 is kept as the hub keeps pauses, and ended.
    pauses = list(simulator.hub.db.db.query("SELECT * FROM window_pauses WHERE center = ?", [CENTER]))
    assert [(p["window"], p["reason"]) for p in pauses] == [("1", "break")] and pauses[0]["ended_at"]
    assert not list(simulator.hub.db.db.query(
        "SELECT * FROM windows WHERE center = ? AND open_since IS NOT NULL", [CENTER]))


def test_those_no_window_serves_wait_until_the_day_ends_and_then_expire(simulator):
    passports_only = dataclasses.replace(SHORT, windows=(WindowPlan("1", PASSPORTS, "09:00"),))
    outcome = simulator.run(MONDAY, 2, passports_only)
    first, second = outcome.days
    left = first.states["waiting"]
    assert left > 0 and first.accounted == first.visitors
    assert {r["state"] for r in tickets(simulator, MONDAY) if r["service"] not in PASSPORTS} == {"expired"}
    assert sum(r["state"] == "expired" for r in tickets(simulator, MONDAY)) == left
    assert second.accounted == second.visitors
    assert outcome.never_called == left + second.states["waiting"]


def test_the_same_seed_replays_the_same_day(tmp_path):
    figures = []
    for run in range(2):
        s = DaySimulator(seed=11, folder=tmp_path / f"hub-{run}")
        try:
            outcome = s.run(MONDAY, 1, SHORT)
            figures.append((outcome.days[0].visitors, dict(outcome.days[0].states),
                            outcome.accuracy["plan"]["all"].errors))
        finally:
            s.close()
    assert figures[0] == figures[1]


def test_the_command_prints_both_rules_and_refuses_bad_input_in_one_line(capsys):
    from mfc_edge.cli import main

    assert main(["simulate", "--days", "1", "--profile", "short", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "rule plan" in out and "rule simple" in out and "2026-03-02  short" in out
    assert main(["simulate", "--days", "1", "--from", "2026-03-08", "--json"]) == 0  # a Sunday: closed
    assert '"days": []' in capsys.readouterr().out
    for bad, said in ((["--days", "0"], "--days 0: expected 1 to 366"),
                      (["--from", "2026-02-30"], "--from '2026-02-30': expected a date")):
        assert main(["simulate", *bad]) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1
