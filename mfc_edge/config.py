"""Device configuration: one TOML file per device, validated before anything starts.

Every problem stops the device with one `ConfigError` whose message names the file,
the key, the bad value and what is allowed, so a technician can fix it from the log
line alone. Unknown keys are errors too: a misspelt key silently ignored is how a
kiosk ends up printing to the wrong printer.

`[hub] url` is where the device reaches the hub, usually on the center's network;
`[hub] public_url` (optional) is the hub's address as visitors' phones reach it from the
internet: the QR code and link on each ticket lead there (`/t/<token>`), and to `url` when
it is not set. A center's kiosk bundle may set public_url for all its kiosks.
"""
from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mfc_edge.checks import number
from mfc_edge.files import read_toml
from mfc_edge.protocol import WEEKDAYS

ROLES = ("kiosk", "signage", "console")
LANGUAGES = ("ru", "en")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
ID_RULE = "lowercase latin letters, digits and hyphens, up to 40"  # of center and device ids
_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says why and where."""


@dataclass(frozen=True)
class OpeningHours:
    """When the center takes visitors: one interval per weekday (None = closed)."""

    by_weekday: tuple[tuple[time, time] | None, ...]
    closed_dates: frozenset[date] = frozenset()

    def is_open(self, local_date: date, local_time: time) -> bool:
        if local_date in self.closed_dates:
            return False
        interval = self.by_weekday[local_date.weekday()]
        return interval is not None and interval[0] <= local_time < interval[1]

    def opening_on(self, local_date: date) -> time | None:
        if local_date in self.closed_dates:
            return None
        interval = self.by_weekday[local_date.weekday()]
        return interval[0] if interval else None


EVERY_DAY_8_TO_20 = OpeningHours(by_weekday=((time(8), time(20)),) * 7)


@dataclass(frozen=True)
class DeviceConfig:
    path: Path
    center_id: str
    center_name: str
    center_name_en: str
    timezone: ZoneInfo
    device_id: str
    role: str
    data_dir: Path
    languages: tuple[str, ...] = LANGUAGES
    ticket_range: tuple[int, int] = (1, 999)
    idle_timeout: float = 60.0
    attract_after: float = 120.0  # a kiosk left untouched this long plays its attract loop
    # Booking codes of other centers by their prefix → that center's name: a visitor at the
    # wrong center is told where the booking is (kiosk/checkin.py).
    other_centers: tuple[tuple[str, str], ...] = ()
    windows: int = 3
    hours: OpeningHours = EVERY_DAY_8_TO_20
    printer: Any = None  # a PrinterConfig (kiosk.config) for kiosks
    hub_url: str | None = None
    hub_public_url: str | None = None
    hub_ca_file: str | None = None
    console: Any = None  # a ConsoleConfig (window_device.config) for window and entrance devices
    signage: Any = None  # a SignageConfig (signage.config) for waiting-area screens

    def center_name_in(self, lang: str) -> str:
        return self.center_name_en if lang == "en" and self.center_name_en else self.center_name

    def status_page_url(self, status_token: str) -> str | None:
        """The ticket's page on the visitor's phone (its QR code), or None without a hub."""
        base = self.hub_public_url or self.hub_url
        return f"{base}/t/{status_token}" if base else None


class TableReader:
    """Reads one TOML table, turning every bad value into a ConfigError."""

    def __init__(self, path: Path, section: str, table: Any):
        self.path, self.section = path, section
        if not isinstance(table, dict):
            raise self.error(None, table, "a table")
        self.table = dict(table)
        self.seen: set[str] = set()

    def error(self, key: str | None, value: Any, allowed: str) -> ConfigError:
        where = f"[{self.section}]" if key is None else f"[{self.section}] {key}"
        return ConfigError(f"{self.path}: {where} = {value!r}: expected {allowed}")

    def get(self, key: str, check: Callable[[Any], Any], allowed: str, default: Any = ...) -> Any:
        self.seen.add(key)
        if key not in self.table:
            if default is ...:
                raise ConfigError(f"{self.path}: [{self.section}] {key} is missing: expected {allowed}")
            return default
        value = self.table[key]
        try:
            return check(value)
        except (ValueError, TypeError, KeyError, ZoneInfoNotFoundError):
            raise self.error(key, value, allowed) from None

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            known = ", ".join(sorted(self.seen))
            raise ConfigError(
                f"{self.path}: [{self.section}] {unknown[0]} is not a known key: expected one of {known}"
            )


def _other_centers(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or len(value) > 200:
        raise ValueError
    found = []
    for prefix, name in value.items():
        if not re.fullmatch(r"[0-9A-Za-zА-Яа-яЁё]{1,10}", prefix) or not nonempty_text(name) or len(name) > 120:
            raise ValueError
        found.append((prefix, name))
    return tuple(found)


def nonempty_text(value: Any) -> str:
    """A string with something in it, stripped; the check for names and texts."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value.strip()


def is_ident(value: Any) -> bool:
    """Whether `value` is a center or device id: never empty, never a path."""
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def _ident(value: Any) -> str:
    if not is_ident(value):
        raise ValueError
    return value


def _ticket_range(value: Any) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ValueError
    low, high = value
    if not 1 <= low < high <= 999:
        raise ValueError
    return low, high


def _languages(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(set(value)) != len(value):
        raise ValueError
    if any(lang not in LANGUAGES for lang in value):
        raise ValueError
    return tuple(value)


def _interval(value: Any) -> tuple[time, time] | None:
    if value == "closed":
        return None
    match = _HOURS.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError
    h1, m1, h2, m2 = map(int, match.groups())
    start, end = time(h1, m1), time(h2, m2)  # raises ValueError for 25:00
    if not start < end:
        raise ValueError
    return start, end


def _dates(value: Any) -> frozenset[date]:
    if not isinstance(value, list):
        raise ValueError
    return frozenset(v if isinstance(v, date) else date.fromisoformat(v) for v in value)


def _hub_url(value: Any) -> str:
    parts = urlsplit(value if isinstance(value, str) else "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError
    return value.rstrip("/")


def _existing_file(config_path: Path) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        candidate = config_path.parent / nonempty_text(value)
        if not candidate.is_file():
            raise ValueError
        return str(candidate)
    return check


# The sections a device's own room reads: the DeviceConfig field each fills, the module
# with its `load_section(path, role, tables)`, the role it belongs to and its tables. A room
# is imported only when the file has its tables or is for its role, so the shared ground
# names the rooms but depends on none of them (nor on their libraries, such as escpos).
ROOM_SECTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "printer": ("kiosk.config", "kiosk", ("printer",)),
    "console": ("window_device.config", "console", ("console", "rating", "help_button", "keypad")),
    "signage": ("signage.config", "signage", ("signage", "announcements")),
}

# What a center's bundle may set for all its kiosks (its `kiosk.toml`); a device's identity,
# printer, number range and hub link stay in the device's own file. The hub's public address
# is the center's, the same for every kiosk.
OVERRIDABLE = {"center": ("name", "name_en"),
               "kiosk": ("languages", "idle_timeout", "attract_after", "windows", "other_centers"),
               "hours": (*WEEKDAYS, "closed_dates"), "hub": ("public_url",)}


def _read_toml(path: Path) -> dict[str, Any]:
    return read_toml(path, ConfigError)


def _overlay(data: dict[str, Any], overrides: Path) -> dict[str, Any]:
    """`data` with the sections of `overrides` laid over it, once every key is one a bundle may set."""
    extra = _read_toml(overrides)
    merged = {name: dict(table) if isinstance(table, dict) else table for name, table in data.items()}
    for section, table in extra.items():
        if section not in OVERRIDABLE or not isinstance(table, dict):
            raise ConfigError(f"{overrides}: [{section}] cannot be set by a bundle: expected one of "
                              + ", ".join(f"[{s}]" for s in OVERRIDABLE))
        for key, value in table.items():
            if key not in OVERRIDABLE[section]:
                raise ConfigError(f"{overrides}: [{section}] {key} cannot be set by a bundle: expected one of "
                                  + ", ".join(OVERRIDABLE[section]))
            merged.setdefault(section, {})[key] = value
    return merged


def load_config(path: str | Path, overrides: str | Path | None = None) -> DeviceConfig:
    """Read and validate a device's TOML file; raise ConfigError on the first problem.

    `overrides` is a bundle's `kiosk.toml`: the center-wide settings in OVERRIDABLE."""
    path = Path(path)
    data = _read_toml(path)
    if overrides is not None:
        data = _overlay(data, Path(overrides))
        try:
            return _parse(path, data)
        except ConfigError as exc:
            raise ConfigError(f"{overrides} laid over {exc}") from None
    return _parse(path, data)


def check_overrides(path: str | Path) -> None:
    """Raise ConfigError unless `path` is settings a bundle may give its kiosks, with good values."""
    bare = {"center": {"id": "any", "name": "any"}, "device": {"id": "any", "role": "signage"}}
    _parse(Path(path), _overlay(bare, Path(path)))


def _parse(path: Path, data: dict[str, Any]) -> DeviceConfig:

    top = TableReader(path, "top level", data)
    center = TableReader(path, "center", top.get("center", dict, "a [center] table"))
    device = TableReader(path, "device", top.get("device", dict, "a [device] table"))
    kiosk = TableReader(path, "kiosk", top.get("kiosk", dict, "a table", {}))
    hours = TableReader(path, "hours", top.get("hours", dict, "a table", {}))
    hub = TableReader(path, "hub", top.get("hub", dict, "a table", {}))
    room_tables = {field: {name: top.get(name, dict, "a table", None) for name in names}
                   for field, (_, _, names) in ROOM_SECTIONS.items()}
    top.finish()

    cfg: dict[str, Any] = dict(
        path=path,
        center_id=center.get("id", _ident, ID_RULE),
        center_name=center.get("name", nonempty_text, "the center's name in Russian"),
        center_name_en=center.get("name_en", nonempty_text, "the center's name in English", ""),
        timezone=center.get("timezone", ZoneInfo, "an IANA time zone such as Europe/Moscow",
                            ZoneInfo("Europe/Moscow")),
        device_id=device.get("id", _ident, ID_RULE),
        role=device.get("role", lambda v: ROLES[ROLES.index(v)], "one of " + ", ".join(ROLES)),
        data_dir=path.parent / device.get("data_dir", nonempty_text, "a folder path", "data"),
    )
    cfg["languages"] = kiosk.get("languages", _languages,
                                 "a list of distinct languages from " + ", ".join(LANGUAGES), LANGUAGES)
    cfg["ticket_range"] = kiosk.get("ticket_range", _ticket_range,
                                    "[first, last] with 1 <= first < last <= 999", (1, 999))
    cfg["idle_timeout"] = kiosk.get("idle_timeout", number(10, 3600),
                                    "seconds from 10 to 3600", 60.0)
    cfg["attract_after"] = kiosk.get("attract_after", number(10, 3600), "seconds from 10 to 3600", 120.0)
    cfg["other_centers"] = kiosk.get("other_centers", _other_centers,
                                     'a table of booking code prefixes and center names, e.g. '
                                     '{ MR = "Центр госуслуг района Марьино" }', ())
    cfg["windows"] = int(kiosk.get("windows", number(1, 200),
                                   "the number of windows that usually serve visitors, 1 to 200", 3))
    intervals = tuple(
        hours.get(day, _interval, "HH:MM-HH:MM with start before end, or \"closed\"", (time(8), time(20)))
        for day in WEEKDAYS
    )
    cfg["hours"] = OpeningHours(
        intervals, hours.get("closed_dates", _dates, "a list of dates such as 2026-01-01", frozenset())
    )
    cfg["hub_url"] = hub.get("url", _hub_url, "an http:// or https:// URL", None)
    cfg["hub_public_url"] = hub.get("public_url", _hub_url, "an http:// or https:// URL that visitors' phones "
                                    "reach", None)
    cfg["hub_ca_file"] = hub.get("ca_file", _existing_file(path), "a PEM file of the CA that signed the hub's "
                                 "certificate", None)
    for reader in (center, device, kiosk, hours, hub):
        reader.finish()

    for field, (module, role, _) in ROOM_SECTIONS.items():
        tables = room_tables[field]
        if cfg["role"] == role or any(table is not None for table in tables.values()):
            cfg[field] = importlib.import_module(module).load_section(path, cfg["role"], tables)
    return DeviceConfig(**cfg)
