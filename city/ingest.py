"""A hub's batch of records stored once and projected, in one transaction (mfc_edge/city_protocol.py).

Exactly once comes from PostgreSQL, not from a lock of ours: a record is stored with INSERT ...
ON CONFLICT (center, id) DO NOTHING RETURNING, so of several city processes given the same
record at once one stores it and the others wait for that to commit and call it a duplicate.
Only the records stored by this transaction are projected, each row kept at the snapshot of
the highest seq (`hub_seq`): a late retry never undoes a newer state.

The hub's row is locked first (SELECT ... FOR UPDATE with its token), so two batches of one hub
are stored one after the other and never wait for each other's rows in opposite orders.
Batches are handled set-wise: one statement per table, the rows passed as one JSON array
(jsonb_to_recordset), whatever the batch's size.
"""
from __future__ import annotations

from datetime import UTC
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from city.city import City
from city.hubs import MAX_TOKEN_CHARS, every, one
from city.records import held_problem, parse_time, record_problem
from mfc_edge import city_protocol as cp
from mfc_edge.tokens import token_hash

POOL_WAIT_S = 5.0  # a batch waits this long for a free connection, then the hub is told to retry


class Unauthorized(Exception):
    """No hub has this token, or its hub was revoked."""


def _utc(value: Any) -> str | None:
    """A valid time as UTC ISO text, which PostgreSQL reads however the hub spelt it."""
    moment = parse_time(value)
    return None if moment is None else moment.astimezone(UTC).isoformat()


LOG_INSERT = """
INSERT INTO log (center, id, hub, seq, type, device, at, body, received_at)
SELECT r.center, r.id, %(hub)s, r.seq, r.type, r.device, r.at, r.body, %(now)s
FROM jsonb_to_recordset(%(rows)s) AS r(center text, id text, seq bigint, type text, device text,
                                       at timestamptz, body jsonb)
ON CONFLICT (center, id) DO NOTHING
RETURNING center, id
"""

TICKET_COLUMNS = ("number", "service", "day", "priority", "state", "issued_at", "first_called_at", "called_at",
                  "started_at", "finished_at", "window", "operator", "walk_in", "estimate_minutes", "slot_at",
                  "awaiting_event")
TICKET_TYPES = ("text", "text", "date", "integer", "text", "timestamptz", "timestamptz", "timestamptz",
                "timestamptz", "timestamptz", "text", "text", "boolean", "integer", "timestamptz", "boolean")


def _upsert(table: str, key: tuple[str, ...], columns: tuple[str, ...], types: tuple[str, ...]) -> str:
    """INSERT of the rows of a JSON array, a row replaced only by a snapshot of a higher seq."""
    quoted = [f'"{c}"' for c in (*key, *columns, "hub_seq")]
    typed = ", ".join(f'"{c}" {t}' for c, t in zip((*key, *columns, "hub_seq"), ("text",) * len(key) + types
                                                  + ("bigint",), strict=True))
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in (*columns, "hub_seq"))
    return (f"INSERT INTO {table} ({', '.join(quoted)}) SELECT {', '.join('r.' + q for q in quoted)} "
            f"FROM jsonb_to_recordset(%s) AS r({typed}) "
            f"ON CONFLICT ({', '.join(quoted[:len(key)])}) DO UPDATE SET {updates} "
            f"WHERE {table}.hub_seq < excluded.hub_seq")


TICKETS_UPSERT = _upsert("tickets", ("center", "id"), TICKET_COLUMNS, TICKET_TYPES)
WINDOWS_UPSERT = _upsert("windows", ("center", "window"),
                         ("open_since", "services", "operator", "paused_since", "pause_reason"),
                         ("timestamptz", "text[]", "text", "timestamptz", "text"))
DEVICES_UPSERT = _upsert("devices", ("center", "id"), ("role", "online", "since", "revoked"),
                         ("text", "boolean", "timestamptz", "boolean"))
RATINGS_UPSERT = _upsert("ratings", ("center", "event"), ("window", "ticket", "score", "scale", "day", "at"),
                         ("text", "text", "integer", "integer", "date", "timestamptz"))
# A ticket called by its printed number before its kiosk's event took the kiosk's id: the row of
# its old id goes, unless a newer snapshot of it came (which the hub never sends).
TICKETS_REPLACED = """
DELETE FROM tickets t USING jsonb_to_recordset(%s) AS r(center text, id text, hub_seq bigint)
WHERE t.center = r.center AND t.id = r.id AND t.hub_seq < r.hub_seq
"""
CENTERS_UPDATE = """
UPDATE centers c SET name = CASE WHEN c.name_by_city THEN c.name ELSE r.name END,
                     timezone = CASE WHEN c.timezone_by_city THEN c.timezone ELSE coalesce(r.timezone, c.timezone) END,
                     hub_seq = r.hub_seq
FROM jsonb_to_recordset(%s) AS r(center text, name text, timezone text, hub_seq bigint)
WHERE c.id = r.center AND c.hub_seq < r.hub_seq
"""


def _latest(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """The row of the highest seq for each key (one statement may not touch a row twice), in key
    order, so concurrent transactions lock rows in the same order."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = tuple(row[c] for c in key)
        if k not in best or best[k]["hub_seq"] < row["hub_seq"]:
            best[k] = row
    return [best[k] for k in sorted(best)]


def _ticket_row(r: dict[str, Any]) -> dict[str, Any]:
    b = r["body"]
    row = {"center": r["center"], "id": b["ticket"], "hub_seq": r["seq"]}
    for column in TICKET_COLUMNS:
        value = b.get(column)
        if column.endswith("_at"):
            value = _utc(value)
        elif column == "priority":
            value = int(value)
        elif column == "awaiting_event":
            value = bool(value)
        row[column] = value
    return row


def project(conn: psycopg.Connection, stored: list[dict[str, Any]]) -> None:
    """Apply the hub.* records just stored to the projection."""
    tickets, replaced, windows, devices, ratings, centers = [], [], [], [], [], []
    for r in stored:
        b, kind, seq = r["body"], r["type"], r["seq"]
        if kind == cp.HUB_TICKET:
            tickets.append(_ticket_row(r))
            if b.get("replaces"):
                replaced.append({"center": r["center"], "id": b["replaces"], "hub_seq": seq})
        elif kind == cp.HUB_WINDOW:
            windows.append({"center": r["center"], "window": b["window"], "open_since": _utc(b["open_since"]),
                            "services": b["services"], "operator": b["operator"],
                            "paused_since": _utc(b["paused_since"]), "pause_reason": b["pause_reason"],
                            "hub_seq": seq})
        elif kind == cp.HUB_DEVICE:
            devices.append({"center": r["center"], "id": r["device"], "role": b["role"], "online": b["online"],
                            "since": _utc(b["since"]), "revoked": b["revoked"], "hub_seq": seq})
        elif kind == cp.HUB_RATING:
            ratings.append({"center": r["center"], "event": b["event"], "window": b["window"],
                            "ticket": b["ticket"], "score": b["score"], "scale": b["scale"], "day": b["day"],
                            "at": _utc(b["at"]), "hub_seq": seq})
        elif kind == cp.HUB_CENTER:
            centers.append({"center": r["center"], "name": b["name"], "timezone": b["timezone"], "hub_seq": seq})
    gone = {(x["center"], x["id"]) for x in replaced}
    # A snapshot of a replaced id in the same batch is older than its replacement: left out.
    tickets = [t for t in tickets if (t["center"], t["id"]) not in gone]
    for sql, rows, key in ((TICKETS_REPLACED, replaced, ("center", "id")), (TICKETS_UPSERT, tickets, ("center", "id")),
                           (WINDOWS_UPSERT, windows, ("center", "window")), (DEVICES_UPSERT, devices, ("center", "id")),
                           (RATINGS_UPSERT, ratings, ("center", "event")), (CENTERS_UPDATE, centers, ("center",))):
        if rows:
            conn.execute(sql, [Jsonb(_latest(rows, key))])


class Ingest:
    def __init__(self, city: City):
        self.city = city

    def post(self, token: str | None, records: list[Any]) -> dict[str, Any]:
        """Store and project a hub's batch; the reply of CITY_LOG_PATH. Unauthorized for a bad
        token; psycopg_pool.PoolTimeout when no connection came free in POOL_WAIT_S."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized
        # Checked before a connection is taken: the hub's row stays locked for the storing only.
        problems = [record_problem(record, None) for record in records]
        now = self.city.now()
        with self.city.db.pool.connection(timeout=POOL_WAIT_S) as conn:
            hub = one(conn, "SELECT h.id, array(SELECT c.id FROM centers c WHERE c.hub = h.id) AS centers "
                      "FROM hubs h WHERE h.token_hash = %s AND h.revoked_at IS NULL FOR UPDATE OF h",
                      [token_hash(token)])
            if hub is None:
                raise Unauthorized
            centers = frozenset(hub["centers"])
            results: list[dict[str, Any]] = []
            valid: dict[tuple[str, str], dict[str, Any]] = {}
            for record, problem in zip(records, problems, strict=True):
                if problem is None:
                    problem = held_problem(record["center"], centers)
                rid = record.get("id") if isinstance(record, dict) else None
                if problem is not None:
                    results.append({"id": rid if isinstance(rid, str) else None, "status": "rejected",
                                    "reason": problem})
                    continue
                key = (record["center"], record["id"])
                results.append({"id": rid, "status": "duplicate" if key in valid else "stored", "key": key})
                valid.setdefault(key, record)
            stored: set[tuple[str, str]] = set()
            if valid:
                rows = [{"center": r["center"], "id": r["id"], "seq": r["seq"], "type": r["type"],
                         "device": r["device"], "at": _utc(r["at"]), "body": r["body"]}
                        for _, r in sorted(valid.items())]
                stored = {(r["center"], r["id"]) for r in every(conn, LOG_INSERT, {
                    "hub": hub["id"], "now": now, "rows": Jsonb(rows)})}
                project(conn, [valid[k] for k in sorted(stored) if valid[k]["type"] in cp.HUB_RECORD_TYPES])
            top = max((r["seq"] for r in valid.values()), default=0)
            updated = one(conn, "UPDATE hubs SET last_contact = %s, last_seq = greatest(last_seq, %s) "
                          "WHERE id = %s RETURNING last_seq", [now, top, hub["id"]])
            last_seq = updated["last_seq"] if updated else top
        for result in results:
            key = result.pop("key", None)
            if key is not None and result["status"] == "stored" and key not in stored:
                result["status"] = "duplicate"
        return {"results": results, "last_seq": last_seq}


def parse_batch(raw: bytes) -> list[Any]:
    """The records of a posted body; ValueError with a one-line reason when it is not a batch."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise ValueError('expected {"records": [...]}')
    records: list[Any] = data["records"]
    return records


