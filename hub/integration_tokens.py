"""Integration tokens: how the city's booking system and a center's back office post bookings
and the readiness of applications to the hub (hub/routes/integration.py).

A technician issues one per system with `mfc-edge hub integration-token --center C --name N`
(or for every center the hub serves, center "*"); the token is shown once and the hub keeps
only its SHA-256 hash, as it does for device tokens. Revoking refuses it at once. Integration
tokens and device tokens never stand in for each other: a kiosk cannot post bookings, and the
booking system cannot read what the kiosks read.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from hub.db import HubDB, iso
from mfc_edge.tokens import token_hash

log = logging.getLogger(__name__)

ALL_CENTERS = "*"
MAX_NAME = 80
# Told apart from a device token at a glance in a log or a config file.
PREFIX = "mfci_"


class TokenError(ValueError):
    """A token that cannot be issued as asked; the message says why, for the technician."""


@dataclass(frozen=True)
class Integration:
    """Who posted: the token's id and name (the record), and the center it may post for."""
    id: str
    center: str  # a center id, or ALL_CENTERS
    name: str

    def covers(self, center: str) -> bool:
        return self.center in (ALL_CENTERS, center)



class IntegrationTokens:
    def __init__(self, db: HubDB):
        self.db = db

    def issue(self, center: str, name: str) -> tuple[Integration, str]:
        """A new token for `center` (or ALL_CENTERS); the token itself is returned only here."""
        name = " ".join(name.split())
        if not name or len(name) > MAX_NAME:
            raise TokenError(f"name {name!r:.90}: expected 1 to {MAX_NAME} characters, e.g. «Запись на приём»")
        token = PREFIX + secrets.token_urlsafe(32)
        found = Integration(id="it-" + secrets.token_hex(4), center=center, name=name)
        with self.db.transaction() as db:
            db.table("integration_tokens").insert({
                "id": found.id, "center": center, "name": name, "hash": token_hash(token),
                "created_at": iso(self.db.now()), "revoked_at": None})
        log.info("integration token %s (%s) issued for center %s", found.id, name, center)
        return found, token

    def authenticate(self, token: str) -> Integration | None:
        if not token.startswith(PREFIX):
            return None
        rows = list(self.db.db.query("SELECT id, center, name FROM integration_tokens WHERE hash = ? "
                                     "AND revoked_at IS NULL", [token_hash(token)]))
        return Integration(**rows[0]) if rows else None

    def revoke(self, token_id: str) -> bool:
        """Refuse the token from now on; False when there is no such token in use."""
        with self.db.transaction() as db:
            changed = db.execute("UPDATE integration_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                 [iso(self.db.now()), token_id]).rowcount
        if changed:
            log.info("integration token %s revoked", token_id)
        return changed == 1

    def all(self) -> list[dict[str, Any]]:
        """Every token issued, revoked ones too (the record), oldest first; never the hash."""
        return list(self.db.db.query("SELECT id, center, name, created_at, revoked_at FROM integration_tokens "
                                     "ORDER BY created_at, id"))
