"""A hub linked to a real city (PostgreSQL, the city's API on 127.0.0.1): every record the hub's
triggers write is taken, and the city's projection ends equal to the hub's own rows."""
from __future__ import annotations

from datetime import datetime

from hub import city_link
from mfc_edge import protocol
from tests.helpers.center import CENTER, InProcessCenter
from tests.helpers.city import city_rows, forward_now


def a_morning(center: InProcessCenter) -> None:
    kiosk = center.add_kiosk("kiosk-1", (1, 99))
    for _ in range(4):
        kiosk.issue()
    assert kiosk.sync_now()
    center.advance(minutes=7)
    queue = center.hub.queue
    queue.open_window(CENTER, "5", ["passport-rf"], "ivanova")
    queue.call_next(CENTER, "5", ["passport-rf"])
    center.advance(minutes=2)
    queue.start(CENTER, "5")
    center.advance(minutes=6)
    queue.finish(CENTER, "5")
    queue.call_next(CENTER, "5", ["passport-rf"])  # called, not served yet


def moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def test_the_city_ends_equal_to_the_hub(linked_center, city_dsn):
    a_morning(linked_center)
    hub = linked_center.hub
    waiting = {r["id"]: r["seq"] for r in hub.db.db.query("SELECT id, seq FROM city_outbox")}
    assert forward_now(hub) == len(waiting)
    assert list(hub.db.db.query("SELECT id, reason FROM city_rejected")) == []
    assert city_link.status(hub.db)["waiting"] == 0

    events = {r["id"] for r in hub.db.db.query("SELECT id FROM events WHERE center = ?", [CENTER])}
    logged = city_rows(city_dsn, "SELECT id, type, seq FROM log WHERE center = %s ORDER BY city_seq", [CENTER])
    assert {r["id"] for r in logged if r["type"] in protocol.EVENT_TYPES} == events
    assert {r["id"]: r["seq"] for r in logged} == waiting  # each once, numbered as the hub numbered it

    city_tickets = {r["id"]: r for r in city_rows(city_dsn, "SELECT * FROM tickets WHERE center = %s", [CENTER])}
    hub_tickets = linked_center.tickets()
    assert city_tickets.keys() == {t["id"] for t in hub_tickets}
    for t in hub_tickets:
        c = city_tickets[t["id"]]
        assert (c["number"], c["state"], c["window"], c["operator"]) == (
            t["number"], t["state"], t["window"] or "", t["operator"])
        for field in ("issued_at", "called_at", "started_at", "finished_at"):
            assert c[field] == moment(t[field]), field
    windows = city_rows(city_dsn, "SELECT * FROM windows WHERE center = %s", [CENTER])
    assert [(w["window"], w["services"], w["operator"]) for w in windows] == [("5", ["passport-rf"], "ivanova")]
    devices = city_rows(city_dsn, "SELECT id, role, revoked FROM devices WHERE center = %s", [CENTER])
    assert devices == [{"id": "kiosk-1", "role": "kiosk", "revoked": False}]


def test_revoking_a_device_reaches_the_city(linked_center, city_dsn):
    linked_center.add_kiosk("kiosk-1", (1, 99))
    forward_now(linked_center.hub)
    linked_center.hub.identity.revoke(CENTER, "kiosk-1")
    forward_now(linked_center.hub)
    assert city_rows(city_dsn, "SELECT revoked FROM devices WHERE id = 'kiosk-1'") == [{"revoked": True}]
