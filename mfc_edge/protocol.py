"""The wire protocol between devices and the hub: event envelopes and their version.

Every event is a JSON object with a UUID, so the hub can store each exactly once however
often a device sends it. Devices and the hub import these names from here only.
"""
from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from mfc_edge import ids

PROTOCOL_VERSION = 1

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as device files, playlists and load charts name them

# Where devices find the hub's API; every path below is under it.
API = "/api/v1"
ENROLL_PATH = f"{API}/enroll"
EVENTS_PATH = f"{API}/events"
FEED_PATH = f"{API}/feed"
LOAD_PATH = f"{API}/load"
RATINGS_PATH = f"{API}/ratings/today"
BUNDLE_PATH = f"{API}/bundle"
SCREENSHOT_PATH = f"{API}/screenshot"
HEARTBEAT_PATH = f"{API}/heartbeat"
# A device's commands from its supervisor (hub/remote.py); it reports each at COMMANDS_PATH/<id>.
COMMANDS_PATH = f"{API}/commands"
# A center's urgent notices still in force (hub/notices.py), read by its kiosks and screens.
NOTICES_PATH = f"{API}/notices"
HEALTH_PATH = "/healthz"
# The booking system and the back office post here with an integration token (hub/routes/integration.py).
BOOKINGS_IMPORT_PATH = f"{API}/bookings"
APPLICATIONS_IMPORT_PATH = f"{API}/applications"
# A center's bookings of today (and tomorrow morning) and its applications' readiness, read by
# its kiosks with their device token and kept on disk (offline_cache/bookings.py).
BOOKINGS_TODAY_PATH = f"{API}/bookings/today"
APPLICATIONS_PATH = APPLICATIONS_IMPORT_PATH  # GET for devices, POST for the back office
BOOKING_STATES = ("active", "cancelled")
APPLICATION_STATES = ("not-ready", "ready", "collected")


def booking_code_key(code: str) -> str:
    """A booking code or application number as it is compared: upper case, without spaces and
    dashes, so "ab-12 34" typed on a keypad finds "AB1234" read by a scanner."""
    return "".join(code.split()).replace("-", "").upper()


# Time on the wire (offline_cache/hub_time.py): every answer of the hub carries its own clock,
# to the microsecond (`Date` has whole seconds and may be the web server's, not the hub's
# clock); every request of a device its boot and monotonic clock, "<boot id> <seconds>", so
# the hub can tell how long ago, in real seconds, a ticket of the same boot was issued.
HUB_TIME_HEADER = "X-Hub-Time"
DEVICE_CLOCK_HEADER = "X-Device-Clock"
# On every answer of a hub that holds a device's long poll of the feed (`?wait=N` with
# If-None-Match): the longest wait it allows. Without it a device keeps to plain polling.
FEED_WAIT_HEADER = "X-Feed-Wait"

TICKET_ISSUED = "ticket.issued"
TICKET_PRINTED = "ticket.printed"  # body: outcome, error; also for failed prints
PRINTER_STATUS = "printer.status"  # body: status, previous; on every change
CLOCK_SUSPECT = "clock.suspect"  # body: device_clock, used
# body: device_clock, hub_clock, offset_s (hub - device, seconds); the device's clock is off the
# hub's by more than times.SKEW_LIMIT; reported when it turns so, not while it stays so
CLOCK_SKEWED = "clock.skewed"
NUMBERING_WRAPPED = "numbering.wrapped"  # body: letter, day, range
BUNDLE_APPLIED = "bundle.applied"  # body: version; the device now shows this content bundle
BUNDLE_REFUSED = "bundle.refused"  # body: version (null if unreadable), reason (a short code), detail
RATING_GIVEN = "rating.given"  # body: window, ticket (null if unknown), score, scale, day
HELP_REQUESTED = "help.requested"  # body: request (the device's id for it), point (where the button is)
BUTTON_STUCK = "button.stuck"  # body: button, pin; a button held far longer than any press
BUTTON_RELEASED = "button.released"  # body: button, pin; a stuck button let go, working again
# Proof of play: body: item (its index in the playlist), kind, asset (null for drawn slides),
# bundle (version, null for the built-in fallback), started_at, duration_s
SLIDE_PLAYED = "slide.played"
# body: item, kind, asset, bundle, reason (a short code), detail; the slide was not shown
SLIDE_SKIPPED = "slide.skipped"
# Software releases (issue 15), sent by the updater of every device role:
SOFTWARE_UPDATED = "software.updated"  # body: from (version, null if unknown), to (version), release
SOFTWARE_ROLLED_BACK = "software.rolled_back"  # body: release, version, reason (one line)
SOFTWARE_UPDATE_FAILED = "software.update_failed"  # body: release (null if unreadable), reason (one line)
_SOFTWARE_EVENTS = frozenset({SOFTWARE_UPDATED, SOFTWARE_ROLLED_BACK, SOFTWARE_UPDATE_FAILED})
EVENT_TYPES = frozenset({TICKET_ISSUED, TICKET_PRINTED, PRINTER_STATUS, CLOCK_SUSPECT, CLOCK_SKEWED,
                         NUMBERING_WRAPPED, BUNDLE_APPLIED, BUNDLE_REFUSED, RATING_GIVEN, HELP_REQUESTED,
                         BUTTON_STUCK, BUTTON_RELEASED, SLIDE_PLAYED, SLIDE_SKIPPED, *_SOFTWARE_EVENTS})
# The events each role of device sends; the hub refuses any other from a device of that role.
# Kiosks issue and print tickets; kiosks and screens follow content bundles; window devices
# (consoles, also those at the entrance) have the rating, help and keypad buttons.
EVENTS_BY_ROLE: dict[str, frozenset[str]] = {
    "kiosk": frozenset({TICKET_ISSUED, TICKET_PRINTED, PRINTER_STATUS, CLOCK_SUSPECT, CLOCK_SKEWED,
                        NUMBERING_WRAPPED, BUNDLE_APPLIED, BUNDLE_REFUSED, *_SOFTWARE_EVENTS}),
    "signage": frozenset({SLIDE_PLAYED, SLIDE_SKIPPED, BUNDLE_APPLIED, BUNDLE_REFUSED, CLOCK_SKEWED,
                          *_SOFTWARE_EVENTS}),
    "console": frozenset({RATING_GIVEN, HELP_REQUESTED, BUTTON_STUCK, BUTTON_RELEASED, CLOCK_SKEWED,
                          *_SOFTWARE_EVENTS}),
}
PRINTER_STATES = ("ok", "paper_near_end", "paper_out", "cover_open", "offline", "unreachable", "no_status")
RATING_SCALES = (3, 5)


def role_problem(role: str, event_type: str) -> str | None:
    """Why a device of `role` may not send an event of `event_type`, or None when it may."""
    if event_type in EVENTS_BY_ROLE.get(role, frozenset()):
        return None
    senders = [r for r, kinds in EVENTS_BY_ROLE.items() if event_type in kinds]
    return f"a {role} device does not send {event_type} events (only {' and '.join(senders) or 'no'} devices do)"


def make_event(event_type: str, center_id: str, device_id: str, at: datetime,
               body: dict[str, Any]) -> dict[str, Any]:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return {
        "id": ids.event_id(),
        "v": PROTOCOL_VERSION,
        "type": event_type,
        "center": center_id,
        "device": device_id,
        "at": at.isoformat(timespec="microseconds"),
        "body": body,
    }


# Limits a hub enforces and a device respects when it sends.
MAX_BATCH_EVENTS = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024
MAX_EVENT_BYTES = 16 * 1024
# A screen's PNG: a 1920x1080 screenshot is 0.3-2 MB, more when a slide is a photograph.
MAX_SCREENSHOT_BYTES = 4 * 1024 * 1024
# A heartbeat is a few hundred bytes of figures; anything much larger is not one.
MAX_HEARTBEAT_BYTES = 8 * 1024
MAX_COMMAND_RESULT = 200  # characters of a command's result, said to a supervisor in one line
# An urgent notice is read from a distance in a banner: a couple of lines, not an article.
MAX_NOTICE_CHARS = 280
MAX_NOTICE_DAYS = 7  # a notice expires at most this long after it is posted

# What a supervisor can ask of a device: restart its app, reboot the machine, send a screenshot.
RESTART, REBOOT, SCREENSHOT = "restart", "reboot", "screenshot"
COMMAND_KINDS = (RESTART, REBOOT, SCREENSHOT)
# A screenshot command's result once the hub has the picture (the console says it in Russian).
SCREENSHOT_SENT = "screenshot sent"

# Devices beat every HEARTBEAT_EVERY_S seconds (each beat says its own interval); the hub calls
# a device offline when it has heard nothing from it for OFFLINE_AFTER_BEATS intervals.
HEARTBEAT_EVERY_S = 60.0
OFFLINE_AFTER_BEATS = 3

# Every check below matches the whole value (fullmatch: "П001\n" is not a ticket number) and
# spells digits [0-9]: \d would take the digits of every script ("П٠٠١").
_TICKET_NUMBER = re.compile(r"[А-Я][0-9]{3}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CODE = re.compile(r"[a-z][a-z-]{0,39}")  # a short reason or kind, e.g. "tampered", "load-chart"
# A window's name as operators, consoles and screens spell it: "5", "12А", "VIP-1".
WINDOW_PATTERN = r"^[0-9A-Za-zА-Яа-яЁё-]{1,8}$"
_WINDOW = re.compile(WINDOW_PATTERN)

# The times an event may carry: far from the ends of Python's calendar, where moving a time to
# UTC overflows (0001-01-01T00:00+05:00), and far from any clock this software could have.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
_MAX_TIME_CHARS = 40


def _is_time(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > _MAX_TIME_CHARS:
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is not None and EARLIEST_TIME <= moment < LATEST_TIME


def _is_day(value: Any) -> bool:
    """A real date such as 2026-11-23 (not 9999-99-99), within the years times may have."""
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        return False
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return False
    return EARLIEST_TIME.date() <= day < LATEST_TIME.date()


def _is_id(value: Any, min_length: int = 1) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value)) and len(value) >= min_length


def _is_code(value: Any) -> bool:
    return isinstance(value, str) and bool(_CODE.fullmatch(value))


_TICKET_ISSUED_FIELDS = {
    "ticket": _is_id,
    "number": lambda v: isinstance(v, str) and bool(_TICKET_NUMBER.fullmatch(v)),
    "service": _is_id,
    "day": _is_day,
    "priority": lambda v: isinstance(v, bool),
    "issued_at": _is_time,
    "status_token": lambda v: _is_id(v, 16),
    # Optional: the kiosk's boot and monotonic clock when it issued the ticket, and whether its
    # time then came from the hub's (offline_cache/hub_time.py); kiosks before it send none.
    "clock": lambda v: v is None or _ticket_clock(v),
    # Optional: the booking the visitor checked in with at the kiosk (id, code, slot_start): the
    # hub calls a booked ticket by its slot and settles a booking checked in at two kiosks.
    "booking": lambda v: v is None or _ticket_booking(v),
    # Optional: the wait estimate printed on the ticket, kept by the hub to measure its accuracy;
    # kiosks before it send none.
    "estimate": lambda v: v is None or _ticket_estimate(v),
}

ESTIMATE_SOURCES = ("hub", "kiosk")  # the hub's figure from its feed, or the kiosk's own guess offline
# A printed estimate is at most a day and a (very) long line; kiosks hold theirs within these.
MAX_ESTIMATE_MINUTES, MAX_ESTIMATE_AHEAD = 24 * 60, 100_000


def _ticket_estimate(v: Any) -> bool:
    return (isinstance(v, dict) and set(v) == {"minutes", "ahead", "source"}
            and all(isinstance(v[k], int) and not isinstance(v[k], bool) for k in ("minutes", "ahead"))
            and 0 <= v["minutes"] <= MAX_ESTIMATE_MINUTES and 0 <= v["ahead"] <= MAX_ESTIMATE_AHEAD
            and v["source"] in ESTIMATE_SOURCES)


# A booking's id and code as the booking system spells them: printable, no spaces, not long.
_BOOKING_TEXT = re.compile(r"[0-9A-Za-zА-Яа-яЁё._:/-]{1,64}")


def _ticket_booking(v: Any) -> bool:
    return (isinstance(v, dict) and set(v) == {"id", "code", "slot_start"}
            and all(isinstance(v[k], str) and bool(_BOOKING_TEXT.fullmatch(v[k])) for k in ("id", "code"))
            and _is_time(v["slot_start"]))


def _seconds(v: Any, limit: float) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= limit


def _ticket_clock(v: Any) -> bool:
    return (isinstance(v, dict) and set(v) == {"boot", "mono", "hub"} and _is_id(v["boot"])
            and _seconds(v["mono"], 1e10) and v["mono"] >= 0 and isinstance(v["hub"], bool))


_CLOCK_SKEWED_FIELDS = {
    # The device's own reading may be anything (1970 until NTP answers): only its size is checked.
    "device_clock": lambda v: isinstance(v, str) and 0 < len(v) <= 40,
    "hub_clock": _is_time,
    "offset_s": lambda v: _seconds(v, 200 * 366 * 86400),
}

# What the hub calls a ticket: its printed number, unless another ticket of the same center and
# day came first with that number (a kiosk whose clock was off, a reboot): then the printed
# number and how many came before with it, П505/2 (said «Пэ пятьсот пять дробь два»).
CALL_NUMBER = re.compile(r"([А-ЯЁ])([0-9]{3})(?:/([2-9]|[1-9][0-9]{1,2}))?")


def call_number(number: str, nth: int) -> str:
    """The call number of the `nth` ticket printed as `number` in one center on one day."""
    return number if nth <= 1 else f"{number}/{nth}"


def device_clock_header(boot: str, mono: float) -> str:
    """The value of DEVICE_CLOCK_HEADER: the device's boot id and monotonic seconds."""
    return f"{boot} {mono:.6f}"


def parse_device_clock(value: str | None) -> tuple[str, float] | None:
    """The boot id and monotonic seconds in a DEVICE_CLOCK_HEADER; None when absent or spoiled."""
    if not value or len(value) > 100:
        return None
    boot, _, mono = value.partition(" ")
    try:
        seconds = float(mono)
    except ValueError:
        return None
    return (boot, seconds) if _is_id(boot) and _seconds(seconds, 1e10) and seconds >= 0 else None



def _bundle_version(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v < 2 ** 63


def _window(v: Any) -> bool:
    return isinstance(v, str) and bool(_WINDOW.fullmatch(v))


def _rating_scale_and_score(body: dict[str, Any]) -> str | None:
    scale, score = body.get("scale"), body.get("score")
    if scale not in RATING_SCALES or isinstance(scale, bool):
        return f"body.scale = {scale!r} is not valid: expected 3 or 5"
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= scale:
        return f"body.score = {score!r} is not valid: expected 1 to {scale}"
    return None


def _slide_fields(**extra: Any) -> dict[str, Any]:
    return {"item": lambda v: isinstance(v, int) and not isinstance(v, bool) and -1 <= v < 10_000,
            "kind": lambda v: _is_code(v) and len(v) <= 20,
            "asset": lambda v: v is None or (isinstance(v, str) and 0 < len(v) <= 200),
            "bundle": lambda v: v is None or _bundle_version(v), **extra}


def _software_version(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64


def _one_line(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 1000 and "\n" not in value


_BUTTON_FIELDS = {"button": lambda v: isinstance(v, str) and 0 < len(v) <= 40,
                  "pin": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 40}

_BODY_FIELDS: dict[str, dict[str, Any]] = {
    TICKET_ISSUED: _TICKET_ISSUED_FIELDS,
    CLOCK_SKEWED: _CLOCK_SKEWED_FIELDS,
    PRINTER_STATUS: {"status": lambda v: v in PRINTER_STATES, "previous": lambda v: v is None or v in PRINTER_STATES},
    RATING_GIVEN: {"window": _window, "ticket": lambda v: v is None or _is_id(v), "day": _is_day},
    HELP_REQUESTED: {"request": lambda v: _is_id(v, 16),
                     "point": lambda v: isinstance(v, str) and 0 < len(v.strip()) <= 60},
    BUTTON_STUCK: _BUTTON_FIELDS,
    BUTTON_RELEASED: _BUTTON_FIELDS,
    BUNDLE_APPLIED: {"version": _bundle_version},
    SLIDE_PLAYED: _slide_fields(started_at=_is_time, duration_s=lambda v: isinstance(v, (int, float))
                                and not isinstance(v, bool) and 0 <= v <= 86_400),
    SLIDE_SKIPPED: _slide_fields(reason=_is_code,
                                 detail=lambda v: isinstance(v, str) and len(v) <= 1000),
    SOFTWARE_UPDATED: {"from": lambda v: v is None or _software_version(v), "to": _software_version,
                       "release": _bundle_version},
    SOFTWARE_ROLLED_BACK: {"release": _bundle_version, "version": _software_version, "reason": _one_line},
    SOFTWARE_UPDATE_FAILED: {"release": lambda v: v is None or _bundle_version(v), "reason": _one_line},
    BUNDLE_REFUSED: {
        "version": lambda v: v is None or _bundle_version(v),
        "reason": _is_code,
        "detail": lambda v: v is None or (isinstance(v, str) and len(v) <= 1000),
    },
}


# The usual spelling of a UUID, as make_event writes it; others that uuid.UUID accepts
# (braces, "urn:uuid:", no dashes) are checked by uuid.UUID itself.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):  # a JSON number of 32 digits would pass uuid.UUID(str(value))
        return False
    if _CANONICAL_UUID.fullmatch(value):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _body_too_large(body: dict[str, Any], body_json: str) -> bool:
    """Whether `json.dumps(body, ensure_ascii=False)` is longer than MAX_EVENT_BYTES characters.

    `body_json` is the body serialised by the caller, with or without spaces after the
    separators. Without them it is at least half as long as with them, so a text of at
    most a quarter of the limit answers the question without serialising the body again.
    """
    if len(body_json) <= MAX_EVENT_BYTES // 4:
        return False
    return len(json.dumps(body, ensure_ascii=False)) > MAX_EVENT_BYTES


def _body_problem(fields: dict[str, Any], body: dict[str, Any]) -> str | None:
    for key, check in fields.items():
        if not check(body.get(key)):
            return f"body.{key} = {body.get(key)!r} is not valid"
    return None


def event_problem(event: Any, body_json: str | None = None) -> str | None:
    """Why an event cannot be accepted, or None when its envelope and body are valid.

    `body_json`, the body already serialised by the caller (compact or not), saves
    serialising it twice.
    """
    if not isinstance(event, dict):
        return "an event must be a JSON object"
    if not _is_uuid(event.get("id")):
        return f"id = {event.get('id')!r} is not a UUID"
    if event.get("v") != PROTOCOL_VERSION:
        return f"v = {event.get('v')!r}: this hub speaks protocol version {PROTOCOL_VERSION}"
    if event.get("type") not in EVENT_TYPES:
        return f"type = {event.get('type')!r} is not a known event type"
    if not _is_time(event.get("at")):
        return (f"at = {event.get('at')!r} is not a time with a time zone between "
                f"{EARLIEST_TIME.year} and {LATEST_TIME.year - 1}")
    if not isinstance(event.get("body"), dict):
        return "body must be a JSON object"
    if body_json is None:
        body_json = json.dumps(event["body"], ensure_ascii=False)
    if _body_too_large(event["body"], body_json):
        return f"the event's body is larger than {MAX_EVENT_BYTES} characters"
    fields = _BODY_FIELDS.get(event["type"])
    problem = _body_problem(fields, event["body"]) if fields else None
    if problem is None and event["type"] == RATING_GIVEN:
        problem = _rating_scale_and_score(event["body"])
    return problem
