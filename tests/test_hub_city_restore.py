"""A linked hub restored from a backup (hub/backups.py) numbers its records from where the backup
left off, below what the city has already stored of the lost hours. The forwarder notices it
from the city's `last_seq`, and the city ends equal to the restored hub, not to the lost hours."""
from __future__ import annotations

import logging

from hardware.clock import ManualClock
from hub import backups
from hub.hub import Hub
from tests.helpers.city import city_rows, forward_now, join
from tests.helpers.day import at
from tests.helpers.line import waiting_line

CENTER = "strogino"
SERVICES = ["passport-rf"]


def city_states(dsn: str) -> dict[str, str]:
    return {r["id"]: r["state"] for r in city_rows(dsn, "SELECT id, state FROM tickets WHERE center = %s", [CENTER])}


def hub_states(hub: Hub) -> dict[str, str]:
    return {r["id"]: r["state"] for r in hub.db.db.query("SELECT id, state FROM tickets WHERE center = ?", [CENTER])}


def test_a_restored_hub_brings_the_city_back_to_its_own_state(tmp_path, city_server, city_dsn, caplog):
    clock = ManualClock(at(10))
    folder = tmp_path / "hub"
    hub = Hub(folder, clock=clock)
    join(hub, city_server.city, city_server.url, "hub-1", [CENTER])
    waiting_line(hub, 5)
    hub.queue.open_window(CENTER, "5", SERVICES, "ivanova")
    hub.queue.call_next(CENTER, "5", SERVICES)
    forward_now(hub)
    kept = backups.backup(hub.db, tmp_path / "backups", clock.now())

    for _ in range(2):  # hours the restore will lose: the city has them
        clock.advance(minutes=10)
        hub.queue.finish(CENTER, "5")
        hub.queue.call_next(CENTER, "5", SERVICES)
    forward_now(hub)
    lost = city_states(city_dsn)
    assert list(lost.values()).count("done") == 2
    hub.close()

    backups.restore(kept, folder, clock.now())
    hub = Hub(folder, clock=clock)
    try:
        clock.advance(minutes=30)
        hub.queue.finish(CENTER, "5")  # the restored hub goes on from the backup's moment
        with caplog.at_level(logging.WARNING, logger="hub.city_forwarder"):
            forward_now(hub)
        assert "restored from a backup" in caplog.text
        assert city_states(city_dsn) == hub_states(hub) != lost
        assert list(hub_states(hub).values()).count("done") == 1
    finally:
        hub.close()
