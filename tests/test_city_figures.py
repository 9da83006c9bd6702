"""Each center's figures now, from hand-made projection rows: the hub's definitions, each center's
day in its own time zone, a silent center."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from city.figures import center_figures
from mfc_edge.city_protocol import SILENT_AFTER_S

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, 14:00 in Yekaterinburg
TODAY = "2026-11-26"
seq = iter(range(1, 10_000))


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def ticket(conn: psycopg.Connection, center: str, tid: str, *, state: str = "waiting", issued: float = 5,
           first_called: float | None = None, finished: float | None = None, day: str = TODAY,
           walk_in: bool = False, awaiting_event: bool = False, slot: float | None = None) -> None:
    conn.execute(
        "INSERT INTO tickets (center, id, number, service, day, state, issued_at, first_called_at, called_at, "
        "finished_at, walk_in, awaiting_event, slot_at, hub_seq) "
        "VALUES (%s, %s, 'А001', 'passport', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [center, tid, day, state, at(issued), None if first_called is None else at(first_called),
         None if first_called is None else at(first_called), None if finished is None else at(finished),
         walk_in, awaiting_event, None if slot is None else at(slot), next(seq)])


def setup_centers(conn: psycopg.Connection, last_contact: datetime | None = NOW - timedelta(seconds=30)) -> None:
    conn.execute("INSERT INTO hubs (id, token_hash, last_contact) VALUES ('hub-1', 'x', %s)", [last_contact])
    conn.execute("INSERT INTO centers (id, name, district, timezone, hub) VALUES "
                 "('c1', 'МФЦ Арбат', 'ЦАО', 'Europe/Moscow', 'hub-1'), "
                 "('c2', 'МФЦ Урал', 'УрФО', 'Asia/Yekaterinburg', 'hub-1')")


def figures_of(dsn: str, now: datetime = NOW, centers: list[str] | None = None) -> dict[str, dict[str, Any]]:
    with psycopg.connect(dsn) as conn:
        return {f["id"]: f for f in center_figures(conn, now, centers)}


def test_the_line_and_the_share_within_15_minutes_as_the_hub_counts_them(city_dsn: str) -> None:
    with psycopg.connect(city_dsn) as conn:
        setup_centers(conn)
        ticket(conn, "c1", "t1", issued=40)                                    # waiting 40 min: over
        ticket(conn, "c1", "t2", issued=10)                                    # waiting 10 min
        ticket(conn, "c1", "t3", state="done", issued=60, first_called=50, finished=40)  # 10 min: within
        ticket(conn, "c1", "t4", state="serving", issued=60, first_called=30)  # 30 min: over
        ticket(conn, "c1", "t5", state="done", issued=20, first_called=19, walk_in=True)  # no wait figures
        ticket(conn, "c1", "t6", state="serving", issued=1, first_called=1, awaiting_event=True)
        ticket(conn, "c1", "t7", state="cancelled", issued=50, finished=45)    # left after 5 min: within
        ticket(conn, "c1", "t8", issued=50, slot=12)                           # booked: waits since its slot
        ticket(conn, "c1", "old", issued=60 * 24, day="2026-11-25")            # yesterday's: not today
    f = figures_of(city_dsn)["c1"]
    assert f["today"].isoformat() == TODAY
    assert f["waiting"] == 3  # t1, t2, t8
    assert f["longest_wait_s"] == 40 * 60
    assert f["issued_today"] == 8
    assert f["called_today"] == 2  # t3, t4 (walk-ins and tickets awaiting their event left out)
    # In line: t1 t2 t3 t4 t7 t8; over 15 minutes: t1 and t4.
    assert f["within_15_share"] == round(1 - 2 / 6, 3)
    assert f["silent"] is False
    assert f["name"] == "МФЦ Арбат" and f["district"] == "ЦАО"


def test_windows_ratings_and_devices(city_dsn: str) -> None:
    with psycopg.connect(city_dsn) as conn:
        setup_centers(conn)
        conn.execute("INSERT INTO windows (center, \"window\", open_since, paused_since, hub_seq) VALUES "
                     "('c1', '1', %(t)s, NULL, 1), ('c1', '2', %(t)s, %(t)s, 2), ('c1', '3', NULL, NULL, 3)",
                     {"t": at(60)})
        conn.execute("INSERT INTO ratings (center, event, \"window\", ticket, score, scale, day, at, hub_seq) VALUES "
                     "('c1', 'e1', '1', 't1', 5, 5, %(d)s, %(t)s, 1), ('c1', 'e2', '1', 't2', 4, 5, %(d)s, %(t)s, 2), "
                     "('c1', 'e3', '1', 't3', 3, 5, %(d)s, %(t)s, 3), ('c1', 'e4', '1', 't4', 3, 3, %(d)s, %(t)s, 4), "
                     "('c1', 'e5', '1', NULL, 1, 5, %(d)s, %(t)s, 5), "
                     "('c1', 'e6', '1', 't0', 1, 5, '2026-11-25', %(t)s, 6)", {"d": TODAY, "t": at(5)})
        conn.execute("INSERT INTO devices (center, id, role, online, revoked, hub_seq) VALUES "
                     "('c1', 'k1', 'kiosk', false, false, 1), ('c1', 'k2', 'kiosk', true, false, 2), "
                     "('c1', 'k3', 'kiosk', false, true, 3), ('c1', 'k4', 'kiosk', NULL, false, 4)")
    f = figures_of(city_dsn)["c1"]
    assert (f["windows_open"], f["windows_paused"]) == (2, 1)
    assert f["ratings_today"] == 4  # the one without a ticket and yesterday's left out
    assert f["happy_share"] == 0.75  # 5/5, 4/5, 3/3 happy; 3/5 not
    assert f["devices_offline"] == 1
    empty = figures_of(city_dsn)["c2"]
    assert (empty["waiting"], empty["longest_wait_s"], empty["within_15_share"], empty["happy_share"]) == \
        (0, None, None, None)


def test_each_center_has_its_own_day(city_dsn: str) -> None:
    # 21:30 UTC: already tomorrow in Yekaterinburg (UTC+5), still today in Moscow (UTC+3).
    late = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)
    with psycopg.connect(city_dsn) as conn:
        setup_centers(conn, last_contact=late)
        ticket(conn, "c1", "m", issued=0)
        ticket(conn, "c2", "y", issued=0)
    found = figures_of(city_dsn, late)
    assert found["c1"]["today"].isoformat() == TODAY and found["c1"]["waiting"] == 1
    assert found["c2"]["today"].isoformat() == "2026-11-27" and found["c2"]["waiting"] == 0
    assert list(figures_of(city_dsn, late, ["c2"])) == ["c2"]


@pytest.mark.parametrize(("contact", "silent"), [
    (NOW - timedelta(seconds=SILENT_AFTER_S - 1), False),
    (NOW - timedelta(seconds=SILENT_AFTER_S + 1), True),
    (None, True),
])
def test_a_center_whose_hub_is_not_heard_from_is_silent(city_dsn: str, contact: datetime | None,
                                                        silent: bool) -> None:
    with psycopg.connect(city_dsn) as conn:
        setup_centers(conn, last_contact=contact)
        conn.execute("INSERT INTO centers (id) VALUES ('c3')")  # no hub at all
    found = figures_of(city_dsn)
    assert found["c1"]["silent"] is silent
    assert found["c1"]["last_contact"] == contact
    assert found["c3"]["silent"] is True


def test_the_share_within_15_minutes_and_happy_share_equal_the_hubs_reports(city_dsn: str) -> None:
    """A varied day of tickets, counted by the hub's own report code and by the city's SQL."""
    import random

    from hub.reports import Tally, visit

    rng = random.Random(19)
    tally = Tally()
    with psycopg.connect(city_dsn) as conn:
        setup_centers(conn)
        for i in range(300):
            issued = rng.uniform(0, 240)
            state = rng.choice(["waiting", "called", "serving", "done", "done", "no_show", "cancelled", "held"])
            called = None if state in ("waiting", "cancelled") else issued - rng.uniform(0, min(issued, 40))
            finished = issued - rng.uniform(0, min(issued, 30)) if state == "cancelled" else None
            slot = issued - rng.uniform(-20, 20) if rng.random() < 0.2 else None
            walk_in, awaiting = rng.random() < 0.05, rng.random() < 0.05
            ticket(conn, "c1", f"t{i}", state=state, issued=issued, first_called=called, finished=finished,
                   walk_in=walk_in, awaiting_event=awaiting, slot=slot)
            score = rng.choice([None, 1, 2, 3, 4, 5])
            if score is not None:
                conn.execute("INSERT INTO ratings (center, event, ticket, score, scale, day, at, hub_seq) "
                             "VALUES ('c1', %s, %s, %s, 5, %s, %s, 1)", [f"e{i}", f"t{i}", score, TODAY, NOW])

            def iso(minutes: float | None) -> str | None:
                return None if minutes is None else at(minutes).isoformat()
            tally.add(visit({"state": state, "walk_in": walk_in, "held": False, "awaiting_event": awaiting,
                             "issued_at": iso(issued), "slot_at": iso(slot), "first_called": iso(called),
                             "expired_at": None, "finished_at": iso(finished), "started_at": None,
                             "estimate_minutes": None, "score": score, "scale": 5}, NOW.isoformat()))
    hub = tally.figures()
    city = figures_of(city_dsn)["c1"]
    assert city["within_15_share"] == round(1 - tally.over / tally.in_line, 3)
    assert abs(city["within_15_share"] - (1 - hub["over_15_share"])) < 0.0015
    assert city["happy_share"] == hub["happy_share"] and city["ratings_today"] == hub["rated"]
    assert city["waiting"] == hub["waiting"] and city["issued_today"] == hub["issued"]
    assert city["called_today"] == len(tally.waits)
