"""The hub's one schema (hub/schema.py): made on a fresh hub, adopted from data folders made
before it had versions, applied once, and all or nothing."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils

from hub import city_outbox, schema
from hub.db import HubDB

# The schema as the hub made it before hub/schema.py, its parts each creating their own tables
# (sqlite_master of a fresh data folder of that code, user_version 0).
BEFORE_VERSIONS = """
CREATE TABLE IF NOT EXISTS "enrollment_codes" (
   "code_hash" TEXT PRIMARY KEY,
   "center" TEXT,
   "role" TEXT,
   "created_at" TEXT,
   "expires_at" TEXT,
   "used_at" TEXT,
   "device" TEXT
, "window" TEXT);
CREATE TABLE IF NOT EXISTS "devices" (
   "center" TEXT,
   "id" TEXT,
   "role" TEXT,
   "token_hash" TEXT,
   "enrolled_at" TEXT,
   "revoked_at" TEXT,
   "last_seen" TEXT, "window" TEXT,
   PRIMARY KEY ("center", "id")
);
CREATE UNIQUE INDEX "idx_devices_token_hash"
    ON "devices" ("token_hash");
CREATE TABLE IF NOT EXISTS "events" (
   "id" TEXT PRIMARY KEY,
   "center" TEXT,
   "device" TEXT,
   "type" TEXT,
   "at" TEXT,
   "body" TEXT,
   "received_at" TEXT
);
CREATE TABLE IF NOT EXISTS "tickets" (
   "id" TEXT PRIMARY KEY,
   "center" TEXT,
   "device" TEXT,
   "number" TEXT,
   "service" TEXT,
   "day" TEXT,
   "priority" INTEGER,
   "issued_at" TEXT,
   "status_token" TEXT,
   "state" TEXT,
   "called_at" TEXT,
   "window" TEXT,
   "started_at" TEXT,
   "finished_at" TEXT,
   "received_at" TEXT
);
CREATE INDEX "idx_tickets_center_state_service_issued_at"
    ON "tickets" ("center", "state", "service", "issued_at");
CREATE INDEX "idx_tickets_center_state_day"
    ON "tickets" ("center", "state", "day");
CREATE UNIQUE INDEX "idx_tickets_status_token"
    ON "tickets" ("status_token");
CREATE TABLE IF NOT EXISTS "feed_versions" (
   "center" TEXT PRIMARY KEY,
   "version" INTEGER
);
CREATE TABLE IF NOT EXISTS "ratings" (
   "event" TEXT PRIMARY KEY,
   "center" TEXT,
   "device" TEXT,
   "window" TEXT,
   "ticket" TEXT,
   "score" INTEGER,
   "scale" INTEGER,
   "day" TEXT,
   "at" TEXT
);
CREATE UNIQUE INDEX "idx_ratings_center_ticket"
    ON "ratings" ("center", "ticket");
CREATE INDEX "idx_ratings_center_day"
    ON "ratings" ("center", "day");
CREATE TABLE IF NOT EXISTS "help_requests" (
   "id" TEXT PRIMARY KEY,
   "center" TEXT,
   "device" TEXT,
   "point" TEXT,
   "requested_at" TEXT,
   "state" TEXT,
   "acknowledged_at" TEXT,
   "acknowledged_by" TEXT,
   "closed_at" TEXT,
   "closed_by" TEXT
);
CREATE INDEX "idx_help_requests_center_state"
    ON "help_requests" ("center", "state");
CREATE TABLE IF NOT EXISTS "bundles" (
   "center" TEXT,
   "role" TEXT,
   "version" INTEGER,
   "manifest" TEXT,
   "signature" TEXT,
   "published_at" TEXT,
   PRIMARY KEY ("center", "role", "version")
);
CREATE TABLE IF NOT EXISTS "bundle_assets" (
   "center" TEXT,
   "sha256" TEXT,
   PRIMARY KEY ("center", "sha256")
);
CREATE TABLE IF NOT EXISTS "device_health" (
   "center" TEXT,
   "device" TEXT,
   "part" TEXT,
   "status" TEXT,
   "since" TEXT,
   PRIMARY KEY ("center", "device", "part")
);
CREATE TABLE IF NOT EXISTS "centers" (
   "id" TEXT PRIMARY KEY,
   "timezone" TEXT,
   "name" TEXT,
   "updated_at" TEXT
);
CREATE TABLE IF NOT EXISTS "ticket_history" (
   "id" INTEGER PRIMARY KEY,
   "ticket" TEXT,
   "center" TEXT,
   "state" TEXT,
   "at" TEXT,
   "window" TEXT,
   "detail" TEXT
);
CREATE INDEX "idx_ticket_history_ticket"
    ON "ticket_history" ("ticket");
CREATE TABLE IF NOT EXISTS "calls" (
   "id" INTEGER PRIMARY KEY,
   "center" TEXT,
   "ticket" TEXT,
   "number" TEXT,
   "window" TEXT,
   "at" TEXT,
   "recall" INTEGER
);
CREATE INDEX "idx_calls_center_id"
    ON "calls" ("center", "id");
CREATE TABLE IF NOT EXISTS "windows" (
   "center" TEXT,
   "window" TEXT,
   "priority_streak" INTEGER,
   "services" TEXT,
   "open_since" TEXT,
   "operator" TEXT,
   PRIMARY KEY ("center", "window")
);
CREATE TABLE IF NOT EXISTS "operators" (
   "center" TEXT,
   "login" TEXT,
   "name" TEXT,
   "role" TEXT,
   "password_hash" TEXT,
   PRIMARY KEY ("center", "login")
);
CREATE TABLE IF NOT EXISTS "sessions" (
   "token_hash" TEXT PRIMARY KEY,
   "center" TEXT,
   "login" TEXT,
   "expires_at" TEXT
);
CREATE TABLE IF NOT EXISTS "screenshots" (
   "center" TEXT,
   "device" TEXT,
   "taken_at" TEXT,
   "bytes" INTEGER,
   "width" INTEGER,
   "height" INTEGER,
   "sha256" TEXT,
   "requested_at" TEXT,
   "requested_by" TEXT,
   PRIMARY KEY ("center", "device")
);
"""

# A data folder from earlier still: tickets without received_at, devices and codes without
# their window, windows without the operator holding them, no index for the end-of-day check.
OLDER = """
CREATE TABLE "enrollment_codes" ("code_hash" TEXT PRIMARY KEY, "center" TEXT, "role" TEXT, "created_at" TEXT,
    "expires_at" TEXT, "used_at" TEXT, "device" TEXT);
CREATE TABLE "devices" ("center" TEXT, "id" TEXT, "role" TEXT, "token_hash" TEXT, "enrolled_at" TEXT,
    "revoked_at" TEXT, "last_seen" TEXT, PRIMARY KEY ("center", "id"));
CREATE UNIQUE INDEX "idx_devices_token_hash" ON "devices" ("token_hash");
CREATE TABLE "events" ("id" TEXT PRIMARY KEY, "center" TEXT, "device" TEXT, "type" TEXT, "at" TEXT, "body" TEXT,
    "received_at" TEXT);
CREATE TABLE "tickets" ("id" TEXT PRIMARY KEY, "center" TEXT, "device" TEXT, "number" TEXT, "service" TEXT,
    "day" TEXT, "priority" INTEGER, "issued_at" TEXT, "status_token" TEXT, "state" TEXT, "called_at" TEXT,
    "window" TEXT, "started_at" TEXT, "finished_at" TEXT);
CREATE INDEX "idx_tickets_center_state_service_issued_at" ON "tickets" ("center", "state", "service", "issued_at");
CREATE UNIQUE INDEX "idx_tickets_status_token" ON "tickets" ("status_token");
CREATE TABLE "feed_versions" ("center" TEXT PRIMARY KEY, "version" INTEGER);
CREATE TABLE "windows" ("center" TEXT, "window" TEXT, "priority_streak" INTEGER, "services" TEXT,
    "open_since" TEXT, PRIMARY KEY ("center", "window"));
INSERT INTO devices VALUES ('strogino', 'kiosk-1', 'kiosk', 'hash-1', '2026-11-01T07:00:00.000000+00:00', NULL,
    '2026-11-22T07:00:00.000000+00:00');
INSERT INTO tickets VALUES ('t1', 'strogino', 'kiosk-1', 'П001', 'passport-rf', '2026-11-22', 0,
    '2026-11-22T07:00:00.000000+00:00', 'token-1', 'waiting', NULL, NULL, NULL, NULL);
INSERT INTO windows VALUES ('strogino', '5', 0, '["passport-rf"]', '2026-11-22T07:00:00.000000+00:00');
"""


def shape(path: Path) -> dict[str, object]:
    """Every table's columns (name, type, not null, default, primary key) and indexes (columns,
    unique): what code reading the file depends on, whatever the spelling of its CREATE text."""
    with closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        found: dict[str, object] = {}
        for table in tables:
            columns = {r[1]: r[2:] for r in db.execute(f'PRAGMA table_info("{table}")')}
            indexes = {r[1]: (tuple(c[2] for c in db.execute(f'PRAGMA index_info("{r[1]}")')), r[2])
                       for r in db.execute(f'PRAGMA index_list("{table}")') if r[3] == "c"}
            found[table] = (columns, indexes)
        return found


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def folder_with(folder: Path, ddl: str) -> Path:
    folder.mkdir(parents=True)
    with closing(sqlite3.connect(folder / "hub.sqlite")) as db:
        db.executescript(ddl)
    return folder


def open_and_close(folder: Path) -> None:
    HubDB(folder).close()


def today_s_schema(folder: Path) -> Path:
    """The schema the hub made before versions with every step after the first applied."""
    folder = folder_with(folder, BEFORE_VERSIONS)
    with closing(sqlite3.connect(folder / "hub.sqlite")) as conn:
        db = sqlite_utils.Database(conn)
        for step in schema.MIGRATIONS[1:]:
            step(db)
        conn.commit()
    return folder


def test_a_fresh_hub_gets_every_table_and_index_of_the_schema(tmp_path):
    open_and_close(tmp_path / "fresh")
    reference = today_s_schema(tmp_path / "before")
    assert shape(tmp_path / "fresh" / "hub.sqlite") == shape(reference / "hub.sqlite")
    assert user_version(tmp_path / "fresh" / "hub.sqlite") == len(schema.MIGRATIONS)
    assert set(shape(tmp_path / "fresh" / "hub.sqlite")) == {
        t.name for t in (*schema.SCHEMA_1, *schema.SCHEMA_4, *schema.SCHEMA_5, *schema.SCHEMA_7,
                  *schema.SCHEMA_8, *schema.SCHEMA_9, *schema.SCHEMA_11)} | {
        *city_outbox.TABLES, "sqlite_sequence"}  # step 13's, and SQLite's own of its AUTOINCREMENT


def test_a_folder_made_before_versions_is_adopted_as_it_is(tmp_path, monkeypatch):
    folder = folder_with(tmp_path / "hub", BEFORE_VERSIONS)
    before = shape(folder / "hub.sqlite")
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
    open_and_close(folder)
    assert shape(folder / "hub.sqlite") == before
    assert user_version(folder / "hub.sqlite") == 1
    monkeypatch.undo()
    open_and_close(folder)  # and then brought up to date by the later steps
    assert shape(folder / "hub.sqlite") == shape(today_s_schema(tmp_path / "today") / "hub.sqlite")
    assert user_version(folder / "hub.sqlite") == len(schema.MIGRATIONS)


def test_an_older_folder_gets_its_missing_columns_and_indexes_and_keeps_its_rows(tmp_path):
    folder = folder_with(tmp_path / "hub", OLDER)
    open_and_close(folder)
    reference = today_s_schema(tmp_path / "before")
    assert shape(folder / "hub.sqlite") == shape(reference / "hub.sqlite")
    with closing(sqlite3.connect(folder / "hub.sqlite")) as db:
        assert db.execute("SELECT id, state, received_at FROM tickets").fetchall() == [("t1", "waiting", None)]
        assert db.execute("SELECT id, window FROM devices").fetchall() == [("kiosk-1", None)]
        assert db.execute("SELECT window, services, operator FROM windows").fetchall() == [
            ("5", '["passport-rf"]', None)]


def test_opening_an_up_to_date_hub_changes_nothing(tmp_path, monkeypatch):
    open_and_close(tmp_path)
    before = shape(tmp_path / "hub.sqlite")

    def must_not_run(*args: object) -> int:
        raise AssertionError("an up-to-date file was migrated again")

    monkeypatch.setattr(schema, "migrate", must_not_run)
    open_and_close(tmp_path)
    assert shape(tmp_path / "hub.sqlite") == before and user_version(tmp_path / "hub.sqlite") == len(schema.MIGRATIONS)


def test_a_step_that_fails_changes_nothing(tmp_path, monkeypatch):
    open_and_close(tmp_path)
    before = shape(tmp_path / "hub.sqlite")

    def step_2(db) -> None:
        db.execute("CREATE TABLE queue_notes (id INTEGER PRIMARY KEY, text TEXT)")
        db.execute("ALTER TABLE tickets ADD COLUMN note TEXT")

    def step_3(db) -> None:
        db.execute("CREATE INDEX idx_notes ON queue_notes (text)")
        raise sqlite3.OperationalError("disk I/O error")

    released = len(schema.MIGRATIONS)
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, step_2, step_3))
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        HubDB(tmp_path)
    assert shape(tmp_path / "hub.sqlite") == before and user_version(tmp_path / "hub.sqlite") == released

    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS[:released + 1],))  # the failing step fixed: left out
    open_and_close(tmp_path)
    assert user_version(tmp_path / "hub.sqlite") == released + 1
    after = shape(tmp_path / "hub.sqlite")
    assert "queue_notes" in after and "note" in after["tickets"][0]


def test_a_file_from_a_newer_hub_is_refused(tmp_path):
    open_and_close(tmp_path)
    with closing(sqlite3.connect(tmp_path / "hub.sqlite")) as db:
        db.execute(f"PRAGMA user_version = {len(schema.MIGRATIONS) + 1}")
    with pytest.raises(schema.SchemaError, match="newer than this hub"):
        HubDB(tmp_path)


def test_step_2_keeps_what_kiosks_stated_and_gives_tickets_sharing_a_number_on_a_day_their_own(tmp_path,
                                                                                                 monkeypatch):
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
    open_and_close(tmp_path)
    with closing(sqlite3.connect(tmp_path / "hub.sqlite")) as db:
        for n, (number, day, received) in enumerate([("С505", "2026-11-23", "07:10"), ("С505", "2026-11-22", "07:00"),
                                                     ("С505", "2026-11-23", "07:05"), ("С505", "2026-11-23", "07:20"),
                                                     ("П001", "2026-11-23", "07:00")]):
            db.execute("INSERT INTO tickets (id, center, number, day, issued_at, status_token, state, received_at) "
                       "VALUES (?, 'strogino', ?, ?, ?, ?, 'waiting', ?)",
                       [f"t{n}", number, day, f"{day}T06:00:00.000000+00:00", f"token-{n}",
                        f"2026-11-23T{received}:00.000000+00:00"])
        db.commit()
    monkeypatch.undo()
    open_and_close(tmp_path)
    with closing(sqlite3.connect(tmp_path / "hub.sqlite")) as db:
        rows = db.execute("SELECT id, number, printed_number, day, device_day, device_issued_at = issued_at, timing "
                          "FROM tickets ORDER BY id").fetchall()
        assert rows == [("t0", "С505/2", "С505", "2026-11-23", "2026-11-23", 1, "device"),
                        ("t1", "С505", "С505", "2026-11-22", "2026-11-22", 1, "device"),
                        ("t2", "С505", "С505", "2026-11-23", "2026-11-23", 1, "device"),
                        ("t3", "С505/3", "С505", "2026-11-23", "2026-11-23", 1, "device"),
                        ("t4", "П001", "П001", "2026-11-23", "2026-11-23", 1, "device")]
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE tickets SET number = 'С505' WHERE id = 't0'")
