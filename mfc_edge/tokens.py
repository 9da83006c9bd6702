"""Secrets a hub or the city hands out and keeps only as hashes: device, hub, integration and
session tokens, and the one-time enrollment codes a technician reads out and types."""
from __future__ import annotations

import base64
import hashlib
import secrets


def token_hash(secret: str) -> str:
    """What is stored of a token: its SHA-256. A token is long and random, so no slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_code() -> str:
    """Sixteen base32 letters in four groups: easy to read out and type on a device."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def code_hash(code: str) -> str:
    """What is stored of a code, and what a code typed with spaces, dashes or small letters matches."""
    return token_hash(code.strip().upper().replace("-", "").replace(" ", ""))
