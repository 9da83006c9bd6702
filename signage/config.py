"""The waiting-area screen's sections of a device file: `[signage]` and `[announcements]`.

    [signage]
    profile = "waiting-area"     # waiting-area | kids | info-panel: zones and the playlist it plays
    orientation = "landscape"    # landscape (1920x1080) | portrait (1080x1920)
    ticker = "Бесплатный Wi-Fi: MFC-Free"   # the bottom line's running text (ticker_en in English)
    calls_shown = 6              # calls in the now-serving column
    feed_stale_after = 60        # seconds without the hub's queue feed before calls are marked stale
    takeover = false             # a new call fills the whole screen for a few seconds
    screenshot_every = 10        # minutes between screenshots sent to the hub (0: only on request)
    panel = "auto"               # auto | cec | backlight | none: how the panel sleeps outside [hours]
    wake_before = 15             # minutes before opening that the panel wakes
    video_decoder = "auto"       # auto: H.264 in hardware where the Pi has a decoder (Pi 4) | software
    kids_calls = true            # kids profile only: the latest calls in a strip at the foot, with a
                                 # gentle chime ([announcements] enabled, chime, volume, quiet_hours)

    [announcements]
    enabled = true
    english = false              # after the Russian phrase, the same in English
    volume = 80                  # percent
    quiet_hours = ["21:00-08:00"]   # no sound in these windows (they may pass midnight)
    chime = true                 # a chime before each call
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from hardware.panel_power import PANEL_CHOICES
from mfc_edge.checks import boolean, number, one_of, time_windows, whole
from mfc_edge.config import ConfigError, TableReader, nonempty_text
from mfc_edge.times import in_time_window

PROFILES = ("waiting-area", "kids", "info-panel")
VIDEO_DECODERS = ("auto", "software")  # see signage/media.py video_decoder
ORIENTATIONS = {"landscape": (1920, 1080), "portrait": (1080, 1920)}


@dataclass(frozen=True)
class AnnouncementConfig:
    enabled: bool = True
    english: bool = False
    volume: int = 80
    quiet_hours: tuple[tuple[time, time], ...] = ()
    chime: bool = True

    def quiet_at(self, moment: time) -> bool:
        """Whether `moment` (local time) falls in a quiet window; a window may pass midnight."""
        return any(in_time_window(start, end, moment) for start, end in self.quiet_hours)


@dataclass(frozen=True)
class SignageConfig:
    profile: str = "waiting-area"
    orientation: str = "landscape"
    ticker: str = ""
    ticker_en: str = ""
    calls_shown: int = 6
    feed_stale_after: float = 60.0
    takeover: bool = False
    screenshot_every: float = 10.0  # minutes; 0 means only when the hub asks
    panel: str = "auto"  # see hardware/panel_power.py find_panel
    wake_before: float = 15.0  # minutes
    video_decoder: str = "auto"
    kids_calls: bool = True
    announcements: AnnouncementConfig = field(default_factory=AnnouncementConfig)

    @property
    def size(self) -> tuple[int, int]:
        return ORIENTATIONS[self.orientation]

    @property
    def shows_calls(self) -> bool:
        """Whether the screen follows the hub's calls: the hall's column, or the kids' room's strip."""
        return self.profile == "waiting-area" or self.kids_strip

    @property
    def kids_strip(self) -> bool:
        return self.profile == "kids" and self.kids_calls


def _ticker(value: Any) -> str:
    text = nonempty_text(value)
    if len(text) > 500:
        raise ValueError
    return text


def load_section(path: Path, role: str, tables: dict[str, Any]) -> SignageConfig | None:
    """The screen's configuration (None unless the device is a screen or the file has the sections)."""
    if role != "signage":
        present = [name for name in ("signage", "announcements") if tables.get(name) is not None]
        if present:
            raise ConfigError(f"{path}: [{present[0]}] is only for a device with role = \"signage\"")
        return None
    s = TableReader(path, "signage", tables.get("signage") or {})
    a = TableReader(path, "announcements", tables.get("announcements") or {})
    announcements = AnnouncementConfig(
        enabled=a.get("enabled", boolean, "true or false", True),
        english=a.get("english", boolean, "true or false", False),
        volume=a.get("volume", whole(0, 100), "a whole percent from 0 to 100", 80),
        quiet_hours=a.get("quiet_hours", lambda v: () if v == [] else time_windows(v),
                          'a list of windows like "21:00-08:00" (may pass midnight)', ()),
        chime=a.get("chime", boolean, "true or false", True))
    found = SignageConfig(
        profile=s.get("profile", one_of(PROFILES), "one of " + ", ".join(PROFILES), "waiting-area"),
        orientation=s.get("orientation", one_of(ORIENTATIONS), "landscape or portrait", "landscape"),
        ticker=s.get("ticker", _ticker, "text of up to 500 characters", ""),
        ticker_en=s.get("ticker_en", _ticker, "text of up to 500 characters", ""),
        calls_shown=s.get("calls_shown", whole(1, 12), "a whole number from 1 to 12", 6),
        feed_stale_after=s.get("feed_stale_after", number(10, 3600), "seconds from 10 to 3600", 60.0),
        takeover=s.get("takeover", boolean, "true or false", False),
        screenshot_every=s.get("screenshot_every", number(0, 1440), "minutes from 0 (only on request) to 1440",
                               10.0),
        panel=s.get("panel", one_of(PANEL_CHOICES), "one of " + ", ".join(PANEL_CHOICES) + " (none: never sleeps)",
                    "auto"),
        wake_before=s.get("wake_before", number(0, 240), "minutes from 0 to 240", 15.0),
        video_decoder=s.get("video_decoder", one_of(VIDEO_DECODERS),
                            "auto (hardware where the Pi has a decoder) or software", "auto"),
        kids_calls=s.get("kids_calls", boolean, "true or false", True),
        announcements=announcements)
    if found.profile != "kids" and "kids_calls" in (tables.get("signage") or {}):
        raise ConfigError(f'{path}: [signage] kids_calls is only for profile = "kids"')
    s.finish()
    a.finish()
    return found
