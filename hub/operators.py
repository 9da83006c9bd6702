"""Operators of a center's windows: accounts, passwords and sign-in sessions.

Passwords are hashed with Argon2id (argon2-cffi). A session is a random token in a
cookie; the hub keeps its hash and an expiry, and every request past the expiry signs
the operator out.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from hub.db import HubDB, iso

SUPERVISOR = "supervisor"  # sees the whole hall and may act at any window
ROLES = ("operator", SUPERVISOR)
SESSION_TTL = timedelta(hours=12)  # one working day
MIN_PASSWORD = 8

_hasher = PasswordHasher()


class SignInError(ValueError):
    pass


@dataclass(frozen=True)
class Operator:
    center: str
    login: str
    name: str
    role: str


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Operators:
    def __init__(self, db: HubDB, session_ttl: timedelta = SESSION_TTL):
        self.db, self.session_ttl = db, session_ttl

    def add(self, center: str, login: str, name: str, password: str, role: str = "operator") -> Operator:
        if role not in ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
        with self.db.transaction() as d:
            d.table("operators").upsert({"center": center, "login": login, "name": name, "role": role,
                                   "password_hash": _hasher.hash(password)}, pk=("center", "login"))
        return Operator(center, login, name, role)

    def sign_in(self, center: str, login: str, password: str) -> tuple[Operator, str]:
        rows = list(self.db.db.query("SELECT * FROM operators WHERE center = ? AND login = ?", [center, login]))
        try:
            if not rows:
                _hasher.hash(password)  # the same work as a wrong password: no hint which logins exist
                raise VerifyMismatchError
            _hasher.verify(rows[0]["password_hash"], password)
        except (VerifyMismatchError, InvalidHashError):
            raise SignInError("wrong center, login or password") from None
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as d:
            d.table("sessions").insert({"token_hash": _hash_token(token), "center": center, "login": login,
                                  "expires_at": iso(self.db.now() + self.session_ttl)})
            d.execute("DELETE FROM sessions WHERE expires_at < ?", [iso(self.db.now())])
        row = rows[0]
        return Operator(row["center"], row["login"], row["name"], row["role"]), token

    def session(self, token: str | None) -> Operator | None:
        if not token:
            return None
        rows = list(self.db.db.query(
            "SELECT o.center, o.login, o.name, o.role FROM sessions s JOIN operators o "
            "ON o.center = s.center AND o.login = s.login WHERE s.token_hash = ? AND s.expires_at > ?",
            [_hash_token(token), iso(self.db.now())]))
        return Operator(**rows[0]) if rows else None

    def sign_out(self, token: str) -> None:
        with self.db.transaction() as d:
            d.execute("DELETE FROM sessions WHERE token_hash = ?", [_hash_token(token)])
