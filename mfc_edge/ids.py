"""Identifiers devices make for what they record: events, tickets and phone-page tokens.

Each starts with the time it was made, so that a database indexing them (the hub's, which
holds every event and ticket of its centers) adds new keys at the end of its indexes. With
purely random keys each new row lands on a different index page, and the hub's ingest slowed
down as its database grew (figures in benchmarks/RESULTS.md, "Keys in time order").

The time part is only for order; nothing reads a time back out of an identifier. Whatever
must not be guessed (the phone page's token) keeps 128 random bits after it.
"""
from __future__ import annotations

import os
import secrets
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62


def uuid7() -> uuid.UUID:
    """A version 7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, then 74 random bits."""
    random_bits = int.from_bytes(os.urandom(10), "big")
    rand_a = (random_bits >> 62) & 0xFFF
    rand_b = random_bits & ((1 << 62) - 1)
    return uuid.UUID(int=(time.time_ns() // 1_000_000) << 80 | _VERSION_7 | rand_a << 64 | _VARIANT_RFC | rand_b)


def event_id() -> str:
    return str(uuid7())


def ticket_id() -> str:
    return uuid7().hex


def status_token() -> str:
    """The secret in a ticket's phone-page URL: the second it was made (8 hex digits, so tokens
    sort by time) and 128 random bits, so it cannot be guessed from the ticket or the time."""
    return f"{int(time.time()):08x}{secrets.token_urlsafe(16)}"
