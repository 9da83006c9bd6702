"""Hubs enroll with the city as devices enroll with their hub (hub/identity.py).

The city's office makes a one-time code naming the hub and the centers it speaks for (`mfc-edge
city hub-code`); the hub trades it once, within 24 hours, for a token of its own (`mfc-edge hub
join-city`). Only SHA-256 hashes of codes and tokens are kept: both are long random strings, so
a plain hash is enough. A center belongs to one hub at a time: a code for a center another hub
holds is refused when it is made, and again when it is used, should the center have been given
away in between. A hub enrolled again (a new machine, a lost token) gets a new token and its old
one dies; revoking a hub refuses its token at once and keeps its centers' history.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from psycopg.rows import dict_row

from city.city import City
from mfc_edge.config import ID_RULE, is_ident
from mfc_edge.tokens import code_hash, new_code, token_hash

CODE_TTL = timedelta(hours=24)
MAX_CENTERS_PER_CODE = 100
MAX_TOKEN_CHARS = 200  # ours are 43; a longer one is not worth hashing
MAX_NAME_CHARS = 200


class HubError(ValueError):
    """A code, hub or center that cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Enrolled:
    hub: str
    token: str
    centers: list[str]


def one(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> dict[str, Any] | None:
    """The first row of a query as a dict (the pool's connections give dicts; this says so to
    the type checker, and works on any connection)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchone()


def every(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def check_id(value: Any, what: str) -> str:
    if not is_ident(value):
        raise HubError(f"{what} {str(value)[:60]!r}: expected {ID_RULE}")
    return str(value)


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise HubError(f"time zone {value[:60]!r}: expected an IANA time zone such as Europe/Moscow") from None
    return value


def _one_line(value: str, what: str) -> str:
    text = value.strip()
    if len(text) > MAX_NAME_CHARS or any(ch in text for ch in "\r\n\t\x00"):
        raise HubError(f"{what}: one line of at most {MAX_NAME_CHARS} characters")
    return text


class Hubs:
    def __init__(self, city: City):
        self.city = city

    def _held_elsewhere(self, conn: Any, hub: str, centers: list[str]) -> None:
        held = every(conn, "SELECT id, hub FROM centers WHERE id = ANY(%s) AND hub IS NOT NULL AND hub <> %s "
                     "ORDER BY id", [centers, hub])
        if held:
            raise HubError(f"center {held[0]['id']} is held by hub {held[0]['hub']}: revoke that hub first "
                           f"(mfc-edge city revoke-hub --hub {held[0]['hub']})")

    def make_code(self, hub: str, centers: list[str], now: datetime | None = None) -> str:
        """A one-time code for `hub` to enroll for `centers`, valid CODE_TTL."""
        check_id(hub, "hub")
        if not centers:
            raise HubError("name at least one center the hub speaks for")
        if len(centers) > MAX_CENTERS_PER_CODE:
            raise HubError(f"at most {MAX_CENTERS_PER_CODE} centers per hub")
        for center in centers:
            check_id(center, "center")
        centers = sorted(set(centers))
        now = now or self.city.now()
        code = new_code()
        with self.city.db.connection() as conn:
            self._held_elsewhere(conn, hub, centers)
            conn.execute("INSERT INTO hub_codes (code_hash, hub, centers, created_at, expires_at) "
                         "VALUES (%s, %s, %s, %s, %s)",
                         [code_hash(code), hub, centers, now, now + CODE_TTL])
        return code

    def enroll(self, code: str, hub: str, now: datetime | None = None) -> Enrolled:
        """Trade a code for the hub's token; the code's centers become the hub's."""
        if not isinstance(code, str) or not 0 < len(code) <= 64:
            raise HubError("unknown code")
        check_id(hub, "hub")
        now = now or self.city.now()
        token = secrets.token_urlsafe(32)
        with self.city.db.connection() as conn:
            # FOR UPDATE: two hubs racing with one code, the second finds it used.
            row = one(conn, "SELECT * FROM hub_codes WHERE code_hash = %s FOR UPDATE",
                      [code_hash(code)])
            if row is None:
                raise HubError("unknown code")
            if row["used_at"] is not None:
                raise HubError("this code was already used")
            if row["expires_at"] <= now:
                raise HubError("this code has expired: ask the city for a new one")
            if row["hub"] != hub:
                raise HubError(f"this code was made for hub {row['hub']}, not {hub}")
            centers = list(row["centers"])
            conn.execute("INSERT INTO hubs (id, token_hash, enrolled_at) VALUES (%s, %s, %s) "
                         "ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, "
                         "enrolled_at = excluded.enrolled_at, revoked_at = NULL", [hub, token_hash(token), now])
            # The centers' rows are locked before they are checked, so two codes for one center
            # used at once cannot both win.
            conn.execute("INSERT INTO centers (id) SELECT unnest(%s::text[]) ON CONFLICT (id) DO NOTHING", [centers])
            conn.execute("SELECT id FROM centers WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [centers])
            self._held_elsewhere(conn, hub, centers)
            conn.execute("UPDATE centers SET hub = %s WHERE id = ANY(%s)", [hub, centers])
            conn.execute("UPDATE hub_codes SET used_at = %s WHERE code_hash = %s", [now, row["code_hash"]])
        return Enrolled(hub, token, centers)

    def authenticate(self, token: str | None) -> str | None:
        """The id of the hub whose token this is, unless it was revoked."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        with self.city.db.connection() as conn:
            row = one(conn, "SELECT id FROM hubs WHERE token_hash = %s AND revoked_at IS NULL", [token_hash(token)])
        return None if row is None else str(row["id"])

    def revoke(self, hub: str) -> bool:
        """Refuse the hub's token from now on and free its centers for another hub; False if it
        was not enrolled or already revoked."""
        check_id(hub, "hub")
        with self.city.db.connection() as conn:
            done = conn.execute("UPDATE hubs SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                                [self.city.now(), hub]).rowcount == 1
            if done:
                conn.execute("UPDATE centers SET hub = NULL WHERE hub = %s", [hub])
        return done

    def set_center(self, center: str, *, name: str | None = None, district: str | None = None,
                   timezone: str | None = None) -> dict[str, Any]:
        """Set what the city says of a center (made if new); a name or zone set here is kept
        over the one its hub sends. The center's row."""
        check_id(center, "center")
        name = None if name is None else _one_line(name, "name")
        district = None if district is None else _one_line(district, "district")
        timezone = None if timezone is None else check_timezone(timezone)
        with self.city.db.connection() as conn:
            conn.execute("INSERT INTO centers (id) VALUES (%s) ON CONFLICT (id) DO NOTHING", [center])
            row = one(
                conn, "UPDATE centers SET name = coalesce(%(name)s, name), "
                "district = coalesce(%(district)s, district), "
                "timezone = coalesce(%(tz)s, timezone), name_by_city = name_by_city OR %(name)s IS NOT NULL, "
                "timezone_by_city = timezone_by_city OR %(tz)s IS NOT NULL WHERE id = %(id)s "
                "RETURNING id, name, district, timezone, hub",
                {"id": center, "name": name, "district": district, "tz": timezone})
        assert row is not None  # made just above
        return row

    def hubs(self) -> list[dict[str, Any]]:
        """Every hub: id, its centers, enrolled_at, last_contact, last_seq, revoked_at."""
        with self.city.db.connection() as conn:
            return every(
                conn, "SELECT h.id, coalesce(array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL), '{}') "
                "AS centers, h.enrolled_at, h.last_contact, h.last_seq, h.revoked_at "
                "FROM hubs h LEFT JOIN centers c ON c.hub = h.id GROUP BY h.id ORDER BY h.id")

    def centers(self) -> list[dict[str, Any]]:
        """Every center: id, name, district, timezone, hub."""
        with self.city.db.connection() as conn:
            return every(conn, "SELECT id, name, district, timezone, hub FROM centers ORDER BY id")
