"""The waiting-area screen: zones, the playlist's rotation, the calls, the clock and the ticker.

The hall's profile (waiting-area) shows the calls in a column beside the slides; the kids'
room's (kids) in a strip at the foot of the screen, the latest one or two, so a parent
watching the cartoons with a child sees their turn come. Every profile lays the center's
urgent notices over its slides, looked at each second by the screen's own clock, so one
goes away at its expiry, hub or no hub.

Import only after `hardware.display.prepare_kivy()`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from hardware.clock import Clock as WallClock
from hardware.display import supervise_screen
from hardware.panel_power import PanelPower, PanelSchedule
from hardware.screen_capture import capture_png
from mfc_edge.config import DeviceConfig
from mfc_edge.load_summary import read_load
from mfc_edge.service_notify import ServiceNotifier
from signage.player import Player
from signage.slides import SlideData
from signage.texts import tr
from signage.widgets import SignageRoot, Takeover

log = logging.getLogger(__name__)

# Not signage.kv: Kivy would load that by itself, again. The zones first: the slides use their colours.
KV_FILES = [Path(__file__).parent / name for name in ("layout.kv", "slides.kv")]
TAKEOVER_S = 8.0
# How often the screen looks at its feed by its own timer. A feed the hub pushes is looked at
# the moment it arrives (`Screen.on_feed`); the timer is the safety net for a change it missed.
FOLLOW_CALLS_S = 0.5
KIDS_STRIP_CALLS = 2  # the strip is small: the newest call and the one before it
# Message ids of the bottom line's date (not strftime: the device's locale is not the visitor's).
MONTHS = tuple(f"{{day}} {m}" for m in ("January", "February", "March", "April", "May", "June", "July",
                                        "August", "September", "October", "November", "December"))
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_kv_loaded = False


def load_kv_once() -> None:
    global _kv_loaded
    if not _kv_loaded:
        for path in KV_FILES:
            Builder.load_file(str(path))
        _kv_loaded = True


def calls_to_show(feed: dict[str, Any], today: str, timezone: Any, count: int) -> list[dict[str, Any]]:
    """Today's calls, newest first, each ticket once (a recall moves it to the top)."""
    shown, seen = [], set()
    for call in feed.get("calls") or []:
        try:
            day = datetime.fromisoformat(call["at"]).astimezone(timezone).date().isoformat()
            number, window = str(call["number"]), str(call["window"])
        except (KeyError, TypeError, ValueError):
            continue
        if day == today and number not in seen:
            seen.add(number)
            shown.append({"number": number, "window": window})
    return shown[:count]


class SignageApp(App):
    portrait = BooleanProperty(False)
    shows_calls = BooleanProperty(True)  # the hall's column of calls
    shows_kids_strip = BooleanProperty(False)  # the kids' room's strip of calls
    shows_bottom_line = BooleanProperty(True)
    unit = NumericProperty(36)
    clock_text = StringProperty("")
    date_text = StringProperty("")
    ticker_text = StringProperty("")
    calls_notice = StringProperty("")
    weekday = NumericProperty(0)
    follow_every = FOLLOW_CALLS_S

    def __init__(self, device: DeviceConfig, screen: Any, clock: WallClock, *,
                 new_calls: Callable[[dict[str, Any]], list[dict[str, Any]]] = lambda feed: [],
                 notifier: ServiceNotifier | None = None, panel: PanelPower | None = None, **kwargs):
        """`screen` holds the parts (see signage.wiring.Screen): content, feed, load, ratings, report.
        `new_calls(feed)` gives the calls in a feed snapshot not seen before (they are announced).
        `notifier` tells systemd the screen is up and alive (by default through $NOTIFY_SOCKET, if
        set); `panel`, when given, sleeps outside opening hours as [signage] panel and wake_before say."""
        super().__init__(**kwargs)
        self.device, self.screen, self.clock, self.new_calls = device, screen, clock, new_calls
        self.settings = device.signage
        self.notifier = notifier or ServiceNotifier()
        self.panel_schedule = PanelSchedule(panel, clock, device.hours, device.timezone,
                                            timedelta(minutes=self.settings.wake_before)) if panel else None
        self.title = "mfc-edge signage"
        self.shows_calls = self.settings.profile == "waiting-area"
        self.shows_kids_strip = self.settings.kids_strip
        self.shows_bottom_line = self.settings.profile != "kids"
        self.player: Player | None = None
        self.takeover: Takeover | None = None
        self._events: list[Any] = []
        self._end_supervision: Callable[[], None] = lambda: None

    # --- texts ------------------------------------------------------------------

    @staticmethod
    def tr(message: str, lang: str = "ru") -> str:
        return tr(message, lang)

    # --- building ---------------------------------------------------------------

    def build(self) -> SignageRoot:
        load_kv_once()
        Window.bind(size=self._resized)
        self._resized(Window, Window.size)
        self._tick_clock()
        root = SignageRoot()
        # Zones a profile does not have leave the layout, so the others take their room.
        self.calls_panel, self.bottom_line = root.ids.calls.__self__, root.ids.bottom.__self__
        self.kids_strip, self.notice_banner = root.ids.kids_strip.__self__, root.ids.notices.__self__
        if not self.shows_calls:
            self.calls_panel.parent.remove_widget(self.calls_panel)
        if not self.shows_kids_strip:
            root.remove_widget(self.kids_strip)
        if not self.shows_bottom_line:
            root.remove_widget(self.bottom_line)
        self.ticker_text = "     ".join(t for t in (self.settings.ticker, self.settings.ticker_en) if t)
        self.player = Player(root.ids.main, self.screen.content, data=self._slide_data,
                             local_now=self.local_now, utc_now=self.clock.now, report=self.screen.report,
                             video_volume=1.0, video_decoders=self.settings.video_decoder)
        self._events = [Clock.schedule_interval(self.player.tick, 0.1),
                        Clock.schedule_interval(lambda _dt: self._tick_clock(), 1.0),
                        Clock.schedule_interval(lambda _dt: self._show_notices(), 1.0),
                        Clock.schedule_interval(lambda _dt: self._follow_calls(), self.follow_every)]
        # A new feed arrives on the poller's thread: the call is drawn and its announcement
        # queued in the next frame. A trigger runs once however many feeds came before it, and
        # the follow itself shows and announces each call once (NewCalls), timer or not.
        follow_soon = Clock.create_trigger(lambda _dt: self._follow_calls(), 0)
        self._events.append(follow_soon)
        if hasattr(self.screen, "on_feed"):
            self.screen.on_feed = follow_soon
        if self.panel_schedule:
            self._events.append(Clock.schedule_interval(lambda _dt: self.panel_schedule.update(), 10.0))
            self.panel_schedule.update()
        self._end_supervision = supervise_screen(self.notifier, "signage")
        Clock.schedule_once(lambda _dt: self.player.tick())
        return root

    def on_start(self) -> None:
        self._follow_calls()
        self._show_notices()

    def on_stop(self) -> None:
        if hasattr(self.screen, "on_feed"):
            self.screen.on_feed = None
        for event in self._events:
            event.cancel()
        self._end_supervision()
        if self.player:
            self.player.stop()
        if self.root:
            self.bottom_line.ids.ticker.stop()

    def _resized(self, _window: Any, size: tuple[int, int]) -> None:
        width, height = size
        self.portrait = height > width
        self.unit = max(12.0, min(width, height) / 30)

    # --- data ---------------------------------------------------------------------

    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.device.timezone)

    def _slide_data(self) -> SlideData:
        load = self.screen.load.last_known() if self.screen.load else None
        ratings = self.screen.ratings.latest() if self.screen.ratings else None
        return SlideData(center_name=self.device.center_name, load=read_load(load), ratings=ratings,
                         now=self.local_now())

    def _tick_clock(self) -> None:
        now = self.local_now()
        self.clock_text = now.strftime("%H:%M")
        self.date_text = f"{tr(MONTHS[now.month - 1]).format(day=now.day)}\n{tr(DAYS[now.weekday()])}"
        self.weekday = now.weekday()

    def _follow_calls(self) -> None:
        if not (self.shows_calls or self.shows_kids_strip) or self.root is None:
            return
        shown, count = (self.calls_panel, self.settings.calls_shown) if self.shows_calls else \
            (self.kids_strip, KIDS_STRIP_CALLS)
        feed = self.screen.feed.latest() if self.screen.feed else None
        if feed is None:
            never = self.screen.feed is None or self.screen.feed.age() is None
            self.calls_notice = (
                tr("Calls are shown on the displays above the windows") + "\n"
                + tr("Calls are shown on the displays above the windows", "en")) if never else (
                tr("No connection to the queue: watch the displays above the windows") + "\n"
                + tr("No connection to the queue: watch the displays above the windows", "en"))
            shown.show([])
            self.notifier.status("waiting for the hub's queue" if never else "no connection to the hub's queue")
            return
        self.notifier.status("showing calls")
        self.calls_notice = ""
        today = self.local_now().date().isoformat()
        shown.show(calls_to_show(feed, today, self.device.timezone, count))
        fresh = self.new_calls(feed)
        if fresh and self.settings.takeover:
            self.show_takeover(fresh[-1]["number"], fresh[-1]["window"])

    def _show_notices(self) -> None:
        board = self.screen.notices
        if self.root is not None:
            self.notice_banner.show(board.current(self.clock.now()) if board else [])

    def show_takeover(self, number: str, window: str) -> None:
        """The whole screen says who is called, for a few seconds; the playlist runs on beneath."""
        if self.takeover is None:
            self.takeover = Takeover()
            (self.root_window or Window).add_widget(self.takeover)
        self.takeover.number, self.takeover.window = number, window
        Clock.unschedule(self._end_takeover)
        Clock.schedule_once(self._end_takeover, TAKEOVER_S)

    def _end_takeover(self, _dt: float = 0.0) -> None:
        if self.takeover is not None:
            self.takeover.parent.remove_widget(self.takeover)
            self.takeover = None

    # --- screenshots ----------------------------------------------------------------

    def capture_png(self, timeout: float = 5.0) -> bytes | None:
        """A PNG of what the screen shows, a call's takeover included; callable from any thread."""
        return capture_png(self.root_window or Window, timeout)
