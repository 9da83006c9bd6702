"""Operators of a center's windows: accounts, passwords and sign-in sessions.

Passwords are hashed with Argon2id (argon2-cffi). A session is a random token in a
cookie; the hub keeps its hash and an expiry, and every request past the expiry signs
the operator out. A new password ends the operator's sessions, and so does disabling the
account (`disable`), which also refuses its sign-in until `add` enables it again.

Sign-in is throttled (`SignInThrottle`): failed attempts lock a login, and an address, out for
a while, and at most `HASHING_SLOTS` passwords are hashed at once (mfc_edge/sign_in.py, the
policy the city's dashboard shares).
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from hub.db import HubDB, iso
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
from mfc_edge.sign_in import HASHING_SLOTS as HASHING_SLOTS
from mfc_edge.sign_in import SignInBusy as SignInBusy
from mfc_edge.tokens import token_hash

SUPERVISOR = "supervisor"  # sees the whole hall and may act at any window
ROLES = ("operator", SUPERVISOR)
SESSION_TTL = timedelta(hours=12)  # one working day
MIN_PASSWORD = 8

_hasher = PasswordHasher()

log = logging.getLogger(__name__)

@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class SignInThrottle:
    """Failed sign-ins per login and per address, kept in the hub's memory (one process)."""

    MAX_KEYS = 10_000  # logins and addresses remembered; the oldest are dropped beyond

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._failures: dict[tuple[str, ...], _Failures] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(center: str, login: str, address: str) -> list[tuple[tuple[str, ...], int, tuple[float, float]]]:
        return [(("login", center, login), LOGIN_FAILURES, LOGIN_LOCKOUT),
                (("address", address), ADDRESS_FAILURES, ADDRESS_LOCKOUT)]

    def check(self, center: str, login: str, address: str) -> None:
        """Raise SignInLocked while the login or the address is locked out."""
        now = self.clock()
        with self._lock:
            for key, _, _ in self._keys(center, login, address):
                found = self._failures.get(key)
                if found and found.locked_until > now:
                    wait = found.locked_until - now
                    what = "this login" if key[0] == "login" else "this address"
                    raise SignInLocked(f"too many failed sign-ins from {what}: try again in {wait:.0f} s", wait)

    def failed(self, center: str, login: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, limit, (first, longest) in self._keys(center, login, address):
                found = self._failures.get(key)
                if found is None or now - found.last > FORGET_FAILURES_S:
                    found = self._failures[key] = _Failures()
                found.count, found.last = found.count + 1, now
                if lockout := lockout_s(found.count, limit, (first, longest)):
                    found.locked_until = now + lockout
                    log.warning("sign-in locked for %.0f s: %d failed attempts for %s (the last for %s/%s from %s)",
                                lockout, found.count, "/".join(key[1:]) if key[0] == "login" else f"address {key[1]}",
                                center, login, address)
            if len(self._failures) > self.MAX_KEYS:
                for key in sorted(self._failures, key=lambda k: self._failures[k].last)[:len(self._failures) // 10]:
                    del self._failures[key]

    def succeeded(self, center: str, login: str) -> None:
        """A right password clears its login's failures (not its address's: one known account
        must not let an address go on guessing others)."""
        with self._lock:
            self._failures.pop(("login", center, login), None)


@dataclass(frozen=True)
class Operator:
    center: str
    login: str
    name: str
    role: str



def _same_password(hashed: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(hashed, password))
    except (VerifyMismatchError, InvalidHashError):
        return False


class Operators:
    def __init__(self, db: HubDB, session_ttl: timedelta = SESSION_TTL):
        self.db, self.session_ttl = db, session_ttl
        self.throttle, self.hashing = SignInThrottle(), HashingSlots()

    def add(self, center: str, login: str, name: str, password: str, role: str = "operator") -> Operator:
        if role not in ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
        hashed = _hasher.hash(password)
        found = self.db.db.execute("SELECT password_hash FROM operators WHERE center = ? AND login = ?",
                                   [center, login]).fetchone()
        # An Argon2 verify takes a moment: made before the write lock, not under it.
        changed = found is not None and not _same_password(found[0], password)
        with self.db.transaction() as d:
            d.table("operators").upsert({"center": center, "login": login, "name": name, "role": role,
                                         "password_hash": hashed, "disabled_at": None}, pk=("center", "login"))
            if changed:
                ended = d.execute("DELETE FROM sessions WHERE center = ? AND login = ?", [center, login]).rowcount
                if ended:
                    log.info("%s/%s has a new password: %d session(s) ended", center, login, ended)
        return Operator(center, login, name, role)

    def disable(self, center: str, login: str) -> int | None:
        """Refuse the operator's sign-in from now on and end their sessions: how many ended,
        None when the center has no such operator."""
        with self.db.transaction() as d:
            found = d.execute("SELECT disabled_at FROM operators WHERE center = ? AND login = ?",
                              [center, login]).fetchone()
            if found is None:
                return None
            if found[0] is None:
                d.execute("UPDATE operators SET disabled_at = ? WHERE center = ? AND login = ?",
                          [iso(self.db.now()), center, login])
            ended: int = d.execute("DELETE FROM sessions WHERE center = ? AND login = ?", [center, login]).rowcount
        log.warning("operator %s/%s disabled: %d session(s) ended", center, login, ended)
        return ended

    def sign_in(self, center: str, login: str, password: str, address: str = "") -> tuple[Operator, str]:
        """A new session for the operator; SignInLocked while the login or the `address` the
        attempt comes from is locked out, SignInBusy while too many sign-ins are under way."""
        self.throttle.check(center, login, address)
        rows = list(self.db.db.query("SELECT * FROM operators WHERE center = ? AND login = ?", [center, login]))
        try:
            with self.hashing:
                if not rows:
                    _hasher.hash(password)  # the same work as a wrong password: no hint which logins exist
                    raise VerifyMismatchError
                _hasher.verify(rows[0]["password_hash"], password)
        except (VerifyMismatchError, InvalidHashError):
            self.throttle.failed(center, login, address)
            raise SignInError("wrong center, login or password") from None
        self.throttle.succeeded(center, login)
        if rows[0]["disabled_at"]:  # said only to whoever knows the password
            raise SignInError("this operator account is disabled: ask the center's administrator")
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as d:
            d.table("sessions").insert({"token_hash": token_hash(token), "center": center, "login": login,
                                  "expires_at": iso(self.db.now() + self.session_ttl)})
            d.execute("DELETE FROM sessions WHERE expires_at < ?", [iso(self.db.now())])
        row = rows[0]
        return Operator(row["center"], row["login"], row["name"], row["role"]), token

    def session(self, token: str | None) -> Operator | None:
        if not token:
            return None
        rows = list(self.db.db.query(
            "SELECT o.center, o.login, o.name, o.role FROM sessions s JOIN operators o "
            "ON o.center = s.center AND o.login = s.login WHERE s.token_hash = ? AND s.expires_at > ? "
            "AND o.disabled_at IS NULL",
            [token_hash(token), iso(self.db.now())]))
        return Operator(**rows[0]) if rows else None

    def sign_out(self, token: str) -> None:
        with self.db.transaction() as d:
            d.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash(token)])
