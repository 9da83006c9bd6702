"""Behaviour of the kiosk's screens; layouts are in screens.kv.

Screens only show things and pass touches on to the app; the catalog answers what to
list and `TicketDesk` issues tickets.
"""
from __future__ import annotations

from datetime import timedelta

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.desk import IssuedTicket
from kiosk.ticket_layout import booked_call_text, booked_text, estimate_text
from kiosk.widgets import TileButton, qr_texture
from mfc_edge.i18n import people_ahead_text
from mfc_edge.load_summary import hour_span, read_load


class KioskScreen(Screen):
    title = StringProperty("")

    @property
    def app(self):
        return App.get_running_app()

    def refresh(self) -> None:
        """Redraw what depends on the language or the catalog."""

    def on_pre_enter(self, *args) -> None:
        self.refresh()


class HomeScreen(KioskScreen):
    hints_hidden = BooleanProperty(False)  # the hint lines give their room to the buttons (screens.kv)


class TileScreen(KioskScreen):
    """A screen of big tiles (its layout has a grid with id `tiles`); subclasses say which."""

    def tiles(self) -> list[tuple[str, str, object]]:
        raise NotImplementedError

    def refresh(self) -> None:
        grid = self.ids.tiles
        grid.clear_widgets()
        for tag, text, action in self.tiles():
            button = TileButton(tag=tag, text=text)
            button.bind(on_release=lambda _, action=action: action())
            grid.add_widget(button)


class CategoriesScreen(TileScreen):
    def tiles(self):
        lang, app = self.app.lang, self.app
        self.title = app.tr("Services by category")
        return [(f"category:{c.id}", c.name(lang), lambda c=c: app.show_services("category", c.id))
                for c in app.catalog.categories]


class SituationsScreen(TileScreen):
    def tiles(self):
        lang, app = self.app.lang, self.app
        self.title = app.tr("Life situations")
        return [(f"situation:{s.id}", f"{s.name(lang)}\n[size={int(app.unit * 0.8)}]{s.description(lang)}[/size]",
                 lambda s=s: app.show_services("situation", s.id)) for s in app.catalog.situations]

    def refresh(self) -> None:
        super().refresh()
        for tile in self.ids.tiles.children:
            tile.markup = True


class ServicesScreen(TileScreen):
    source = ObjectProperty(("category", ""))

    def tiles(self):
        lang, app, (kind, key) = self.app.lang, self.app, self.source
        if kind == "category":
            group = next(c for c in app.catalog.categories if c.id == key)
            services = app.catalog.in_category(key)
        else:
            group = next(s for s in app.catalog.situations if s.id == key)
            services = app.catalog.in_situation(key)
        self.title = group.name(lang)
        return [(f"service:{s.id}", s.name(lang), lambda s=s: app.show_service(s.id)) for s in services]


class SearchScreen(TileScreen):
    query = StringProperty("")
    hint = StringProperty("")

    def on_keyboard(self, key: str) -> None:
        if key == "backspace":
            self.query = self.query[:-1]
        elif key == "clear":
            self.query = ""
        elif len(self.query) < 40:
            self.query += key
        self.refresh()

    def tiles(self):
        app = self.app
        found = app.catalog.search(self.query) if self.query.strip() else []
        if not self.query.strip():
            self.hint = app.tr("Type a word: passport, pension, parking…")
        elif not found:
            self.hint = app.tr("Nothing found. Try another word or choose a category.")
        else:
            self.hint = ""
        return [(f"service:{s.id}", s.name(app.lang), lambda s=s: app.show_service(s.id)) for s in found]

    def on_leave(self, *args) -> None:
        self.query = ""


def open_consultation(app, consultation_id: str) -> None:
    app.manager.get_screen("consultation").consultation_id = consultation_id
    app.go("consultation")


def consultation_links(app, service_id: str) -> list[TileButton]:
    """Buttons to the consultations that concern a service, for its page."""
    buttons = []
    for consultation in app.catalog.consultations_for(service_id):
        button = TileButton(tag=f"service-consultation:{consultation.id}",
                            text=app.tr("Video consultation: {agency}").format(agency=consultation.agency(app.lang)))
        button.bind(on_release=lambda _b, cid=consultation.id: open_consultation(app, cid))
        buttons.append(button)
    return buttons


class ServiceScreen(KioskScreen):
    service_id = StringProperty("")
    service_name = StringProperty("")
    description = StringProperty("")
    documents = StringProperty("")

    def refresh(self) -> None:
        if not self.service_id:
            return
        lang = self.app.lang
        service = self.app.catalog.service(self.service_id)
        self.service_name = service.name(lang)
        self.description = service.description(lang)
        self.documents = "\n".join(f"•  {d(lang)}" for d in service.documents)
        self.ids.consultations.clear_widgets()
        for button in consultation_links(self.app, service.id):
            self.ids.consultations.add_widget(button)


class ResultScreen(KioskScreen):
    number = StringProperty("")
    service_name = StringProperty("")
    priority_text = StringProperty("")
    people_ahead = StringProperty("")
    wait = StringProperty("")
    print_state = StringProperty("")
    photograph = BooleanProperty(False)  # the printer failed: the screen is the ticket
    qr = ObjectProperty(None, allownone=True)
    issued: IssuedTicket | None = None
    print_outcome: str | None = None

    def show(self, issued: IssuedTicket, printing_possible: bool) -> None:
        self.issued, self.print_outcome = issued, None if printing_possible else "failed"
        self.qr = qr_texture(issued.status_url) if issued.status_url else None
        self.refresh()

    def printed(self, outcome: str) -> None:
        self.print_outcome = outcome
        self.refresh()

    def refresh(self) -> None:
        if self.issued is None:
            return
        t, lang, issued = self.app.tr, self.app.lang, self.issued
        self.number = issued.ticket.number
        self.service_name = issued.service.name(lang)
        self.priority_text = (booked_text(t, issued.booking, self.app.device.timezone) if issued.booking
                              else t("Priority ticket") if issued.ticket.priority else "")
        # A booked ticket is called by its slot, not after the line ahead (hub/queue_order.py).
        self.people_ahead = (booked_call_text(t, issued.ticket, issued.booking) if issued.booking
                             else people_ahead_text(t, issued.estimate.people_ahead))
        self.wait = "" if issued.booking else estimate_text(t, issued.estimate)
        self.photograph = self.print_outcome == "failed"
        if self.print_outcome is None:
            self.print_state = t("Printing your ticket…")
        elif self.photograph:
            self.print_state = t(
                "The printer is not working. Please photograph this screen: the number and the QR code are your ticket.")  # noqa: E501 (one literal for the message extractor)
        else:
            self.print_state = t("Please take your ticket from the printer below.")


class ClosedScreen(KioskScreen):
    opening = StringProperty("")
    best_time = StringProperty("")  # the quietest hours of the day it opens, from the hub's figures

    def refresh(self) -> None:
        t, hours, local_now = self.app.tr, self.app.device.hours, self.app.local_now()
        self.opening = self.best_time = ""
        for days_ahead in range(0, 15):
            day = local_now.date() + timedelta(days=days_ahead)
            opens = hours.opening_on(day)
            if opens is None or (days_ahead == 0 and opens <= local_now.time()):
                continue
            when = (t("today") if days_ahead == 0 else t("tomorrow") if days_ahead == 1
                    else day.strftime("%d.%m.%Y"))
            self.opening = t("We open {when} at {time}.").format(when=when, time=opens.strftime("%H:%M"))
            summary = read_load(self.app.load_figures())
            quietest = summary.day(day.weekday()).quietest if summary else ()
            if quietest:
                self.best_time = t("Fewest visitors {when}: {hours}").format(
                    when=when, hours=", ".join(hour_span(h) for h in sorted(quietest)))
            return
