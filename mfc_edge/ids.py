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
import threading
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62
_COUNTER_MAX = 0xFFF

_lock = threading.Lock()
_last = (-1, 0)  # the millisecond and counter of the last UUID this process made


def uuid7() -> uuid.UUID:
    """A version 7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, a 12-bit counter, then
    62 random bits. Within one millisecond the counter goes up (RFC 9562's method 1), so what a
    process makes in a row sorts in that order: a kiosk issues several tickets in a millisecond,
    and whatever falls back on their ids to order them must see the order they were issued in."""
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        last_ms, last_counter = _last
        if ms == last_ms and last_counter < _COUNTER_MAX:
            counter = last_counter + 1
        else:  # a new millisecond (or, rarely, 4,096 in one): start low, leaving room to count
            counter = int.from_bytes(os.urandom(2), "big") & (_COUNTER_MAX >> 1)
        _last = (ms, counter)
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    return uuid.UUID(int=ms << 80 | _VERSION_7 | counter << 64 | _VARIANT_RFC | rand_b)


def event_id() -> str:
    return str(uuid7())


def ticket_id() -> str:
    return uuid7().hex


def status_token() -> str:
    """The secret in a ticket's phone-page URL: the second it was made (8 hex digits, so tokens
    sort by time) and 128 random bits, so it cannot be guessed from the ticket or the time."""
    return f"{int(time.time()):08x}{secrets.token_urlsafe(16)}"
