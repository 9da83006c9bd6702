"""The hub's backups: a copy made while the hub writes restores into a hub that serves the same
tickets; the retention rule; damaged, foreign and newer files refused; a folder in use refused."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from hub.backup_schedule import BackupSchedule
from hub.backups import (
    Backup,
    BackupError,
    Retention,
    backup,
    check_backup,
    hold_folder,
    list_backups,
    prune,
    restore,
    to_keep,
)
from hub.bundles import KEY_FILE
from hub.hub import Hub
from hub.schema import MIGRATIONS
from mfc_edge.files import DataFolderError
from tests.helpers.hubprocess import HubProcess, free_port, hub_today

CENTER = "strogino"
SERVICE = "passport-rf"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mfc_edge.cli", *args], capture_output=True, text=True, timeout=60)


def add_ticket(hub: Hub, n: int) -> None:
    """A ticket of today (the hub process closes past days' tickets), issued n seconds after 9 o'clock."""
    day = hub_today(9)
    with hub.db.transaction() as d:
        d["tickets"].insert({"id": f"t{n}", "center": CENTER, "device": "kiosk-1", "number": f"А{n:03d}",
                             "service": SERVICE, "day": day.date().isoformat(), "priority": 0,
                             "issued_at": (day + timedelta(seconds=n)).astimezone(UTC).isoformat(
                                 timespec="microseconds"),
                             "status_token": f"token-{n:05d}-abcdefghijklmnop", "state": "waiting"})
        hub.db.bump_feed(d, center=CENTER)


def token(n: int) -> str:
    return f"token-{n:05d}-abcdefghijklmnop"


def tickets_in(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT status_token, state FROM tickets"))
    finally:
        conn.close()


@pytest.mark.slow
def test_a_backup_made_while_the_hub_writes_restores_into_a_hub_serving_the_same_tickets(tmp_path):
    hub = Hub(tmp_path / "hub")
    for n in range(1, 11):
        add_ticket(hub, n)
    for window in ("1", "2"):
        hub.queue.open_window(CENTER, window, [SERVICE], f"op{window}")
        assert hub.queue.call_next(CENTER, window, [SERVICE]) is not None
    hub.bundles.public_key()  # the key devices pin at enrollment: made now, kept beside the backups
    written, stop = [10], threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            add_ticket(hub, written[0] + 1)
            written[0] += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while written[0] < 30:
            time.sleep(0.01)
        before = written[0]
        made = backup(hub.db, tmp_path / "backups", hub.db.now())
        while written[0] < before + 20:  # the hub went on writing: nothing waited for the backup
            time.sleep(0.01)
    finally:
        stop.set()
        writer.join()
    add_ticket(hub, 10_000)  # after the backup: not in it
    hub.close()

    assert made.name.startswith("hub-") and made.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "backups" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    saved = tickets_in(made)
    assert len(saved) >= 30 and token(10_000) not in saved
    assert sorted(state for state in saved.values() if state != "waiting") == ["called", "called"]
    # No ticket of the backup is half there: numbers 1..n, none missing.
    assert set(saved) == {token(n) for n in range(1, len(saved) + 1)}

    done = restore(made, tmp_path / "new", NOW)
    assert done.set_aside is None and done.schema_version == len(MIGRATIONS) and done.warnings == []
    assert (tmp_path / "new" / KEY_FILE).read_bytes() == (tmp_path / "hub" / KEY_FILE).read_bytes()
    with HubProcess(tmp_path / "new") as served:
        for n in (1, 2, len(saved)):
            answer = requests.get(f"{served.url}/t/{token(n)}/state", timeout=10)
            assert answer.status_code == 200
            assert answer.json()["state"] == saved[token(n)]
        assert requests.get(f"{served.url}/t/{token(10_000)}/state", timeout=10).status_code == 404


def test_restore_sets_the_replaced_file_aside_with_its_journal(tmp_path):
    old = Hub(tmp_path / "old")
    add_ticket(old, 1)
    made = backup(old.db, tmp_path / "backups", NOW)
    old.close()
    current = Hub(tmp_path / "current")
    add_ticket(current, 2)
    current.db.db.execute("PRAGMA wal_autocheckpoint=0")
    add_ticket(current, 3)  # in the -wal, not yet in the file
    # The folder as a power cut leaves it: ticket 3 is only in the -wal.
    (tmp_path / "data").mkdir(mode=0o700)
    for name in ("hub.sqlite", "hub.sqlite-wal"):
        (tmp_path / "data" / name).write_bytes((tmp_path / "current" / name).read_bytes())
    current.close()
    wal = tmp_path / "data" / "hub.sqlite-wal"
    assert wal.stat().st_size > 0

    done = restore(made, tmp_path / "data", NOW)
    assert done.set_aside == tmp_path / "data" / "replaced-20261126T120000Z"
    assert set(tickets_in(tmp_path / "data" / "hub.sqlite")) == {token(1)}  # no stale -wal replayed into it
    assert not wal.exists()
    assert set(tickets_in(done.set_aside / "hub.sqlite")) == {token(2), token(3)}  # nothing lost
    assert (tmp_path / "data" / "hub.sqlite").stat().st_mode & 0o777 == 0o600


def _made(folder: Path, *stamps: datetime) -> list[Backup]:
    folder.mkdir(exist_ok=True)
    for at in stamps:
        (folder / f"hub-{at:%Y%m%dT%H%M%SZ}.sqlite").write_bytes(b"x")
    return list_backups(folder)


def test_retention_keeps_the_newest_n_and_the_newest_of_each_recent_day(tmp_path):
    every_6h = [NOW - timedelta(hours=6 * i) for i in range(40)]  # ten days of backups
    backups = _made(tmp_path, *every_6h)
    assert [b.at for b in backups] == every_6h  # newest first
    kept = to_keep(backups, Retention(keep=3, days=5), NOW)
    newest3 = {b.path for b in backups[:3]}
    # The newest of each of the 5 days up to today: 12:00 today, 18:00 of the four days before.
    daily = {b.path for b in backups if b.at.hour == 18 and b.at >= NOW - timedelta(days=4)} | {backups[0].path}
    assert kept == newest3 | daily and len(kept) == 3 + 4
    removed = prune(tmp_path, Retention(keep=3, days=5), NOW)
    assert len(removed) == 40 - 7
    assert {b.path for b in list_backups(tmp_path)} == kept
    (tmp_path / "notes.txt").write_text("not ours")
    assert prune(tmp_path, Retention(keep=1, days=0), NOW) and (tmp_path / "notes.txt").exists()
    assert len(list_backups(tmp_path)) == 1


def test_damaged_truncated_foreign_and_newer_backups_are_refused_and_nothing_changes(tmp_path):
    hub = Hub(tmp_path / "data")
    add_ticket(hub, 1)
    good = backup(hub.db, tmp_path / "backups", NOW)
    hub.close()
    before = (tmp_path / "data" / "hub.sqlite").read_bytes()

    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    damaged = tmp_path / "damaged.sqlite"
    data = bytearray(good.read_bytes())
    for at in range(4096 * 2, len(data) - 4096, 4096):  # every page past the first two: scribbled over
        data[at + 8: at + 200] = os.urandom(192)
    damaged.write_bytes(bytes(data))
    text = tmp_path / "notes.sqlite"
    text.write_text("hello")
    foreign = tmp_path / "other.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE x (y)").connection.close()
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(good.read_bytes())
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()

    for path, said in ((truncated, "damaged"), (damaged, "damaged"), (text, "not a hub backup"),
                       (foreign, "no tickets table"), (newer, "newer than this hub's"),
                       (tmp_path / "missing.sqlite", "no such backup file")):
        with pytest.raises(BackupError) as refused:
            restore(path, tmp_path / "data", NOW)
        assert said in str(refused.value) and "\n" not in str(refused.value), path
        assert str(path) in str(refused.value)
    assert (tmp_path / "data" / "hub.sqlite").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "data").iterdir() if p.name.startswith((".", "replaced"))) == []
    assert check_backup(good) == len(MIGRATIONS)

    done = cli("hub", "restore", "--data", str(tmp_path / "data"), "--from", str(newer))
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "newer than this hub's" in done.stderr


def test_a_backup_into_a_folder_that_cannot_be_made_is_one_line(tmp_path):
    hub = Hub(tmp_path / "data")
    (tmp_path / "file").write_text("a file where the folder should be")
    with pytest.raises(BackupError, match="is a file, not a folder"):
        backup(hub.db, tmp_path / "file" / "backups", NOW)
    hub.close()
    done = cli("hub", "backup", "--data", str(tmp_path / "nowhere"), "--to", str(tmp_path / "b"))
    assert done.returncode != 0 and "not the hub's data folder" in done.stderr and done.stderr.count("\n") == 1


def test_restore_is_refused_while_the_folder_is_held(tmp_path):
    hub = Hub(tmp_path / "data")
    add_ticket(hub, 1)
    made = backup(hub.db, tmp_path / "backups", NOW)
    hub.close()
    with hold_folder(tmp_path / "data", "a hub serving"):
        with pytest.raises(DataFolderError, match="in use by a hub serving"):
            restore(made, tmp_path / "data", NOW)
    assert restore(made, tmp_path / "data", NOW).set_aside is not None


@pytest.mark.slow
def test_a_serving_hub_backs_itself_up_and_refuses_a_restore_and_a_second_hub(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mfc_edge.cli", "hub", "--data", str(tmp_path / "data"),
                             "--port", str(port), "--backup-dir", str(tmp_path / "backups"), "--backup-every", "6"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "backups").exists() or not list_backups(tmp_path / "backups"):
            assert proc.poll() is None and time.monotonic() < deadline, "no backup made at start"
            time.sleep(0.1)
        made = list_backups(tmp_path / "backups")[0]
        refused = cli("hub", "restore", "--data", str(tmp_path / "data"), "--from", str(made.path))
        assert refused.returncode != 0 and "in use by a hub serving" in refused.stderr
        assert refused.stderr.count("\n") == 1
        second = cli("hub", "--data", str(tmp_path / "data"), "--port", str(free_port()))
        assert second.returncode != 0 and "in use by a hub serving" in second.stderr
        listed = cli("hub", "backups", "--to", str(tmp_path / "backups"))
        assert made.path.name in listed.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    done = cli("hub", "restore", "--data", str(tmp_path / "data"), "--from", str(made.path))
    assert done.returncode == 0, done.stderr
    assert "kept in" in done.stdout


def test_the_schedule_backs_up_at_once_without_a_backup_and_waits_after_one(tmp_path):
    hub = Hub(tmp_path / "data")
    schedule = BackupSchedule(hub.db, tmp_path / "backups", timedelta(hours=6), Retention()).start()
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "backups").exists() or not list_backups(tmp_path / "backups"):
            assert time.monotonic() < deadline, "no backup made"
            time.sleep(0.05)
    finally:
        schedule.stop()
    newest = list_backups(tmp_path / "backups")[0]
    again = BackupSchedule(hub.db, tmp_path / "backups", timedelta(hours=6), Retention())
    assert again.next_due() == newest.at + timedelta(hours=6)
    hub.close()
