"""Checks of the records a hub forwards (mfc_edge/city_protocol.py): each record is taken or
refused on its own, with a one-line reason, so one bad record never holds back the others.

A device event's body is taken as the hub stored it (the hub checked it against the device
protocol when the device sent it): here it only has to be a JSON object of bounded size. The
bodies of the hub's own snapshots are checked field by field, as the city projects them.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from mfc_edge import city_protocol as cp
from mfc_edge.config import is_ident
from mfc_edge.protocol import EARLIEST_TIME, EVENT_TYPES, LATEST_TIME, RATING_SCALES, WINDOW_PATTERN

RECORD_TYPES = EVENT_TYPES | cp.HUB_RECORD_TYPES
_RECORD_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a ticket's, service's or rating event's id
_STATE = re.compile(r"[a-z_]{1,20}")
_WINDOW = re.compile(WINDOW_PATTERN)
_NUMBER = re.compile(r"[0-9A-Za-zА-Яа-яЁё-]{1,16}(/[0-9]{1,6})?")  # "П505/2": protocol.call_number
MAX_SEQ = 2**63 - 1
MAX_TEXT = 200
MAX_SERVICES = 100
MAX_ESTIMATE_MINUTES = 24 * 60


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time with a zone between the protocol's bounds, or None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None and EARLIEST_TIME <= moment < LATEST_TIME else None


def _time(v: Any) -> bool:
    return parse_time(v) is not None


def _time_or_null(v: Any) -> bool:
    return v is None or _time(v)


def _day(v: Any) -> bool:
    if not isinstance(v, str) or len(v) != 10:
        return False
    try:
        return EARLIEST_TIME.date() <= date.fromisoformat(v) < LATEST_TIME.date()
    except ValueError:
        return False


def _int(v: Any, low: int, high: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _text(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= MAX_TEXT and "\n" not in v and "\x00" not in v


def _key(v: Any) -> bool:
    return isinstance(v, str) and bool(_KEY.fullmatch(v))


def _window_or_empty(v: Any) -> bool:
    return v == "" or (isinstance(v, str) and bool(_WINDOW.fullmatch(v)))


def _zone(v: Any) -> bool:
    if not isinstance(v, str) or not 0 < len(v) <= 64:
        return False
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


Check = Callable[[Any], bool]
# Each hub record's body: the fields it must have (a check each). Optional fields (absent is
# the same as null or the default) are in _OPTIONAL.
_FIELDS: dict[str, dict[str, Check]] = {
    cp.HUB_TICKET: {
        "ticket": _key, "number": lambda v: isinstance(v, str) and bool(_NUMBER.fullmatch(v)),
        "service": _key, "day": _day,
        "priority": lambda v: isinstance(v, bool) or _int(v, -1000, 1000),
        "state": lambda v: isinstance(v, str) and bool(_STATE.fullmatch(v)),
        "issued_at": _time, "first_called_at": _time_or_null, "called_at": _time_or_null,
        "started_at": _time_or_null, "finished_at": _time_or_null, "window": _window_or_empty,
        "operator": _text, "walk_in": lambda v: isinstance(v, bool),
        "estimate_minutes": lambda v: v is None or _int(v, 0, MAX_ESTIMATE_MINUTES),
        "replaces": lambda v: v is None or _key(v),
    },
    cp.HUB_WINDOW: {
        "window": lambda v: isinstance(v, str) and bool(_WINDOW.fullmatch(v)), "open_since": _time_or_null,
        "services": lambda v: isinstance(v, list) and len(v) <= MAX_SERVICES and all(_key(s) for s in v),
        "operator": _text, "paused_since": _time_or_null, "pause_reason": _text,
    },
    cp.HUB_DEVICE: {
        "role": lambda v: isinstance(v, str) and len(v) <= 20, "online": lambda v: v is None or isinstance(v, bool),
        "since": _time_or_null, "revoked": lambda v: isinstance(v, bool),
    },
    cp.HUB_RATING: {
        "event": _key, "window": _window_or_empty, "ticket": lambda v: v is None or _key(v),
        "score": lambda v: _int(v, 1, 10), "scale": lambda v: v in RATING_SCALES and not isinstance(v, bool),
        "day": _day, "at": _time,
    },
    cp.HUB_CENTER: {"name": _text, "timezone": lambda v: v is None or _zone(v)},
}
_OPTIONAL: dict[str, dict[str, Check]] = {
    cp.HUB_TICKET: {"slot_at": _time_or_null, "awaiting_event": lambda v: v is None or isinstance(v, bool)},
}


def held_problem(center: str, centers: frozenset[str]) -> str | None:
    return None if center in centers else f"center {center} is not held by this hub"


def record_problem(record: Any, centers: frozenset[str] | None) -> str | None:
    """Why the city refuses `record` from a hub holding `centers`, or None when it is taken.
    With `centers` None, whose the center is is left for later (held_problem)."""
    if not isinstance(record, dict):
        return "a record must be a JSON object"
    rid = record.get("id")
    if not isinstance(rid, str) or not _RECORD_ID.fullmatch(rid):
        return "id: expected 1 to 128 Latin letters, digits, '_', '.', ':' or '-'"
    if not _int(record.get("seq"), 1, MAX_SEQ):
        return f"seq = {str(record.get('seq'))[:30]!r}: expected a whole number from 1"
    center = record.get("center")
    if not is_ident(center):
        return f"center = {str(center)[:60]!r} is not a center id"
    if centers is not None and center not in centers:
        return held_problem(str(center), centers)
    kind = record.get("type")
    if kind not in RECORD_TYPES:
        return f"type = {str(kind)[:60]!r} is not a known record type"
    device = record.get("device")
    if not (device == "" or is_ident(device)) or (kind == cp.HUB_DEVICE and device == ""):
        return f"device = {str(device)[:60]!r} is not a device id"
    if not _time(record.get("at")):
        return f"at = {str(record.get('at'))[:60]!r} is not a time with a time zone"
    body = record.get("body")
    if not isinstance(body, dict):
        return "body must be a JSON object"
    encoded = orjson.dumps(body)
    if len(encoded) > cp.MAX_RECORD_BODY_BYTES:
        return f"the body is larger than {cp.MAX_RECORD_BODY_BYTES} bytes"
    if b"\\u0000" in encoded:  # PostgreSQL's jsonb cannot keep a NUL character
        return "the body has a NUL character"
    if kind == cp.HUB_RATING and _int(body.get("score"), 1, 10) and _int(body.get("scale"), 1, 10) \
            and body["score"] > body["scale"]:
        return f"body.score = {body['score']} is above its scale {body['scale']}"
    for name, check in (*_FIELDS.get(kind, {}).items(), *_OPTIONAL.get(kind, {}).items()):
        required = name in _FIELDS.get(kind, {})
        if (required and name not in body) or (name in body and not check(body[name])):
            return f"body.{name} = {str(body.get(name))[:60]!r} is not valid"
    return None
