"""A hub cut off from its city for hours keeps serving its center, and catches up in order once
the city is reachable again: the city's log in the hub's order, its projection equal to the
hub's rows."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from hub import city_link
from hub.city_forwarder import CityForwarder, ForwardError
from mfc_edge.cli.hub_city_commands import status_lines
from tests.helpers.center import CENTER, AppTransport, InProcessCenter
from tests.helpers.city import city_rows, hub_folder, join
from tests.helpers.day import at
from tests.helpers.faultproxy import FaultProxy

PASSWORD = "correct horse 42"
BATCH = 40  # small batches, so that catching up takes many


@pytest.fixture
def cut_off_center(tmp_path, city_server) -> Iterator[tuple[InProcessCenter, FaultProxy]]:
    """A center whose hub reaches the city through a proxy the test can cut."""
    host, port = city_server.url.removeprefix("http://").split(":")
    with FaultProxy((host, int(port))) as proxy:
        center = InProcessCenter(tmp_path / "center", at(9))
        try:
            join(center.hub, city_server.city, proxy.url("http"), "hub-1", [CENTER])
            yield center, proxy
        finally:
            center.close()


def console(center: InProcessCenter) -> requests.Session:
    center.hub.operators.add(CENTER, "ivanova", "Иванова Мария", PASSWORD)
    session = requests.Session()
    session.mount("https://", AppTransport(center.call))
    signed_in = session.post("https://hub.test/console/api/sign-in", timeout=10, json={
        "center": CENTER, "login": "ivanova", "password": PASSWORD})
    assert signed_in.status_code == 200
    # The in-process transport hands back headers only: the session's cookie is carried by hand.
    session.headers["Cookie"] = signed_in.headers["set-cookie"].split(";")[0]
    assert session.post("https://hub.test/console/api/open-window", timeout=10,
                        json={"window": "5", "services": ["passport-rf"]}).status_code == 200
    return session


def serve_one(operator: requests.Session) -> None:
    for step in ("call-next", "start", "finish"):
        reply = operator.post(f"https://hub.test/console/api/{step}", json={"window": "5"}, timeout=10)
        assert reply.status_code == 200, reply.text


@pytest.mark.slow
def test_a_hub_cut_off_for_hours_keeps_serving_and_catches_up_in_order(cut_off_center, city_dsn):
    center, proxy = cut_off_center
    forwarder = CityForwarder(center.hub.db, hub_folder(center.hub), max_records=BATCH)
    kiosk = center.add_kiosk("kiosk-1", (1, 999))
    operator = console(center)
    forwarder.drain()
    proxy.set(refuse=True)
    proxy.cut_all()  # the connection kept open from the last post goes too
    for _hour in range(6):  # a working day without the city
        for _ in range(8):
            kiosk.issue()
            center.advance(minutes=2)
        assert kiosk.sync_now()  # the center itself works: kiosk to hub, operator at the hub
        for _ in range(5):
            serve_one(operator)
            center.advance(minutes=4)
        with pytest.raises(ForwardError, match="cannot be reached"):
            forwarder.push_once()
        center.advance(minutes=28)
    hub = center.hub
    assert len(center.tickets("state = 'done'")) == 30 and len(center.tickets("state = 'waiting'")) == 18
    found = city_link.status(hub.db)
    lines = status_lines(found, hub.db.now())
    assert "cannot be reached" in found["last_error"] and " h " in lines[1], lines

    waiting = list(hub.db.db.query("SELECT id, seq FROM city_outbox ORDER BY seq"))
    assert len(waiting) > 3 * BATCH
    proxy.reset()
    assert forwarder.drain() == len(waiting)
    forwarder.stop()

    logged = {r["id"]: r for r in city_rows(city_dsn, "SELECT id, seq, city_seq FROM log WHERE center = %s",
                                            [CENTER])}
    assert {i: r["seq"] for i, r in logged.items() if i in {w["id"] for w in waiting}} == {
        w["id"]: w["seq"] for w in waiting}
    # Batch after batch in the hub's order: each one stored after the one before it.
    batches = [waiting[i:i + BATCH] for i in range(0, len(waiting), BATCH)]
    spans = [(min(logged[w["id"]]["city_seq"] for w in b), max(logged[w["id"]]["city_seq"] for w in b))
             for b in batches]
    assert all(earlier[1] < later[0] for earlier, later in zip(spans, spans[1:], strict=False))

    city_tickets = {r["id"]: r for r in city_rows(city_dsn, "SELECT * FROM tickets WHERE center = %s", [CENTER])}
    hub_tickets = center.tickets()
    assert city_tickets.keys() == {t["id"] for t in hub_tickets}
    for t in hub_tickets:
        c = city_tickets[t["id"]]
        assert (c["state"], c["called_at"], c["finished_at"]) == (
            t["state"], t["called_at"] and datetime.fromisoformat(t["called_at"]),
            t["finished_at"] and datetime.fromisoformat(t["finished_at"]))
    assert city_link.status(hub.db)["waiting"] == 0
