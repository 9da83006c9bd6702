"""A hub linked to a real city, restored from a backup older than what it already forwarded,
on a new machine: it speaks to its city again with the token kept beside the backups, and the
city ends equal to the hub for every ticket and window the hub holds."""
from __future__ import annotations

from datetime import datetime

from hub import city_link
from hub.backups import backup, restore
from hub.bundles import KEY_FILE
from hub.hub import Hub
from tests.helpers.center import CENTER, InProcessCenter
from tests.helpers.city import city_rows, forward_now

SERVICE = "passport-rf"


def moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def assert_city_equals_hub(city_dsn: str, hub: Hub) -> None:
    city = {r["id"]: r for r in city_rows(city_dsn, "SELECT * FROM tickets WHERE center = %s", [CENTER])}
    held = list(hub.db.db.query("SELECT * FROM tickets WHERE center = ?", [CENTER]))
    assert held
    for t in held:
        c = city[t["id"]]
        assert (c["number"], c["state"], c["window"]) == (t["number"], t["state"], t["window"] or ""), t["number"]
        assert (c["called_at"], c["finished_at"]) == (moment(t["called_at"]), moment(t["finished_at"]))
    windows = {r["window"]: r for r in city_rows(city_dsn, "SELECT * FROM windows WHERE center = %s", [CENTER])}
    for w in hub.db.db.query("SELECT * FROM windows WHERE center = ?", [CENTER]):
        assert (windows[w["window"]]["open_since"] is None) == (w["open_since"] is None), w["window"]


def test_a_hub_restored_from_an_older_backup_forwards_again_and_the_city_ends_equal_to_it(
        linked_center: InProcessCenter, city_dsn, tmp_path):
    kiosk = linked_center.add_kiosk("kiosk-1", (1, 99))
    linked_center.hub.bundles.public_key()  # as enrollment over HTTP hands it out: the key exists
    for _ in range(4):
        kiosk.issue()
    assert kiosk.sync_now()
    queue = linked_center.hub.queue
    queue.open_window(CENTER, "5", [SERVICE], "ivanova")
    queue.call_next(CENTER, "5", [SERVICE])
    forward_now(linked_center.hub)
    made = backup(linked_center.hub.db, tmp_path / "backups", linked_center.clock.now())

    # After the backup the hub serves on and forwards: the city sees seqs the backup never had.
    linked_center.advance(minutes=10)
    queue.finish(CENTER, "5")
    queue.call_next(CENTER, "5", [SERVICE])
    queue.finish(CENTER, "5")
    forward_now(linked_center.hub)
    seen = city_rows(city_dsn, "SELECT last_seq FROM hubs WHERE id = 'hub-1'")[0]["last_seq"]

    # The hub's disk dies; the backup goes onto a new machine, later that morning.
    done = restore(made, tmp_path / "new-hub", linked_center.clock.now())
    assert done.warnings == []
    for secret in (city_link.TOKEN_FILE, KEY_FILE):
        assert (tmp_path / "new-hub" / secret).read_bytes() == (linked_center.hub.db.path.parent / secret).read_bytes()
    linked_center.advance(minutes=5)
    restored = Hub(tmp_path / "new-hub", clock=linked_center.clock)
    try:
        highest = restored.db.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'city_outbox'").fetchone()[0]
        assert highest < seen  # numbered from where the backup left off, below what the city has
        # The second ticket, finished after the backup, is waiting again in the restored hub: it is called anew.
        restored.queue.open_window(CENTER, "6", [SERVICE], "petrova")
        again = restored.queue.call_next(CENTER, "6", [SERVICE])
        assert again is not None and again["number"].endswith("2")
        forward_now(restored)
        forward_now(restored)  # the snapshots queued again when the forwarder saw the city ahead of it
        assert list(restored.db.db.query("SELECT id FROM city_outbox")) == []
        assert list(restored.db.db.query("SELECT id, reason FROM city_rejected")) == []
        assert_city_equals_hub(city_dsn, restored)
        assert city_rows(city_dsn, "SELECT last_seq FROM hubs WHERE id = 'hub-1'")[0]["last_seq"] > seen
    finally:
        restored.close()
