"""«У меня запись» and «Готовность документов»: a booking code or an application number typed
on a large keypad, or read by a USB scanner anywhere, and what the visitor is told.

Both work from the kiosk's own copies (offline_cache/bookings.py), so with the hub away too.
The check-in rules are kiosk/checkin.py's; a booked ticket, a normal one and the collection
lane's all go through the one ticket path (`app.take_ticket` → TicketDesk.issue), which also
records a booking as used at this kiosk. Layouts are in booking.kv.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from kivy.core.window import Window
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.checkin import ON_TIME, UNKNOWN, Outcome, check_in
from kiosk.scanner import ScanDetector
from kiosk.screens import KioskScreen
from kiosk.widgets import KButton, TileButton
from mfc_edge.protocol import booking_code_key
from offline_cache.bookings import ApplicationBook, BookingBook

COLLECTION_SERVICE = "document-collection"  # the catalog's collection lane
ENTER_KEYS = (13, 271)  # Enter and the keypad's Enter, as Kivy numbers them
BOOKING_KEYS = ("1234567890", "ABCDEFGHIJ", "KLMNOPQRST", "UVWXYZ-")
NUMBER_KEYS = ("123", "456", "789", "/0-")
LONGEST_CODE = 32


class CodeKeypad(BoxLayout):
    """Big keys in rows; emits `on_key` with a character, "backspace" or "clear"."""

    rows = StringProperty("")  # the rows, separated by "|"
    __events__ = ("on_key",)

    def __init__(self, **kwargs):
        super().__init__(orientation="vertical", spacing=4, **kwargs)
        self.bind(rows=lambda *_: self._build())

    def on_key(self, key: str) -> None:
        pass

    def _key(self, label: str, key: str, **kwargs) -> KButton:
        button = KButton(text=label, tag=f"key:{key}", **kwargs)
        button.bind(on_release=lambda *_: self.dispatch("on_key", key))
        return button

    def _build(self) -> None:
        self.clear_widgets()
        for row in self.rows.split("|"):
            line = BoxLayout(spacing=4)
            for char in row:
                line.add_widget(self._key(char, char))
            self.add_widget(line)


class CodeScreen(KioskScreen):
    """A code typed on the keypad; `purpose` is "booking" or "documents"."""

    purpose = StringProperty("booking")
    code = StringProperty("")
    keys = StringProperty("|".join(BOOKING_KEYS))

    def on_purpose(self, _screen, purpose: str) -> None:
        self.keys = "|".join(BOOKING_KEYS if purpose == "booking" else NUMBER_KEYS)

    def on_pre_enter(self, *args) -> None:
        self.code = ""

    def on_key(self, key: str) -> None:
        if key == "backspace":
            self.code = self.code[:-1]
        elif key == "clear":
            self.code = ""
        elif len(self.code) < LONGEST_CODE:
            self.code += key

    def submit(self) -> None:
        if not booking_code_key(self.code):
            return
        if self.purpose == "booking":
            self.app.checkin.check(self.code)
        else:
            self.app.checkin.lookup(self.code)


def fill_actions(screen: KioskScreen, actions: list[tuple[str, str, bool, Callable[[], object]]]) -> None:
    """The answer's buttons (tag, text, accent, action), only those it allows."""
    box = screen.ids.actions
    box.clear_widgets()
    for tag, text, accent, action in actions:
        button = (Factory.AccentButton if accent else TileButton)(tag=tag, text=text, tile_units=3.4)
        button.bind(on_release=lambda _b, action=action: action())
        box.add_widget(button)


class BookingOutcomeScreen(KioskScreen):
    greeting = StringProperty("")
    message = StringProperty("")
    outcome: Outcome | None = None

    def show(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.refresh()

    def refresh(self) -> None:
        outcome, app = self.outcome, self.app
        if outcome is None:
            return
        t, booking = app.tr, outcome.booking
        offered = booking is not None and booking.service in {s.id for s in app.catalog.services}
        self.message = outcome.message(t, app.device.timezone, app.clock.now())
        if booking is not None and not offered:  # a service this kiosk's catalog does not know
            self.message += "\n" + t("Please ask a consultant in the hall.")
        self.greeting = (t("Welcome, {initial}.").format(initial=booking.initial)
                         if outcome.kind == ON_TIME and booking is not None and booking.initial else "")
        desk, actions = app.checkin, []
        if offered and outcome.booked_ticket:
            actions.append(("take-booked", t("Take the booked ticket"), True, desk.take_booked))
        if outcome.kind == UNKNOWN and outcome.suggestion:
            suggestion = outcome.suggestion
            actions.append(("use-suggestion", t("Yes, my code is {code}").format(code=suggestion), True,
                            lambda: desk.check(suggestion)))
        if offered and outcome.normal_ticket:
            actions.append(("take-normal", t("Take a normal ticket"), False, desk.take_normal))
        if not outcome.booked_ticket:
            actions.append(("try-again", t("Type the code again"), False, lambda: app.go("booking")))
        fill_actions(self, actions)


class DocumentStatusScreen(KioskScreen):
    number = StringProperty("")
    state = StringProperty("")  # "ready", "not-ready", "collected" or "" (not found)
    message = StringProperty("")

    def show(self, number: str, state: str | None) -> None:
        self.number, self.state = number, state or ""
        self.refresh()

    def refresh(self) -> None:
        t, number = self.app.tr, self.number
        messages = {
            "ready": t("The documents for application {number} are ready. Take a ticket to collect them."),
            "not-ready": t("The documents for application {number} are not ready yet. Please check again later."),
            "collected": t("The documents for application {number} have already been collected."),
        }
        text = messages.get(self.state, t(
            "Application {number} is not found. Please check the number on your receipt or ask a consultant in the hall."))  # noqa: E501
        app, actions = self.app, []
        if self.state == "ready" and app.checkin.collection_lane:
            actions.append(("take-collection", t("Take a ticket to collect documents"), True,
                            app.checkin.take_collection))
        elif self.state == "ready":  # a center's own catalog without the collection lane
            text = t("The documents for application {number} are ready. Please ask a consultant in the hall.")
        self.message = text.format(number=number)
        actions.append(("other-number", t("Another number"), False, lambda: app.go("documents")))
        fill_actions(self, actions)


class CheckInDesk:
    """The kiosk's check-in part: the copies it reads, the scanner it listens to, and the
    screens it shows. Held by the app as `app.checkin`."""

    def __init__(self, app, bookings: BookingBook, applications: ApplicationBook,
                 monotonic: Callable[[], float] = time.monotonic):
        self.app, self.bookings, self.applications = app, bookings, applications
        self.monotonic = monotonic
        self.scanner = ScanDetector()

    def screens(self) -> list[KioskScreen]:
        return [CodeScreen(name="booking", purpose="booking"), BookingOutcomeScreen(name="booking-outcome"),
                CodeScreen(name="documents", purpose="documents"), DocumentStatusScreen(name="document-status")]

    @property
    def collection_lane(self) -> bool:
        return any(s.id == COLLECTION_SERVICE for s in self.app.catalog.services)

    # --- what the visitor asks ------------------------------------------------

    def check(self, code: str) -> Outcome:
        app = self.app
        outcome = check_in(code, self.bookings, app.desk.store.checked_in(), app.clock.now(),
                           other_centers=dict(app.device.other_centers))
        app.manager.get_screen("booking-outcome").show(outcome)
        app.go("booking-outcome")
        return outcome

    def lookup(self, number: str) -> str | None:
        state = self.applications.status(number)
        self.app.manager.get_screen("document-status").show(number.strip(), state)
        self.app.go("document-status")
        return state

    def take_booked(self) -> None:
        outcome = self.app.manager.get_screen("booking-outcome").outcome
        if outcome is not None and outcome.booked_ticket and outcome.booking is not None:
            self.app.take_ticket(outcome.booking.service, False, booking=outcome.booking)

    def take_normal(self) -> None:
        outcome = self.app.manager.get_screen("booking-outcome").outcome
        if outcome is not None and outcome.normal_ticket and outcome.booking is not None:
            self.app.take_ticket(outcome.booking.service, False)

    def take_collection(self) -> None:
        if self.collection_lane:
            self.app.take_ticket(COLLECTION_SERVICE, False)

    # --- the scanner ----------------------------------------------------------

    def listen(self) -> None:
        Window.bind(on_textinput=self._typed, on_key_down=self._key_down)

    def stop(self) -> None:
        Window.unbind(on_textinput=self._typed, on_key_down=self._key_down)

    def _typed(self, _window, text: str) -> None:
        for char in text:
            self.scanner.char(char, self.monotonic())

    def _key_down(self, _window, key: int, *_args) -> None:
        if key in ENTER_KEYS:
            scanned = self.scanner.enter(self.monotonic())
            if scanned:
                self.scanned(scanned)

    def scanned(self, text: str) -> None:
        """A code read by the scanner, on whatever screen (the attract loop too): a booking
        known here or anything that is not an application number goes to check-in; an
        application number (known, or spelled with «/») to its readiness."""
        app = self.app
        if app.manager.current == "closed":  # nobody to serve: the scanner is not the way in after hours
            return
        app.woken()
        if self.bookings.find(text) is None and (self.applications.status(text) is not None or "/" in text):
            self.lookup(text)
        else:
            self.check(text)
