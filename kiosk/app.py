"""The kiosk application: navigation, language, large-text mode, idle reset, the attract loop,
closed hours.

Import only after `hardware.display.prepare_kivy()`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.widget import Widget

from hardware.clock import Clock as WallClock
from hardware.display import supervise_screen
from hardware.panel_power import PanelPower, PanelSchedule
from hardware.printer import PrinterStatus, PrintResult
from kiosk.attract import AttractScreen
from kiosk.booking_screens import CheckInDesk
from kiosk.consult_screens import ConsultationScreen, ConsultationsScreen, KidsRoomScreen
from kiosk.content import CatalogUpdates
from kiosk.desk import IssuedTicket, TicketDesk
from kiosk.keyboard import OnScreenKeyboard  # noqa: F401  (used by screens.kv)
from kiosk.notices import NoticeBanner  # noqa: F401  (used by screens.kv)
from kiosk.screens import (
    CategoriesScreen,
    ClosedScreen,
    HomeScreen,
    ResultScreen,
    SearchScreen,
    ServiceScreen,
    ServicesScreen,
    SituationsScreen,
)
from kiosk.when import WhenScreen
from mfc_edge.catalog import Catalog
from mfc_edge.config import DeviceConfig
from mfc_edge.i18n import translator
from mfc_edge.kids_room import KidsRoom
from mfc_edge.service_notify import ServiceNotifier
from offline_cache.bookings import ApplicationBook, Booking, BookingBook
from offline_cache.notices import NoticeBoard

log = logging.getLogger(__name__)

KV_FILES = ("theme.kv", "screens.kv", "attract.kv", "when.kv", "notices.kv", "consult.kv", "booking.kv")
PANEL_WAKES_BEFORE_OPENING = timedelta(minutes=15)  # time for the panel to come up before the first visitor
_kv_loaded = False

STAFF_MESSAGES = {
    PrinterStatus.PAPER_OUT: "Printer: out of paper",
    PrinterStatus.PAPER_NEAR_END: "Printer: paper is running out",
    PrinterStatus.COVER_OPEN: "Printer: cover is open",
    PrinterStatus.OFFLINE: "Printer: offline",
    PrinterStatus.UNREACHABLE: "Printer: not connected",
}


def load_kv_once() -> None:
    global _kv_loaded
    if not _kv_loaded:
        for name in KV_FILES:
            Builder.load_file(str(Path(__file__).parent / name))
        _kv_loaded = True


class KioskApp(App):
    lang = StringProperty("ru")
    tr = ObjectProperty(translator("ru"))
    languages = ListProperty(["ru", "en"])
    large = BooleanProperty(False)
    portrait = BooleanProperty(False)
    unit = NumericProperty(20)
    theme = ObjectProperty(None)
    clock_text = StringProperty("")
    weekday = NumericProperty(0)  # the center's day (Monday 0): the attract loop's load chart marks it
    center_name = StringProperty("")
    staff_banner = StringProperty("")
    current_notices = ListProperty([])  # the center's urgent notices in force (kiosk/notices.py)

    def __init__(self, device: DeviceConfig, catalog: Catalog, desk: TicketDesk, clock: WallClock,
                 catalog_updates: CatalogUpdates | None = None,
                 load_figures: Callable[[], dict | None] = lambda: None,
                 notifier: ServiceNotifier | None = None, panel: PanelPower | None = None,
                 attract: Callable[[], Widget] | None = None, notices: NoticeBoard | None = None,
                 kids_room: Callable[[], KidsRoom | None] = lambda: None,
                 bookings: BookingBook | None = None, applications: ApplicationBook | None = None, **kwargs):
        """`load_figures` gives the hub's load figures (`GET /api/v1/load`), if any; `notifier`
        tells systemd the kiosk is up and alive (by default through $NOTIFY_SOCKET, if set);
        `panel`, when given, sleeps outside opening hours; `attract` makes the attract loop
        (a widget with start(), stop() and `showing`: see kiosk/attract.py); without one the
        kiosk waits on its start screen; `notices` is the center's board of urgent notices;
        `bookings` and `applications` the kiosk's copies for check-in and document readiness."""
        super().__init__(**kwargs)
        self.device, self.catalog, self.desk, self.clock = device, catalog, desk, clock
        self.catalog_updates, self.load_figures = catalog_updates, load_figures
        self.kids_room = kids_room  # the active bundle's kids' room (kiosk/content.py); None: none
        self.attract_factory = attract
        self.notices = notices
        self.checkin = CheckInDesk(self, bookings or BookingBook.of([]), applications or ApplicationBook.of({}))
        self.notifier = notifier or ServiceNotifier()
        self.panel_schedule = PanelSchedule(panel, clock, device.hours, device.timezone,
                                            PANEL_WAKES_BEFORE_OPENING) if panel else None
        self.languages = list(device.languages)
        self.lang = device.languages[0]
        self.tr = translator(self.lang)
        self.history: list[str] = []
        self._end_supervision: Callable[[], None] = lambda: None
        self.last_touch = clock.now()
        self.title = "mfc-edge kiosk"
        desk.on_print_result(lambda issued, result: Clock.schedule_once(
            lambda _dt: self._print_finished(issued, result)))
        desk.on_status_change(lambda _status: Clock.schedule_once(lambda _dt: self._update_banner()))

    # --- building ---------------------------------------------------------------

    def load_kv(self, filename=None) -> None:
        load_kv_once()

    def build(self) -> ScreenManager:
        from kiosk.widgets import Theme

        self.theme = Theme()
        self.manager = ScreenManager(transition=NoTransition())
        for screen in (HomeScreen(name="home"), CategoriesScreen(name="categories"),
                       SituationsScreen(name="situations"), ServicesScreen(name="services"),
                       SearchScreen(name="search"), ServiceScreen(name="service"),
                       ResultScreen(name="result"), ClosedScreen(name="closed"), WhenScreen(name="when"),
                       ConsultationsScreen(name="consultations"), ConsultationScreen(name="consultation"),
                       KidsRoomScreen(name="kids-room"), *self.checkin.screens()):
            self.manager.add_widget(screen)
        self.attract: AttractScreen | None = None
        if self.attract_factory is not None:
            self.attract = AttractScreen(name="attract")
            self.attract.hold(self.attract_factory())
            self.manager.add_widget(self.attract)
        Window.bind(size=self._resize, on_touch_down=self._touched)
        self.checkin.listen()  # a scanner's code, read on any screen
        self._end_supervision = supervise_screen(self.notifier, "kiosk")
        self._resize(Window, Window.size)
        self.on_lang(self, self.lang)
        self.tick()
        self._ticker = Clock.schedule_interval(self.tick, 1.0)
        return self.manager

    def on_stop(self) -> None:
        self._ticker.cancel()
        self._stop_attract()
        self._end_supervision()
        self.checkin.stop()
        Window.unbind(size=self._resize, on_touch_down=self._touched)

    def _resize(self, _window, size) -> None:
        width, height = size
        self.portrait = height > width
        self.unit = min(width, height) / 24 * (1.3 if self.large else 1.0)

    def on_large(self, _app, large: bool) -> None:
        if self.theme:
            self.theme.use("contrast" if large else "normal")
        self._resize(Window, Window.size)

    def on_lang(self, _app, lang: str) -> None:
        self.tr = translator(lang)
        self.center_name = self.device.center_name_in(lang)
        if getattr(self, "manager", None):
            self.manager.current_screen.refresh()
            self._update_banner()

    # --- navigation -------------------------------------------------------------

    @property
    def screen(self) -> str:
        return self.manager.current

    def go(self, name: str) -> None:
        if name != self.manager.current:
            self.history.append(self.manager.current)
            self.manager.current = name

    def go_back(self) -> None:
        self.manager.current = self.history.pop() if self.history else "home"

    def go_home(self, reset: bool = False) -> None:
        """Back to the start; `reset` also restores the language and text size for the next visitor."""
        self._stop_attract()
        self.history.clear()
        self.desk.next_visitor()
        if reset:
            self.lang = self.device.languages[0]
            self.large = False
        self.manager.current = "home"

    def show_services(self, kind: str, key: str) -> None:
        screen = self.manager.get_screen("services")
        screen.source = (kind, key)
        if self.manager.current == "services":
            screen.refresh()
        self.go("services")

    def show_service(self, service_id: str) -> None:
        self.manager.get_screen("service").service_id = service_id
        self.go("service")

    def take_ticket(self, service_id: str, priority: bool, booking: Booking | None = None) -> IssuedTicket:
        issued = self.desk.issue(service_id, priority=priority, lang=self.lang, booking=booking)
        self.manager.get_screen("result").show(issued, self.desk.printing_possible)
        self.history.clear()  # "Back" from a ticket must not lead to taking another
        self.manager.current = "result"
        return issued

    def _print_finished(self, issued: IssuedTicket, result: PrintResult) -> None:
        result_screen = self.manager.get_screen("result")
        if result_screen.issued is issued:
            result_screen.printed(result.outcome)
        self._update_banner()

    def _update_banner(self) -> None:
        message = STAFF_MESSAGES.get(self.desk.printer_status)
        self.staff_banner = self.tr(message) if message else ""

    def _adopt_catalog(self) -> None:
        """A catalog from a new bundle, taken only between visitors."""
        catalog = self.catalog_updates.take()
        if catalog is not None:
            self.catalog = self.desk.catalog = catalog
            self.manager.current_screen.refresh()
            log.info("service catalog updated: %d services", len(catalog.services))

    # --- time -------------------------------------------------------------------

    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.device.timezone)

    def _idle_s(self) -> float:
        return (self.clock.now() - self.last_touch).total_seconds()

    def woken(self) -> None:
        """Someone is here without touching the screen (a code held to the scanner): the
        attract loop ends and the idle timers start again."""
        self.last_touch = self.clock.now()
        self._stop_attract()
        if self.manager.current == "attract":
            self.go_home()

    def _touched(self, *_args) -> None:
        self.last_touch = self.clock.now()
        if self.manager.current != "attract":
            self._stop_attract()  # a loop still waiting for its first slide is not wanted any more

    # --- the attract loop (kiosk/attract.py) ------------------------------------

    def _play_attract(self) -> None:
        """Reset for the next visitor and start the loop; its screen goes up once a slide is on."""
        if self.attract is None or self.manager.current == "attract":
            return
        if self.manager.current != "home" or self.lang != self.device.languages[0] or self.large:
            self.go_home(reset=True)
        self.attract.loop.start()
        if self.attract.loop.showing:
            log.info("idle for %ss: playing the attract loop", self.device.attract_after)
            self.manager.current = "attract"

    def end_attract(self) -> None:
        """A touch: the start screen at once (the loop stops as its screen leaves)."""
        self.manager.current = "home"

    def _stop_attract(self) -> None:
        if self.attract is not None:
            self.attract.loop.stop()

    def tick(self, *_args) -> None:
        now = self.local_now()
        self.clock_text = now.strftime("%H:%M")
        self.weekday = now.weekday()
        if self.notices is not None:  # every second, by this kiosk's clock: a notice goes at its expiry
            self.current_notices = self.notices.current(self.clock.now())
        if self.catalog_updates and self.manager.current in ("home", "closed", "attract"):
            self._adopt_catalog()
        is_open = self.device.hours.is_open(now.date(), now.time())
        if not is_open:
            if self.manager.current != "closed":
                log.info("outside working hours: showing the closed screen")
                self.go_home(reset=True)
                self.manager.current = "closed"
            self.manager.current_screen.refresh()  # "we open tomorrow" becomes "today" at midnight
        elif is_open and self.manager.current == "closed":
            self.go_home(reset=True)
        elif self.attract is not None and self._idle_s() >= self.device.attract_after:
            self._play_attract()
        elif is_open and self._idle_s() >= self.device.idle_timeout:
            if self.manager.current != "home" or self.lang != self.device.languages[0] or self.large:
                log.info("idle for %ss: back to the start", self.device.idle_timeout)
                self.go_home(reset=True)
        asleep = self.panel_schedule.update() if self.panel_schedule else False
        self.notifier.status(", ".join((
            "open" if is_open else "closed", *(["panel asleep"] if asleep else []),
            "printer " + self.desk.printer_status.value.replace("_", " "))))
