"""What a hub linked to the city forwards: its records, written to `city_outbox` by SQLite
triggers in the same transaction as the change they record (hub schema step 13).

A record (mfc_edge/city_protocol.py) is either a device event as the hub stored it (its own id)
or a snapshot of one of the hub's rows (a ticket, a window, a rating, a center, a device) with
an id of its own. Triggers rather than calls in the Python code that changes those rows: every
path that changes a ticket (ingest, a call at a window, the end-of-day sweep, a ticket called
by number taking its kiosk's id) is covered, including paths added later, and a change is in
the outbox if and only if it committed.

The triggers fire only for centers in `city_centers`, which is empty until the hub joins a
city: an unlinked hub pays one index look-up per row changed. `backfill` writes the records
of what a hub already holds when it joins, with the same SQL as the triggers.

The SQL below is part of step 13, which hubs in the field run once: a change to it is a new
schema step that drops and re-creates the triggers, never an edit here.
"""
from __future__ import annotations

from sqlite_utils import Database

from mfc_edge import city_protocol

# A new record's id: unique and, once written, stable however often the record is sent. The
# time first, so that new ids land at the end of the outbox's index of ids rather than anywhere
# in it: a large outbox (a city out of reach for a day) slowed the ingest of new events.
_NEW_ID = "'h' || strftime('%Y%m%d%H%M%f', 'now') || lower(hex(randomblob(10)))"
# When the hub wrote a snapshot, spelled as the hub stores times (hub/db.py, `iso`).
_NOW = "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000+00:00'"


def _bool(expression: str) -> str:
    return f"json(CASE WHEN {expression} THEN 'true' ELSE 'false' END)"


def _json_or(text: str, fallback: str) -> str:
    """`text` as JSON; `fallback` when it is not JSON: a trigger that failed would fail the
    hub's own change with it."""
    return f"CASE WHEN json_valid({text}) THEN json({text}) ELSE {fallback} END"


def _json_text(text: str) -> str:
    """A stored event's body as it is (the hub wrote it compact, by orjson), once it is known to
    be a JSON object: parsing and writing it again would cost the ingest path for nothing."""
    return f"CASE WHEN json_valid({text}) AND {text} LIKE '{{%' THEN {text} ELSE '{{}}' END"


def ticket_body(r: str, ids: str, replaces: str = "NULL") -> str:
    """`r`: the ticket row's name; `ids`: the ids its history may be under. A ticket called by
    number before its kiosk's event came takes the kiosk's id (hub/queue.py `_complete_awaiting`)
    before its history rows are moved to it, so the history is looked up under both."""
    return (
        f"json_object('ticket', {r}.id, 'number', {r}.number, 'service', {r}.service, 'day', {r}.day, "
        f"'priority', {r}.priority, 'state', {r}.state, 'issued_at', {r}.issued_at, "
        # hub/visits.py updates the ticket before it adds the history row of the call: the
        # first call of a ticket is not in the history yet while its row changes.
        f"'first_called_at', COALESCE((SELECT min(h.at) FROM ticket_history h "
        f"WHERE h.ticket IN ({ids}) AND h.state = 'called'), {r}.called_at), "
        f"'called_at', {r}.called_at, 'started_at', {r}.started_at, 'finished_at', {r}.finished_at, "
        f"'window', COALESCE({r}.\"window\", ''), 'operator', COALESCE({r}.operator, ''), "
        f"'walk_in', {_bool(f'{r}.walk_in')}, 'estimate_minutes', {r}.estimate_minutes, "
        f"'replaces', {replaces}, 'slot_at', NULLIF({r}.slot_at, ''), "
        f"'awaiting_event', {_bool(f'{r}.awaiting_event')})")


def window_body(r: str) -> str:
    return (f"json_object('window', {r}.\"window\", 'open_since', {r}.open_since, "
            f"'services', {_json_or(f'{r}.services', 'json_array()')}, 'operator', COALESCE({r}.operator, ''), "
            f"'paused_since', {r}.paused_since, 'pause_reason', COALESCE({r}.pause_reason, ''))")


def rating_body(r: str) -> str:
    return (f"json_object('event', {r}.event, 'window', COALESCE({r}.\"window\", ''), 'ticket', {r}.ticket, "
            f"'score', {r}.score, 'scale', {r}.scale, 'day', {r}.day, 'at', {r}.at)")


def center_body(r: str) -> str:
    return f"json_object('name', COALESCE({r}.name, ''), 'timezone', {r}.timezone)"


def device_body(r: str) -> str:
    """Online as the hub's alert sweep last judged it (hub/alerts.py, subject "online"): the
    state a technician was told of, not a guess from one late heartbeat. Null until judged."""
    alert = (f"(SELECT {{}} FROM alert_states a WHERE a.center = {r}.center AND a.device = {r}.id "
             "AND a.subject = 'online')")
    online = "json(COALESCE(" + alert.format("CASE a.state WHEN 'online' THEN 'true' ELSE 'false' END") + ", 'null'))"
    since = f"COALESCE({r}.revoked_at, {alert.format('a.since')}, {r}.enrolled_at)"
    return (f"json_object('role', {r}.role, 'online', {online}, 'since', {since}, "
            f"'revoked', {_bool(f'{r}.revoked_at IS NOT NULL')})")


def _insert(kind: str, center: str, device: str, at: str, body: str, record_id: str = _NEW_ID) -> str:
    return ("INSERT INTO city_outbox (id, center, type, device, at, body) "
            f"VALUES ({record_id}, {center}, {kind}, {device}, {at}, {body})")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _linked(center: str) -> str:
    return f"EXISTS (SELECT 1 FROM city_centers WHERE center = {center})"


TICKET, WINDOW, RATING, CENTER, DEVICE = (_sql_text(kind) for kind in (
    city_protocol.HUB_TICKET, city_protocol.HUB_WINDOW, city_protocol.HUB_RATING, city_protocol.HUB_CENTER,
    city_protocol.HUB_DEVICE))
_TICKET_COLUMNS = ("id", "number", "service", "day", "priority", "state", "issued_at", "called_at", "started_at",
                   "finished_at", '"window"', "operator", "walk_in", "estimate_minutes", "slot_at", "awaiting_event")
_WINDOW_COLUMNS = ('"window"', "open_since", "services", "operator", "paused_since", "pause_reason")
_RATING_COLUMNS = ("ticket", '"window"', "score", "scale", "day", "at")


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _device_record(where: str) -> str:
    """The snapshot of the device rows matching `where` (alias r)."""
    return ("INSERT INTO city_outbox (id, center, type, device, at, body) "
            f"SELECT {_NEW_ID}, r.center, {DEVICE}, r.id, {_NOW}, {device_body('r')} FROM devices r WHERE {where}")


def triggers() -> dict[str, str]:
    """Trigger name -> its CREATE TRIGGER statement (step 13)."""
    ticket = _insert(TICKET, "NEW.center", "COALESCE(NEW.device, '')", _NOW,
                     ticket_body("NEW", "NEW.id, OLD.id", "CASE WHEN OLD.id IS NOT NEW.id THEN OLD.id END"))
    return {
        "city_event": f"AFTER INSERT ON events WHEN {_linked('NEW.center')} BEGIN "
                      + _insert("NEW.type", "NEW.center", "NEW.device", "NEW.at",
                                _json_text("NEW.body"), "NEW.id") + "; END",
        "city_ticket_new": f"AFTER INSERT ON tickets WHEN {_linked('NEW.center')} BEGIN "
                           + _insert(TICKET, "NEW.center", "COALESCE(NEW.device, '')", _NOW,
                                     ticket_body("NEW", "NEW.id")) + "; END",
        "city_ticket_changed": f"AFTER UPDATE OF {', '.join(_TICKET_COLUMNS)} ON tickets "
                               f"WHEN ({_changed(_TICKET_COLUMNS)}) AND {_linked('NEW.center')} BEGIN {ticket}; END",
        "city_window_new": f"AFTER INSERT ON windows WHEN {_linked('NEW.center')} BEGIN "
                           + _insert(WINDOW, "NEW.center", "''", _NOW, window_body("NEW")) + "; END",
        "city_window_changed": f"AFTER UPDATE OF {', '.join(_WINDOW_COLUMNS)} ON windows "
                               f"WHEN ({_changed(_WINDOW_COLUMNS)}) AND {_linked('NEW.center')} BEGIN "
                               + _insert(WINDOW, "NEW.center", "''", _NOW, window_body("NEW")) + "; END",
        "city_rating_new": f"AFTER INSERT ON ratings WHEN {_linked('NEW.center')} BEGIN "
                           + _insert(RATING, "NEW.center", "COALESCE(NEW.device, '')", "NEW.at",
                                     rating_body("NEW")) + "; END",
        "city_rating_changed": f"AFTER UPDATE OF {', '.join(_RATING_COLUMNS)} ON ratings "
                               f"WHEN ({_changed(_RATING_COLUMNS)}) AND {_linked('NEW.center')} BEGIN "
                               + _insert(RATING, "NEW.center", "COALESCE(NEW.device, '')", "NEW.at",
                                         rating_body("NEW")) + "; END",
        "city_center_new": f"AFTER INSERT ON centers WHEN {_linked('NEW.id')} BEGIN "
                           + _insert(CENTER, "NEW.id", "''", _NOW, center_body("NEW")) + "; END",
        "city_center_changed": "AFTER UPDATE OF name, timezone ON centers WHEN (OLD.name IS NOT NEW.name OR "
                               f"OLD.timezone IS NOT NEW.timezone) AND {_linked('NEW.id')} BEGIN "
                               + _insert(CENTER, "NEW.id", "''", _NOW, center_body("NEW")) + "; END",
        # Enrolled, enrolled again, revoked.
        "city_device_new": f"AFTER INSERT ON devices WHEN {_linked('NEW.center')} BEGIN "
                           + _device_record("r.center = NEW.center AND r.id = NEW.id") + "; END",
        "city_device_changed": "AFTER UPDATE OF role, revoked_at, enrolled_at ON devices WHEN (OLD.role IS NOT "
                               "NEW.role OR OLD.revoked_at IS NOT NEW.revoked_at OR OLD.enrolled_at IS NOT "
                               f"NEW.enrolled_at) AND {_linked('NEW.center')} BEGIN "
                               + _device_record("r.center = NEW.center AND r.id = NEW.id") + "; END",
        # Online or offline, as the alert sweep judged it.
        "city_device_online": f"AFTER INSERT ON alert_states WHEN NEW.subject = 'online' AND {_linked('NEW.center')} "
                              "BEGIN " + _device_record("r.center = NEW.center AND r.id = NEW.device") + "; END",
        "city_device_online_changed": "AFTER UPDATE OF state ON alert_states WHEN NEW.subject = 'online' AND "
                                      f"OLD.state IS NOT NEW.state AND {_linked('NEW.center')} BEGIN "
                                      + _device_record("r.center = NEW.center AND r.id = NEW.device") + "; END",
    }


TABLES = ("city_link", "city_centers", "city_outbox", "city_rejected")


def install(db: Database) -> None:
    """Step 13's tables and triggers."""
    db.execute("CREATE TABLE IF NOT EXISTS city_link (one INTEGER PRIMARY KEY CHECK (one = 1), url TEXT NOT NULL, "
               "hub TEXT NOT NULL, centers TEXT NOT NULL, ca_file TEXT, joined_at TEXT NOT NULL, "
               "last_success_at TEXT, last_error TEXT, last_error_at TEXT, city_last_seq INTEGER)")
    db.execute("CREATE TABLE IF NOT EXISTS city_centers (center TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute("CREATE TABLE IF NOT EXISTS city_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL "
               "UNIQUE, center TEXT NOT NULL, type TEXT NOT NULL, device TEXT NOT NULL DEFAULT '', at TEXT NOT NULL, "
               "body TEXT NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS city_rejected (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, center TEXT "
               "NOT NULL, type TEXT NOT NULL, device TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL, "
               "reason TEXT NOT NULL, rejected_at TEXT NOT NULL)")
    for name, definition in triggers().items():
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(f"CREATE TRIGGER {name} {definition}")


def backfill(db: Database, snapshots_only: bool = False) -> int:
    """Records of what the linked centers hold now, in the caller's transaction: every event
    (unless `snapshots_only`) in the order the hub received them, then the current snapshot of
    every center, device, window, ticket and rating. How many records were written."""
    linked = "{r}.center IN (SELECT center FROM city_centers)"
    before = db.execute("SELECT total_changes()").fetchone()[0]
    steps = [
        f"SELECT {_NEW_ID}, r.id, {CENTER}, '', {_NOW}, {center_body('r')} FROM centers r "
        "WHERE r.id IN (SELECT center FROM city_centers) ORDER BY r.id",
        f"SELECT {_NEW_ID}, r.center, {DEVICE}, r.id, {_NOW}, {device_body('r')} FROM devices r "
        f"WHERE {linked.format(r='r')} ORDER BY r.center, r.id",
        f"SELECT {_NEW_ID}, r.center, {WINDOW}, '', {_NOW}, {window_body('r')} FROM windows r "
        f"WHERE {linked.format(r='r')} ORDER BY r.center, r.\"window\"",
        f"SELECT {_NEW_ID}, r.center, {TICKET}, COALESCE(r.device, ''), {_NOW}, {ticket_body('r', 'r.id')} "
        f"FROM tickets r WHERE {linked.format(r='r')} ORDER BY r.received_at, r.rowid",
        f"SELECT {_NEW_ID}, r.center, {RATING}, COALESCE(r.device, ''), r.at, {rating_body('r')} FROM ratings r "
        f"WHERE {linked.format(r='r')} ORDER BY r.at, r.event",
    ]
    if not snapshots_only:
        steps.insert(0, "SELECT r.id, r.center, r.type, r.device, r.at, "
                        f"{_json_text('r.body')} FROM events r WHERE {linked.format(r='r')} "
                        "ORDER BY r.received_at, r.rowid")
    for select in steps:
        # OR IGNORE: an event already waiting in the outbox (joined again before it was sent).
        db.execute(f"INSERT OR IGNORE INTO city_outbox (id, center, type, device, at, body) {select}")
    return int(db.execute("SELECT total_changes()").fetchone()[0]) - int(before)
