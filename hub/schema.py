"""The hub's SQLite schema: every table and index, and how a data folder gets there.

`MIGRATIONS` is an ordered list of steps, each a function of the sqlite-utils Database; the
number of steps applied is kept in the file's `PRAGMA user_version`. `HubDB` applies the
missing ones when it opens the file, all in one transaction: a step that fails leaves the
file as it was, user_version included, and the hub does not start on a half-changed schema.

Step 1 is the schema as it stood when the steps began. Data folders made before then have
user_version 0 but already hold some or all of these tables, with columns added over time
(`tickets.received_at`, `windows.operator`, the `window` of devices and codes), so step 1
creates only what is missing and adds missing columns and indexes, changing nothing else.
Later steps are ordinary changes (ALTER TABLE ..., CREATE INDEX ...) appended to the list;
a step once released is never edited, because hubs in the field have already run it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlite_utils

from hub import city_outbox
from mfc_edge.protocol import call_number

Migration = Callable[[sqlite_utils.Database], None]


class SchemaError(RuntimeError):
    """A database this hub cannot use; the message says why, for the technician."""


@dataclass(frozen=True)
class Index:
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, type]
    pk: str | tuple[str, ...]
    indexes: tuple[Index, ...] = ()


# The schema of step 1, table by table, in the order the hub's parts created them before.
SCHEMA_1 = (
    Table("enrollment_codes", {"code_hash": str, "center": str, "role": str, "created_at": str, "expires_at": str,
                               "used_at": str, "device": str, "window": str}, pk="code_hash"),
    Table("devices", {"center": str, "id": str, "role": str, "token_hash": str, "enrolled_at": str,
                      "revoked_at": str, "last_seen": str, "window": str}, pk=("center", "id"),
          indexes=(Index(("token_hash",), unique=True),)),
    Table("events", {"id": str, "center": str, "device": str, "type": str, "at": str, "body": str,
                     "received_at": str}, pk="id"),
    Table("tickets", {"id": str, "center": str, "device": str, "number": str, "service": str, "day": str,
                      "priority": int, "issued_at": str, "status_token": str, "state": str, "called_at": str,
                      "window": str, "started_at": str, "finished_at": str, "received_at": str}, pk="id",
          indexes=(Index(("center", "state", "service", "issued_at")),
                   # The minute's end-of-day check finds a past day's waiting tickets here without a scan.
                   Index(("center", "state", "day")),
                   Index(("status_token",), unique=True))),
    Table("feed_versions", {"center": str, "version": int}, pk="center"),
    Table("ratings", {"event": str, "center": str, "device": str, "window": str, "ticket": str, "score": int,
                      "scale": int, "day": str, "at": str}, pk="event",
          # NULL tickets (no ticket at the window) may repeat; a real ticket is rated once.
          indexes=(Index(("center", "ticket"), unique=True), Index(("center", "day")))),
    Table("help_requests", {"id": str, "center": str, "device": str, "point": str, "requested_at": str,
                            "state": str, "acknowledged_at": str, "acknowledged_by": str, "closed_at": str,
                            "closed_by": str}, pk="id", indexes=(Index(("center", "state")),)),
    Table("bundles", {"center": str, "role": str, "version": int, "manifest": str, "signature": str,
                      "published_at": str}, pk=("center", "role", "version")),
    # Which blobs a center's devices may fetch: those of its own bundles only.
    Table("bundle_assets", {"center": str, "sha256": str}, pk=("center", "sha256")),
    Table("device_health", {"center": str, "device": str, "part": str, "status": str, "since": str},
          pk=("center", "device", "part")),
    Table("centers", {"id": str, "timezone": str, "name": str, "updated_at": str}, pk="id"),
    Table("ticket_history", {"id": int, "ticket": str, "center": str, "state": str, "at": str, "window": str,
                             "detail": str}, pk="id", indexes=(Index(("ticket",)),)),
    Table("calls", {"id": int, "center": str, "ticket": str, "number": str, "window": str, "at": str,
                    "recall": int}, pk="id", indexes=(Index(("center", "id")),)),
    Table("windows", {"center": str, "window": str, "priority_streak": int, "services": str, "open_since": str,
                      "operator": str}, pk=("center", "window")),
    Table("operators", {"center": str, "login": str, "name": str, "role": str, "password_hash": str},
          pk=("center", "login")),
    Table("sessions", {"token_hash": str, "center": str, "login": str, "expires_at": str}, pk="token_hash"),
    Table("screenshots", {"center": str, "device": str, "taken_at": str, "bytes": int, "width": int, "height": int,
                          "sha256": str, "requested_at": str, "requested_by": str}, pk=("center", "device")),
)


def ensure_table(db: sqlite_utils.Database, table: Table) -> None:
    """Create `table` if missing, else add the columns and indexes it lacks; no data changes."""
    found = db.table(table.name)
    found.create(table.columns, pk=table.pk, if_not_exists=True)
    have = found.columns_dict
    for column, kind in table.columns.items():
        if column not in have:
            found.add_column(column, kind)
    for index in table.indexes:
        found.create_index(list(index.columns), unique=index.unique, if_not_exists=True)


def hub_schema_1(db: sqlite_utils.Database) -> None:
    for table in SCHEMA_1:
        ensure_table(db, table)


def hub_schema_2(db: sqlite_utils.Database) -> None:
    """The time model (hub/placement.py). A ticket's `number`, `issued_at` and `day` become the
    hub's: the number it is called by, when and on which service day its visitor came as the hub
    places it. What the kiosk printed and stated is kept beside them (`printed_number`,
    `device_issued_at`, `device_day`), and `timing` says how the hub placed it. No two tickets of
    a center and day share a call number: where some already do, the first to reach the hub
    keeps it and the others are called П505/2, П505/3 (protocol.call_number)."""
    tickets = db.table("tickets")
    for column in ("printed_number", "device_issued_at", "device_day", "timing"):
        if column not in tickets.columns_dict:
            tickets.add_column(column, str)
    db.execute("UPDATE tickets SET printed_number = number, device_issued_at = issued_at, device_day = day, "
               "timing = 'device' WHERE printed_number IS NULL")
    seen: dict[tuple[str, str, str], int] = {}
    for rowid, center, day, number in db.execute(
            "SELECT rowid, center, day, number FROM tickets ORDER BY received_at, rowid").fetchall():
        nth = seen[center, day, number] = seen.get((center, day, number), 0) + 1
        if nth > 1:
            db.execute("UPDATE tickets SET number = ? WHERE rowid = ?", [call_number(number, nth), rowid])
    db.execute('CREATE UNIQUE INDEX IF NOT EXISTS "idx_tickets_center_day_number" '
               'ON "tickets" ("center", "day", "number")')


def hub_schema_3(db: sqlite_utils.Database) -> None:
    """Enrollment codes may be made to replace an enrolled device (`replaces`, its id: the code
    is the record of who allowed the takeover); an operator may be disabled (`disabled_at`)."""
    for table, column in (("enrollment_codes", "replaces"), ("operators", "disabled_at")):
        if column not in db.table(table).columns_dict:
            db.table(table).add_column(column, str)


# Step 4's tables: the latest heartbeat of each device, and the alerts it and device health raise.
SCHEMA_4 = (
    # The whole beat as the device sent it (JSON), and when the hub received it by its own clock.
    Table("heartbeats", {"center": str, "device": str, "received_at": str, "beat": str}, pk=("center", "device")),
    # The state the alert sweep last saw of each watched subject ("online", "printer", "button 1"):
    # a change against it is an alert; kept so that a hub restart does not announce it again.
    Table("alert_states", {"center": str, "device": str, "subject": str, "state": str, "since": str},
          pk=("center", "device", "subject")),
    # Each change to announce, until the center's webhook has taken it (sent_at).
    Table("alerts", {"id": int, "center": str, "device": str, "subject": str, "state": str, "since": str,
                     "noticed_at": str, "payload": str, "attempts": int, "next_try_at": str, "last_error": str,
                     "sent_at": str}, pk="id", indexes=(Index(("sent_at", "next_try_at")),)),
    Table("webhooks", {"center": str, "url": str, "set_at": str}, pk="center"),
)


def hub_schema_4(db: sqlite_utils.Database) -> None:
    """Heartbeats and alerts (hub/heartbeats.py, hub/alerts.py): `devices.last_beat`, the hub's
    time of a device's latest beat, and the tables of SCHEMA_4."""
    if "last_beat" not in db.table("devices").columns_dict:
        db.table("devices").add_column("last_beat", str)
    for table in SCHEMA_4:
        ensure_table(db, table)


# Remote hands (hub/remote.py): what supervisors asked of devices and what became of it.
SCHEMA_5 = (
    Table("device_commands", {"id": str, "center": str, "device": str, "kind": str, "requested_by": str,
                              "requested_at": str, "delivered_at": str, "done_at": str, "result": str},
          pk="id", indexes=(Index(("center", "device", "done_at")),)),
)


def hub_schema_5(db: sqlite_utils.Database) -> None:
    """The tables of SCHEMA_5."""
    for table in SCHEMA_5:
        ensure_table(db, table)


def hub_schema_6(db: sqlite_utils.Database) -> None:
    """A service's line in the index in call order, priority before time of issue: "call next"
    takes the head of each line of a window's services (hub/queue.py) instead of sorting every
    ticket waiting for them. It replaces the index without priority, which nothing needs beside
    it: one index less for every ticket stored."""
    db.execute('CREATE INDEX IF NOT EXISTS "idx_tickets_center_state_service_priority_issued_at" '
               'ON "tickets" ("center", "state", "service", "priority", "issued_at")')
    db.execute('DROP INDEX IF EXISTS "idx_tickets_center_state_service_issued_at"')


# Software releases (hub/releases.py): each publish, its signed manifest per machine, the wheels
# it offers (the blob store keeps them by hash), the pilot devices and the release settings.
SCHEMA_7 = (
    Table("releases", {"number": int, "version": str, "channel": str, "published_at": str, "promoted_at": str,
                       "halted_at": str}, pk="number"),
    Table("release_manifests", {"number": int, "machine": str, "manifest": str, "signature": str},
          pk=("number", "machine")),
    Table("release_wheels", {"number": int, "sha256": str}, pk=("number", "sha256"),
          indexes=(Index(("sha256",)),)),
    Table("release_pilots", {"center": str, "device": str}, pk=("center", "device")),
    Table("release_settings", {"name": str, "value": str}, pk="name"),
)


def hub_schema_7(db: sqlite_utils.Database) -> None:
    """The tables of SCHEMA_7."""
    for table in SCHEMA_7:
        ensure_table(db, table)


# Urgent notices (hub/notices.py): what a supervisor posted to the center's kiosks and screens,
# who posted it and who withdrew it; kept after they end, as the record of what was said.
SCHEMA_8 = (
    Table("notices", {"id": str, "center": str, "text_ru": str, "text_en": str, "services": str,
                      "posted_at": str, "expires_at": str, "posted_by": str, "withdrawn_at": str,
                      "withdrawn_by": str}, pk="id", indexes=(Index(("center", "expires_at")),)),
)


def hub_schema_8(db: sqlite_utils.Database) -> None:
    """The tables of SCHEMA_8."""
    for table in SCHEMA_8:
        ensure_table(db, table)


# Booked visits and ready documents (hub/bookings.py, hub/applications.py): the tokens of the
# booking and back-office systems that post them (hashed, like device tokens; center "*" may post
# for any center), the bookings as those systems last sent them, and the applications' readiness.
SCHEMA_9 = (
    Table("integration_tokens", {"id": str, "center": str, "name": str, "hash": str, "created_at": str,
                                 "revoked_at": str}, pk="id", indexes=(Index(("hash",), unique=True),)),
    # id is the booking system's own id; slot times are UTC ISO; initial is one letter or "".
    Table("bookings", {"id": str, "center": str, "code": str, "service": str, "slot_start": str, "slot_end": str,
                       "initial": str, "state": str, "version": int, "updated_at": str,
                       "checked_in_ticket": str, "checked_in_at": str}, pk="id",
          indexes=(Index(("center", "slot_start")), Index(("center", "code")))),
    Table("applications", {"number": str, "center": str, "state": str, "updated_at": str},
          pk=("center", "number")),
)


def hub_schema_9(db: sqlite_utils.Database) -> None:
    """The tables of SCHEMA_9."""
    for table in SCHEMA_9:
        ensure_table(db, table)


def hub_schema_10(db: sqlite_utils.Database) -> None:
    """A ticket's booked visit (hub/booked_visits.py): `booking`, the id of the booking it keeps,
    and `slot_at`, its slot (UTC); "" for a walk-in. `booking_duplicate`: the booking a ticket
    was checked in with at another kiosk after an earlier ticket had it; the ticket is a walk-in
    then, and its operator is told. Partial indexes: the few booked tickets waiting, which
    "call next" reads beside the walk-in lines (hub/queue_order.py), and a booking's tickets."""
    tickets = db.table("tickets")
    for column in ("booking", "slot_at", "booking_duplicate"):
        if column not in tickets.columns_dict:
            db.execute(f"ALTER TABLE tickets ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    db.execute('CREATE INDEX IF NOT EXISTS "idx_tickets_booked_waiting" ON "tickets" ("center", "state") '
               "WHERE booking != ''")
    db.execute('CREATE INDEX IF NOT EXISTS "idx_tickets_booking" ON "tickets" ("booking") '
               "WHERE booking != ''")
    db.execute('CREATE INDEX IF NOT EXISTS "idx_tickets_booking_duplicate" ON "tickets" ("booking_duplicate") '
               "WHERE booking_duplicate != ''")


SCHEMA_11 = (
    # A window's pauses (a break, a technical fault), each with its reason, for the hall and reports.
    Table("window_pauses", {"id": int, "center": str, "window": str, "operator": str, "reason": str,
                            "started_at": str, "ended_at": str}, pk="id",
          indexes=(Index(("center", "window", "started_at")),)),
    # The services of one visit and the outcome of each, written when the operator finishes it.
    Table("visit_services", {"ticket": str, "center": str, "service": str, "outcome": str, "window": str,
                             "operator": str, "at": str}, pk=("ticket", "service"),
          indexes=(Index(("center", "at")),)),
)


def hub_schema_11(db: sqlite_utils.Database) -> None:
    """Every way a visit goes, and the estimate its visitor was given (hub/queue.py, hub/estimates.py).

    Tickets: `operator`, the login of the operator who last called or served it; `for_window`
    and `for_operator`, where a transfer sent it (only that window, or a window held by that
    operator, calls it); `walk_in` 1 for a visitor served without a ticket; `awaiting_event` 1
    while a ticket called by its number has not reached the hub from its kiosk; the estimate
    printed on it: `estimate_minutes` and `estimate_ahead` (NULL when none was printed) and
    `estimate_source`, "hub" for the hub's figure and "kiosk" for the kiosk's own guess.
    The history says who did each step (`operator`). Windows: `paused_since` and `pause_reason`
    while paused. A partial index keeps the few transferred tickets beside the walk-in lines."""
    tickets = db.table("tickets")
    for column, definition in (("operator", "TEXT NOT NULL DEFAULT ''"), ("for_window", "TEXT NOT NULL DEFAULT ''"),
                               ("for_operator", "TEXT NOT NULL DEFAULT ''"), ("walk_in", "INTEGER NOT NULL DEFAULT 0"),
                               ("awaiting_event", "INTEGER NOT NULL DEFAULT 0"), ("estimate_minutes", "INTEGER"),
                               ("estimate_ahead", "INTEGER"), ("estimate_source", "TEXT NOT NULL DEFAULT ''")):
        if column not in tickets.columns_dict:
            db.execute(f"ALTER TABLE tickets ADD COLUMN {column} {definition}")
    if "operator" not in db.table("ticket_history").columns_dict:
        db.execute("ALTER TABLE ticket_history ADD COLUMN operator TEXT NOT NULL DEFAULT ''")
    windows = db.table("windows")
    if "paused_since" not in windows.columns_dict:
        db.execute("ALTER TABLE windows ADD COLUMN paused_since TEXT")
    if "pause_reason" not in windows.columns_dict:
        db.execute("ALTER TABLE windows ADD COLUMN pause_reason TEXT NOT NULL DEFAULT ''")
    db.execute('CREATE INDEX IF NOT EXISTS "idx_tickets_directed_waiting" ON "tickets" ("center", "state") '
               "WHERE for_window != '' OR for_operator != ''")
    db.execute('CREATE INDEX IF NOT EXISTS "idx_tickets_center_operator" ON "tickets" ("center", "operator")')
    for table in SCHEMA_11:
        ensure_table(db, table)


def hub_schema_12(db: sqlite_utils.Database) -> None:
    """The screens' proof of play by center and time (hub/report_plays.py): a partial index of the
    `slide.played` events alone, the bulk of a center's events, so a month's report reads that
    month's plays and not every event the center ever sent."""
    db.execute('CREATE INDEX IF NOT EXISTS "idx_events_plays" ON "events" ("center", "at") '
               "WHERE type = 'slide.played'")


def hub_schema_13(db: sqlite_utils.Database) -> None:
    """The link to the city (hub/city_outbox.py): `city_link` (the one city this hub forwards
    to), `city_centers` (the centers it forwards), `city_outbox` (records waiting to be sent, in
    the order of `seq`), `city_rejected` (those the city refused, with its reason), and the
    triggers that fill the outbox while the hub is linked."""
    city_outbox.install(db)


MIGRATIONS: tuple[Migration, ...] = (hub_schema_1, hub_schema_2, hub_schema_3, hub_schema_4, hub_schema_5,
                                     hub_schema_6, hub_schema_7, hub_schema_8, hub_schema_9, hub_schema_10,
                                     hub_schema_11, hub_schema_12, hub_schema_13)


def version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database, steps: Sequence[Migration] | None = None) -> int:
    """Apply the steps `db` has not had yet; its version afterwards. Run it inside a write
    transaction (`HubDB.transaction`), which makes the steps one change or none."""
    steps = MIGRATIONS if steps is None else steps
    current = version(db)
    if current > len(steps):
        where = db.conn.execute("PRAGMA database_list").fetchone()[2]
        raise SchemaError(f"{where}: its schema is version {current}, newer than this hub's {len(steps)}: "
                          "run the mfc-edge that wrote it, or a newer one")
    for number, step in enumerate(steps[current:], start=current + 1):
        step(db)
        # user_version is in the file's header, which SQLite writes in the same transaction.
        db.execute(f"PRAGMA user_version = {number:d}")
    return len(steps)
