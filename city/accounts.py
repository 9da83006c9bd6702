"""Accounts of the city's operations staff, their passwords and sign-in sessions, like the
operators of a hub's console (hub/operators.py).

Roles: a **viewer** sees the dashboard and the reports; an **editor** may also publish content to
the centers (city/publishing.py); an **admin** may also manage the accounts.

Passwords are hashed with Argon2id; a session is a random token in a cookie of which the city
keeps the SHA-256 and an expiry. A new password ends the account's sessions, and so does
disabling it (`disable`), which also refuses its sign-in until `add` enables it again.

Failed sign-ins lock a login, and an address, out for a while with the hub's policy
(mfc_edge/sign_in.py). Unlike the hub, which is one process, the city runs several behind a load
balancer, so the failures are counted in PostgreSQL: a guesser gains nothing by being sent
to another process.
"""
from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from psycopg.rows import dict_row

from city.city import City
from mfc_edge.sign_in import (
    ADDRESS_FAILURES,
    ADDRESS_LOCKOUT,
    FORGET_FAILURES_S,
    LOGIN_FAILURES,
    LOGIN_LOCKOUT,
    HashingSlots,
    SignInError,
    SignInLocked,
    lockout_s,
)
from mfc_edge.tokens import token_hash

VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"
ROLES = (VIEWER, EDITOR, ADMIN)
SESSION_TTL = timedelta(hours=12)  # one working day
MIN_PASSWORD = 8
Key = tuple[str, int, tuple[float, float]]  # a key failures are counted by, its limit, its lockout
LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,59}$")

_hasher = PasswordHasher()
# Per process, as the memory it guards is: every Accounts of the process shares it.
_hashing = HashingSlots(server="city")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Account:
    login: str
    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether the account may do what `role` may: everyone views; publishing is the
        editors', managing accounts the admins'."""
        return role == VIEWER or self.role == role



def check_login(login: str) -> None:
    if not LOGIN.match(login):
        raise ValueError(f"login {login!r}: lowercase Latin letters, digits, '.', '_' or '-', up to 60")


class Accounts:
    def __init__(self, city: City, session_ttl: timedelta = SESSION_TTL):
        self.city, self.session_ttl = city, session_ttl
        self.hashing = _hashing

    def add(self, login: str, name: str, password: str, role: str = VIEWER) -> Account:
        """Add an account, or update one (its name, role and password), enabling it again."""
        check_login(login)
        if role not in ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
        hashed = _hasher.hash(password)
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            found = cur.execute("SELECT password_hash FROM accounts WHERE login = %s", [login]).fetchone()
        # An Argon2 verify takes a moment: made outside the transaction that writes.
        changed = found is not None and not _same_password(found["password_hash"], password)
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("INSERT INTO accounts (login, name, role, password_hash) VALUES (%s, %s, %s, %s) "
                         "ON CONFLICT (login) DO UPDATE SET name = excluded.name, role = excluded.role, "
                         "password_hash = excluded.password_hash, disabled_at = NULL",
                         [login, name, role, hashed])
            if changed:
                ended = cur.execute("DELETE FROM account_sessions WHERE login = %s", [login]).rowcount
                if ended:
                    log.info("city account %s has a new password: %d session(s) ended", login, ended)
        return Account(login, name, role)

    def disable(self, login: str) -> int | None:
        """Refuse the account's sign-in from now on and end its sessions: how many ended, None
        when there is no such account."""
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            found = cur.execute("UPDATE accounts SET disabled_at = coalesce(disabled_at, %s) WHERE login = %s "
                                 "RETURNING login", [self.city.now(), login]).fetchone()
            if found is None:
                return None
            ended = cur.execute("DELETE FROM account_sessions WHERE login = %s", [login]).rowcount
        log.warning("city account %s disabled: %d session(s) ended", login, ended)
        return ended

    def all(self) -> list[dict[str, Any]]:
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return list(cur.execute("SELECT login, name, role, created_at, disabled_at FROM accounts ORDER BY login"))

    def sign_in(self, login: str, password: str, address: str = "") -> tuple[Account, str]:
        """A new session for the account; SignInLocked while the login or the `address` the
        attempt comes from is locked out, SignInBusy while too many sign-ins are under way."""
        keys = [(f"login:{login}", LOGIN_FAILURES, LOGIN_LOCKOUT), (f"address:{address}", ADDRESS_FAILURES,
                                                                    ADDRESS_LOCKOUT)]
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            self._check_locked(cur, keys)
            row = cur.execute("SELECT * FROM accounts WHERE login = %s", [login]).fetchone()
        try:
            with self.hashing:
                if row is None:
                    _hasher.hash(password)  # the same work as a wrong password: no hint which logins exist
                    raise VerifyMismatchError
                _hasher.verify(row["password_hash"], password)
        except (VerifyMismatchError, InvalidHashError):
            self._failed(keys)
            raise SignInError("wrong login or password") from None
        now = self.city.now()
        token = secrets.token_urlsafe(32)
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            # A right password clears its login's failures (not its address's: one known account
            # must not let an address go on guessing others).
            cur.execute("DELETE FROM sign_in_failures WHERE key = %s", [keys[0][0]])
        if row["disabled_at"]:  # said only to whoever knows the password
            raise SignInError("this account is disabled: ask the city's administrator")
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("INSERT INTO account_sessions (token_hash, login, expires_at) VALUES (%s, %s, %s)",
                         [token_hash(token), login, now + self.session_ttl])
            cur.execute("DELETE FROM account_sessions WHERE expires_at < %s", [now])
        return Account(row["login"], row["name"], row["role"]), token

    def _check_locked(self, cur: psycopg.Cursor[dict[str, Any]], keys: list[Key]) -> None:
        now = self.city.now()
        for key, _, _ in keys:
            found = cur.execute("SELECT locked_until FROM sign_in_failures WHERE key = %s AND locked_until > %s",
                                 [key, now]).fetchone()
            if found:
                wait = (found["locked_until"] - now).total_seconds()
                what = "this login" if key.startswith("login:") else "this address"
                raise SignInLocked(f"too many failed sign-ins from {what}: try again in {wait:.0f} s", wait)

    def _failed(self, keys: list[Key]) -> None:
        now = self.city.now()
        forget = now - timedelta(seconds=FORGET_FAILURES_S)
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            for key, limit, lockout in keys:
                # One statement per key: two processes counting the same key at once both count.
                counted = cur.execute(
                    "INSERT INTO sign_in_failures AS f (key, failures, last_at) VALUES (%s, 1, %s) "
                    "ON CONFLICT (key) DO UPDATE SET last_at = excluded.last_at, failures = CASE "
                    "WHEN f.last_at < %s THEN 1 ELSE f.failures + 1 END RETURNING failures",
                    [key, now, forget]).fetchone()
                failures = counted["failures"] if counted else 1
                if seconds := lockout_s(failures, limit, lockout):
                    cur.execute("UPDATE sign_in_failures SET locked_until = %s WHERE key = %s",
                                 [now + timedelta(seconds=seconds), key])
                    log.warning("city sign-in locked for %.0f s: %d failed attempts for %s", seconds, failures, key)
            cur.execute("DELETE FROM sign_in_failures WHERE last_at < %s", [forget])

    def session(self, token: str | None) -> Account | None:
        if not token:
            return None
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                "SELECT a.login, a.name, a.role FROM account_sessions s JOIN accounts a ON a.login = s.login "
                "WHERE s.token_hash = %s AND s.expires_at > %s AND a.disabled_at IS NULL",
                [token_hash(token), self.city.now()]).fetchone()
        return Account(**row) if row else None

    def sign_out(self, token: str) -> None:
        with self.city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("DELETE FROM account_sessions WHERE token_hash = %s", [token_hash(token)])


def _same_password(hashed: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(hashed, password))
    except (VerifyMismatchError, InvalidHashError):
        return False
