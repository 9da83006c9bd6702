"""The back office's side of the city: integration tokens and the ticket event feed
(docs/city-integration.md; served by city/routes/integration.py, relayed by city/webhooks.py).

The feed is read from the log, not kept beside it: every hub.ticket snapshot whose state differs
from the same ticket's previous snapshot is one event. "Previous" means the snapshot with the
highest hub seq among those stored before it in the feed's order, so an event once given out
never changes, and a late retry of an older snapshot (lower seq) gives none.

The feed's order is the storing transaction, then within it the hub's own order (hub, seq, and
the city's serial last), so the events of one batch come as the hub made them. Serials are
taken when a row is written but become visible when its transaction commits, so a reader going
by city_seq alone would step past a row committed late with a lower serial. The feed therefore
reads only rows whose transaction is older than every transaction still running (the xmin of
the current snapshot): nothing can later appear below that horizon. A transaction left open
holds the feed back until it ends; none of the city's own stays open longer than a batch.
"""
from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from city.city import City
from mfc_edge.city_protocol import HUB_TICKET
from mfc_edge.config import ID_RULE, is_ident
from mfc_edge.tokens import token_hash

log = logging.getLogger(__name__)

PREFIX = "mfcc_"  # told apart from a hub's token or the hub's own integration tokens at a glance
MAX_NAME = 80
MAX_DISTRICT = 80
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
# Snapshots one read looks through at most: a ticket's visit is about five snapshots and four
# events, so a reader of every center fills its page well within this.
SCAN_PER_EVENT, SCAN_EXTRA = 5, 1000
CURSOR_VERSION = "1"
NOW = "now"  # `after=now`: only what is stored from now on, for a reader with no use for the past

# A ticket's state in the hub (hub/queue.py, hub/visits.py) -> the event of entering it.
# "waiting" again after a call is a transfer: nothing else puts a called ticket back in line.
EVENT_OF_STATE = {"called": "ticket.called", "serving": "ticket.started", "held": "ticket.held",
                  "done": "ticket.served", "no_show": "ticket.no_show", "cancelled": "ticket.cancelled",
                  "expired": "ticket.expired"}
ISSUED, TRANSFERRED, CHANGED = "ticket.issued", "ticket.transferred", "ticket.changed"
EVENT_TYPES = (ISSUED, *EVENT_OF_STATE.values(), TRANSFERRED, CHANGED)
# The body field of a hub.ticket snapshot naming its ticket (mfc_edge/city_protocol.py); the
# index log_ticket_history (0004_integration.sql) is on the same expression.
TICKET_FIELD = "ticket"


class IntegrationError(ValueError):
    """A token, cursor or limit that cannot be used; the message says why in one line."""


def rows(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Every row of a query as a dict, on any connection."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def row(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> dict[str, Any] | None:
    found = rows(conn, sql, params)
    return found[0] if found else None


# --- tokens ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """The centers a reader may see: those named, those in the districts named; both empty: all."""
    centers: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not self.centers and not self.districts

    def describe(self) -> str:
        if self.everything:
            return "every center"
        return ", ".join([*(f"center {c}" for c in self.centers), *(f"district «{d}»" for d in self.districts)])


@dataclass(frozen=True)
class Integration:
    """Who is reading: the token's id, its system's name and what it may see."""
    id: str
    name: str
    scope: Scope



def checked_scope(centers: list[str] | tuple[str, ...] = (), districts: list[str] | tuple[str, ...] = ()) -> Scope:
    """A Scope of valid names, duplicates dropped; IntegrationError for a bad one."""
    for c in centers:
        if not is_ident(c):
            raise IntegrationError(f"center {c!r:.60}: expected {ID_RULE}")
    clean = [" ".join(d.split()) for d in districts]
    for d in clean:
        if not d or len(d) > MAX_DISTRICT:
            raise IntegrationError(f"district {d!r:.90}: expected 1 to {MAX_DISTRICT} characters")
    return Scope(tuple(dict.fromkeys(centers)), tuple(dict.fromkeys(clean)))


class IntegrationTokens:
    def __init__(self, city: City):
        self.city = city

    def issue(self, name: str, scope: Scope = Scope()) -> tuple[Integration, str]:
        """A new token; the token itself is returned only here (the city keeps its SHA-256)."""
        name = " ".join(name.split())
        if not name or len(name) > MAX_NAME:
            raise IntegrationError(f"name {name!r:.90}: expected 1 to {MAX_NAME} characters, e.g. «АИС МФЦ»")
        token = PREFIX + secrets.token_urlsafe(32)
        found = Integration("ci-" + secrets.token_hex(4), name, scope)
        with self.city.db.connection() as conn:
            conn.execute("INSERT INTO integration_tokens (id, name, token_hash, centers, districts, created_at) "
                         "VALUES (%s, %s, %s, %s, %s, %s)",
                         [found.id, name, token_hash(token), list(scope.centers), list(scope.districts),
                          self.city.now()])
        log.info("integration token %s (%s) issued for %s", found.id, name, scope.describe())
        return found, token

    def authenticate(self, token: str) -> Integration | None:
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        with self.city.db.connection() as conn:
            found = row(conn, "SELECT id, name, centers, districts FROM integration_tokens "
                              "WHERE token_hash = %s AND revoked_at IS NULL", [token_hash(token)])
        if found is None:
            return None
        return Integration(found["id"], found["name"], Scope(tuple(found["centers"]), tuple(found["districts"])))

    def revoke(self, token_id: str) -> bool:
        """Refuse the token from now on; False when there is no such token in use."""
        with self.city.db.connection() as conn:
            changed = conn.execute("UPDATE integration_tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                                   [self.city.now(), token_id]).rowcount
        if changed:
            log.info("integration token %s revoked", token_id)
        return changed == 1

    def all(self) -> list[dict[str, Any]]:
        """Every token issued, revoked ones too, oldest first; never the hash."""
        with self.city.db.connection() as conn:
            return rows(conn, "SELECT id, name, centers, districts, created_at, revoked_at "
                              "FROM integration_tokens ORDER BY created_at, id")


# --- the cursor -----------------------------------------------------------------------------

Position = tuple[int, str, int, int]  # (tx, hub, seq, city_seq): the feed's order
START: Position = (0, "", 0, 0)
_CURSOR = re.compile(r"1:(\d{1,20}):(\d{1,20}):(\d{1,20}):([A-Za-z0-9_.-]{0,64})")
_ORDER = "l.tx, l.hub, l.seq, l.city_seq"  # the columns of log_ticket_feed


def encode_cursor(position: Position) -> str:
    tx, hub, seq, city_seq = position
    return base64.urlsafe_b64encode(f"{CURSOR_VERSION}:{tx}:{seq}:{city_seq}:{hub}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position:
    """The position after which to read; None or "" is the feed's start."""
    if not cursor:
        return START
    bad = IntegrationError(f"cursor {cursor!r:.60}: not one this feed gave out (use the \"next\" of a reply)")
    if len(cursor) > 160:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise bad from None
    found = _CURSOR.fullmatch(raw)
    if not found or max(int(found[1]), int(found[2]), int(found[3])) >= 2 ** 63:
        raise bad
    return int(found[1]), found[4], int(found[2]), int(found[3])


def check_limit(limit: int | str | None) -> int:
    if limit is None or limit == "":
        return DEFAULT_LIMIT
    if isinstance(limit, str):
        if not limit.isdigit() or len(limit) > 6:
            raise IntegrationError(f"limit {limit!r:.20}: expected a whole number from 1 to {MAX_LIMIT}")
        limit = int(limit)
    if not 1 <= limit <= MAX_LIMIT:
        raise IntegrationError(f"limit {limit}: expected a whole number from 1 to {MAX_LIMIT}")
    return limit


# --- the feed -------------------------------------------------------------------------------

_SCOPE_SQL = ("(%(everything)s OR l.center = ANY(%(centers)s) "
              "OR l.center IN (SELECT id FROM centers WHERE district = ANY(%(districts)s)))")

# One read: the events for this reader among the next ticket snapshots below the horizon, at
# most `budget` snapshots looked through, so a reader whose centers are few among many is
# answered in bounded time (and reads on at once). The previous snapshot of each is looked up
# down log_ticket_history: highest seq first, the first one stored before it in the feed's order.
_STRETCH = f"""
    SELECT {{columns}} FROM log l
    WHERE l.type = %(type)s AND ({_ORDER}) > (%(tx)s::text::xid8, %(hub)s, %(seq)s, %(city_seq)s)
      AND l.tx < %(horizon)s::text::xid8
    ORDER BY {_ORDER} LIMIT %(budget)s"""
_COLUMNS = "l.tx::text AS tx, l.hub, l.seq, l.city_seq"
_FEED_SQL = f"""
SELECT {_COLUMNS}, l.center, l.at, l.body, prev.seq AS prev_seq, prev.body ->> 'state' AS prev_state
FROM ({_STRETCH.format(columns="l.tx, l.hub, l.seq, l.city_seq, l.center, l.at, l.body")}) l
LEFT JOIN LATERAL (
    SELECT p.seq, p.body FROM log p
    WHERE p.type = %(type)s AND p.center = l.center
      AND (p.body ->> '{TICKET_FIELD}') = (l.body ->> '{TICKET_FIELD}')
      AND (p.tx, p.hub, p.seq, p.city_seq) < ({_ORDER})
    ORDER BY p.seq DESC LIMIT 1
) prev ON true
WHERE {_SCOPE_SQL}
  AND (prev.seq IS NULL OR (prev.seq < l.seq AND (prev.body ->> 'state') IS DISTINCT FROM (l.body ->> 'state')))
ORDER BY {_ORDER} LIMIT %(limit)s
"""
# Where that stretch ends and how long it is: down the index alone, without the bodies.
# (Ordered by the columns themselves, not by the text of tx shown under the same name.)
_STRETCH_END_SQL = f"""
SELECT {_COLUMNS}, count(*) OVER () AS scanned
FROM ({_STRETCH.format(columns="l.tx, l.hub, l.seq, l.city_seq")}) l
ORDER BY l.tx DESC, l.hub DESC, l.seq DESC, l.city_seq DESC LIMIT 1
"""


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else max(0, round((end - start).total_seconds()))


def wait_began(body: dict[str, Any]) -> datetime | None:
    """Issue time; a booked visitor's slot when later (as hub/reports.py `wait_began`): waiting for
    one's slot is not a wait the center owes."""
    issued, slot = _moment(body.get("issued_at")), _moment(body.get("slot_at"))
    return max(issued, slot) if issued and slot else issued


def event_type(state: str | None, previous: str | None) -> str:
    if state == "waiting":
        return ISSUED if previous is None else TRANSFERRED
    return EVENT_OF_STATE.get(state or "", CHANGED)


def event_of(found: dict[str, Any]) -> dict[str, Any]:
    """One row of _FEED_SQL as the feed gives it (docs/city-integration.md)."""
    body = found["body"]
    called = _moment(body.get("first_called_at") or body.get("called_at"))
    return {
        "cursor": encode_cursor(_position(found)),
        "type": event_type(body.get("state"), found["prev_state"]),
        "center": found["center"], "ticket": body.get(TICKET_FIELD), "seq": found["seq"],
        "number": body.get("number"),
        "service": body.get("service"), "day": body.get("day"), "state": body.get("state"),
        "previous_state": found["prev_state"], "at": found["at"].astimezone(UTC).isoformat(),
        "issued_at": body.get("issued_at"), "called_at": body.get("called_at"),
        "first_called_at": body.get("first_called_at"), "started_at": body.get("started_at"),
        "finished_at": body.get("finished_at"), "slot_at": body.get("slot_at"), "window": body.get("window") or None,
        "walk_in": bool(body.get("walk_in")), "replaces": body.get("replaces"),
        "wait_s": _seconds(wait_began(body), called),
        "service_s": _seconds(_moment(body.get("started_at")), _moment(body.get("finished_at"))),
    }


def horizon(conn: psycopg.Connection) -> int:
    """The oldest transaction still running: every row of an older one is committed (or gone)."""
    found = row(conn, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin")
    assert found is not None
    return int(found["xmin"])


def end_position(conn: psycopg.Connection, below: int) -> Position:
    """The last ticket snapshot of the log below the horizon `below` (START when none)."""
    found = row(conn, f"SELECT {_COLUMNS} FROM log l WHERE l.type = %s AND l.tx < %s::text::xid8 "
                      "ORDER BY l.tx DESC, l.hub DESC, l.seq DESC, l.city_seq DESC LIMIT 1", [HUB_TICKET, str(below)])
    return _position(found) if found else START


def _position(found: dict[str, Any]) -> Position:
    return int(found["tx"]), found["hub"], found["seq"], found["city_seq"]


def read_feed(conn: psycopg.Connection, after: Position, limit: int, scope: Scope | None = None,
              types: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], Position, bool]:
    """(events, the position to read after next, whether more may follow at once) on `conn`.
    `types` keeps only events of those types (empty: all)."""
    scope = scope or Scope()
    budget = SCAN_PER_EVENT * limit + SCAN_EXTRA
    params = {"type": HUB_TICKET, "tx": str(after[0]), "hub": after[1], "seq": after[2], "city_seq": after[3],
              "horizon": str(horizon(conn)),
              "everything": scope.everything, "centers": list(scope.centers), "districts": list(scope.districts),
              "limit": limit, "budget": budget}
    found = rows(conn, _FEED_SQL, params)
    if len(found) >= limit:
        last, more = _position(found[-1]), True
    else:
        # Every snapshot looked through was read: the next read starts past those this reader
        # was not shown (out of its scope, or changing nothing). The same horizon keeps both
        # queries to the same rows.
        edge = row(conn, _STRETCH_END_SQL, params)
        last, more = (_position(edge), edge["scanned"] >= budget) if edge else (after, False)
    events = [event_of(r) for r in found]
    return [e for e in events if not types or e["type"] in types], last, more


class Feed:
    def __init__(self, city: City):
        self.city = city

    def page(self, who: Integration, after: str | None, limit: int | str | None = None,
             center: str | None = None) -> dict[str, Any]:
        """A page of the feed for `who`: {"events", "next", "more"}; IntegrationError for a bad
        cursor or limit, PermissionError for a center outside the token's scope."""
        count = check_limit(limit)
        position = None if after == NOW else decode_cursor(after)
        scope = who.scope
        if center is not None:
            if not is_ident(center):
                raise IntegrationError(f"center {center!r:.60}: expected {ID_RULE}")
            if not self.covers(who.scope, center):
                raise PermissionError(f"center {center}: not one this token reads ({who.scope.describe()})")
            scope = Scope(centers=(center,))
        with self.city.db.connection() as conn:
            if position is None:
                position = end_position(conn, horizon(conn))
            events, last, more = read_feed(conn, position, count, scope)
        return {"events": events, "next": encode_cursor(last), "more": more}

    def covers(self, scope: Scope, center: str) -> bool:
        if scope.everything or center in scope.centers:
            return True
        if not scope.districts:
            return False
        with self.city.db.connection() as conn:
            found = row(conn, "SELECT district FROM centers WHERE id = %s", [center])
        return found is not None and found["district"] in scope.districts

    def end(self) -> str:
        """The cursor of the feed's present end: a reader starting there sees only what follows."""
        with self.city.db.connection() as conn:
            return encode_cursor(end_position(conn, horizon(conn)))
