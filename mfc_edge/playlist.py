"""Playlists of the waiting-area screens: what to show, for how long, and when.

A signage bundle holds `playlist.toml` next to the media it names. It has one playlist per
screen profile (a screen's configuration says which one it plays). A kiosk bundle may hold
one too, with a `kiosk` playlist: the attract loop the kiosk plays while nobody touches it.

    [playlists.waiting-area]
    [[playlists.waiting-area.items]]
    type = "image"                  # image | video | text | qr | consultation | load-chart | rules | satisfaction
    asset = "media/passport.png"    # a file of the bundle (image and video)
    duration = 12                   # seconds; a video without one plays to its end
    order = 10                      # lower first; by default the order in the file
    from = 2026-12-01               # optional: shown from this date ...
    until = 2026-12-31              # ... to this one, both included
    weekdays = ["mon", "tue"]       # optional: only on these days
    hours = ["08:00-12:00", "22:00-02:00"]   # optional: only in these windows; may pass midnight

Text slides have `title`/`text` (and `title_en`/`text_en`); QR slides a `url` and a
`title`; consultation slides `consultation = "rosreestr-video"`, the id of a video
consultation of the catalog (the bundle's catalog.toml, or the built-in one: see
signage/slides.py ConsultationSlide); videos `sound = true` to play with sound. A window
that passes midnight belongs to the day it starts on: "22:00-02:00" with weekdays = ["fri"]
runs from Friday 22:00 to Saturday 02:00.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from mfc_edge.checks import boolean, one_of, time_windows, whole
from mfc_edge.config import ConfigError, TableReader, nonempty_text
from mfc_edge.files import read_toml
from mfc_edge.protocol import WEEKDAYS
from mfc_edge.times import window_day

ITEM_TYPES = ("image", "video", "text", "qr", "consultation", "load-chart", "rules", "satisfaction")
NEEDS_ASSET = ("image", "video")
PROFILES = ("waiting-area", "kids", "info-panel", "kiosk")
# What a kiosk plays with no `kiosk` playlist of its own: the slides it draws itself.
BUILT_IN_KIOSK_LOOP = ("load-chart", "rules", "satisfaction")
MAX_DURATION_S = 3600


class PlaylistError(ConfigError):
    """A playlist that cannot be used; the message names the file, the item and the key."""


@dataclass(frozen=True)
class Item:
    index: int  # position in the file: a stable identity for proof-of-play
    type: str
    order: int
    duration: float | None
    asset: str | None = None
    sound: bool = False
    title: str = ""
    title_en: str = ""
    text: str = ""
    text_en: str = ""
    url: str = ""
    consultation: str = ""  # a catalog's video consultation id
    first_day: date | None = None
    last_day: date | None = None
    weekdays: frozenset[int] = frozenset(range(7))
    windows: tuple[tuple[time, time], ...] = ()

    def shown_at(self, moment: datetime) -> bool:
        """Whether the item is scheduled at this local time."""
        if not self.windows:
            return self._day_allowed(moment.date())
        days = (window_day(start, end, moment) for start, end in self.windows)
        return any(day is not None and self._day_allowed(day) for day in days)

    def _day_allowed(self, day: date) -> bool:
        return (day.weekday() in self.weekdays and (self.first_day is None or day >= self.first_day)
                and (self.last_day is None or day <= self.last_day))


@dataclass(frozen=True)
class Playlist:
    name: str
    items: tuple[Item, ...]

    def scheduled(self, moment: datetime) -> list[Item]:
        return [item for item in self.items if item.shown_at(moment)]

    def next_after(self, current: Item | None, moment: datetime) -> Item | None:
        """The item to show after `current`: the next scheduled one in order, round and round.
        None when nothing is scheduled (the screen then shows its fallback)."""
        scheduled = self.scheduled(moment)
        if not scheduled:
            return None
        if current is not None:
            for item in scheduled:
                if (item.order, item.index) > (current.order, current.index):
                    return item
        return scheduled[0]


def built_in_playlist(name: str, kinds: tuple[str, ...] = BUILT_IN_KIOSK_LOOP, seconds: float = 12.0) -> Playlist:
    """A playlist of drawn slides (no files), for a device whose bundle has none."""
    return Playlist(name, tuple(Item(index=i, type=kind, order=i * 10, duration=seconds)
                                for i, kind in enumerate(kinds)))


def load_playlists(path: str | Path) -> dict[str, Playlist]:
    path = Path(path)
    return parse_playlists(path, read_toml(path, PlaylistError))


def parse_playlists(path: Path, data: dict[str, Any]) -> dict[str, Playlist]:
    try:
        return _parse(path, data)
    except PlaylistError:
        raise
    except ConfigError as exc:  # the shared table reader's errors, under this module's name
        raise PlaylistError(str(exc)) from None


def _parse(path: Path, data: dict[str, Any]) -> dict[str, Playlist]:
    top = TableReader(path, "playlist.toml", data)
    playlists = top.get("playlists", _table, "a table of playlists, e.g. [playlists.waiting-area]")
    top.finish()
    if not playlists:
        raise PlaylistError(f"{path}: [playlists] is empty: expected at least one playlist")
    result = {}
    for name, table in playlists.items():
        reader = TableReader(path, f"playlists.{name}", table)
        items = reader.get("items", _list, "a list of [[playlists.NAME.items]]")
        reader.finish()
        result[name] = Playlist(name, tuple(sorted(
            (_item(path, f"playlists.{name}.items #{i + 1}", i, raw) for i, raw in enumerate(items)),
            key=lambda item: (item.order, item.index))))
    return result


def _item(path: Path, section: str, index: int, raw: Any) -> Item:
    r = TableReader(path, section, raw)
    kind = r.get("type", one_of(ITEM_TYPES), "one of " + ", ".join(ITEM_TYPES))
    text = {key: r.get(key, nonempty_text, "text", "") for key in ("title", "title_en", "text", "text_en")}
    item = Item(
        index=index, type=kind,
        order=r.get("order", whole(-10**6, 10**6), "a whole number", index * 10),
        duration=r.get("duration", _seconds, f"seconds, more than 0 and at most {MAX_DURATION_S}",
                        None if kind == "video" else 10.0),
        asset=r.get("asset", nonempty_text, "the name of a file in the bundle", None),
        sound=r.get("sound", boolean, "true or false", False),
        url=r.get("url", _url, "an https:// or http:// address", ""),
        consultation=r.get("consultation", _ident, "the id of a video consultation, like \"rosreestr-video\"", ""),
        first_day=r.get("from", _date, "a date like 2026-12-01", None),
        last_day=r.get("until", _date, "a date like 2026-12-31", None),
        weekdays=r.get("weekdays", _weekdays, "a list of " + ", ".join(WEEKDAYS), frozenset(range(7))),
        windows=r.get("hours", time_windows, 'a list of windows like "08:00-12:00" or "22:00-02:00"', ()),
        **text)
    r.finish()
    if kind in NEEDS_ASSET and not item.asset:
        raise PlaylistError(f"{path}: [{section}] asset is missing: a {kind} needs a file of the bundle")
    if kind == "qr" and not item.url:
        raise PlaylistError(f"{path}: [{section}] url is missing: a QR slide needs the address it opens")
    if kind == "consultation" and not item.consultation:
        raise PlaylistError(f"{path}: [{section}] consultation is missing: the id of a video consultation "
                            "of the catalog, like \"rosreestr-video\"")
    if item.first_day and item.last_day and item.first_day > item.last_day:
        raise PlaylistError(f"{path}: [{section}] from = {item.first_day} is after until = {item.last_day}")
    return item


def _table(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError
    return value


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise ValueError
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_DURATION_S:
        raise ValueError
    return float(value)


def _url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+\S*$", value):
        raise ValueError
    return value


def _ident(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[a-z0-9][a-z0-9-]{0,59}$", value):
        raise ValueError
    return value


def _date(value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, (date, str)):
        raise ValueError
    return value if isinstance(value, date) else date.fromisoformat(value)


def _weekdays(value: Any) -> frozenset[int]:
    if not isinstance(value, list) or not value or any(v not in WEEKDAYS for v in value):
        raise ValueError
    return frozenset(WEEKDAYS.index(v) for v in value)


