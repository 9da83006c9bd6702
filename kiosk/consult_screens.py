"""The kiosk's video consultation pages and its kids' room page; layouts are in consult.kv.

Video consultations come from the catalog (mfc_edge/catalog.py): the list says, for each agency,
whether its specialists are on line now or when next; an entry's page shows a large QR code to
its consultation page, for the visitor's phone, and, when the center has a video booth, takes a
ticket for it through the one ticket path (`app.take_ticket`). The kids' room page shows the
room's hours and today's activities from the kiosk bundle's kids.toml (mfc_edge/kids_room.py),
read each time the page opens, so a new bundle shows without a restart.
"""
from __future__ import annotations

from datetime import datetime, time

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from kiosk.screens import KioskScreen, TileScreen, open_consultation
from kiosk.widgets import qr_texture
from mfc_edge.catalog import Consultation
from mfc_edge.i18n import Translator
from mfc_edge.kids_room import Activity, KidsRoom
from mfc_edge.week_hours import WeekHours

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # message ids


def on_line_text(t: Translator, hours: WeekHours, now: datetime) -> str:
    """Whether specialists are on line at `now` (local time), or when they next are."""
    until = hours.until(now)
    if until is not None:
        return t("On line now, until {time}").format(time=until.strftime("%H:%M"))
    start = hours.next_start(now)
    if start is None:  # hours always hold an interval; kept for a clock far off
        return ""
    days = (start.date() - now.date()).days
    when = t("today") if days == 0 else t("tomorrow") if days == 1 else t(DAYS[start.weekday()])
    return t("Next on line: {when}, from {time}").format(when=when, time=start.strftime("%H:%M"))


def spans(intervals: tuple[tuple[time, time], ...]) -> str:
    return ", ".join(f"{a.strftime('%H:%M')}–{b.strftime('%H:%M')}" for a, b in intervals)


class ConsultationsScreen(TileScreen):
    def tiles(self):
        app, t, lang = self.app, self.app.tr, self.app.lang
        self.title = t("Video consultations")
        now, small = app.local_now(), int(app.unit * 0.8)

        def text(c: Consultation) -> str:  # the agency, its questions, and whether it can be reached now
            status = on_line_text(t, c.hours, now)
            return f"[b]{c.agency(lang)}[/b]\n[size={small}]{c.topics(lang)}\n[b]{status}[/b][/size]"
        return [(f"consultation:{c.id}", text(c), lambda c=c: open_consultation(app, c.id))
                for c in app.catalog.consultations]

    def refresh(self) -> None:
        super().refresh()
        for tile in self.ids.tiles.children:
            tile.markup = True


class ConsultationScreen(KioskScreen):
    consultation_id = StringProperty("")
    agency = StringProperty("")
    topics = StringProperty("")
    hours = StringProperty("")
    status = StringProperty("")  # on line now, or when next
    booth = BooleanProperty(False)
    qr = ObjectProperty(None, allownone=True)
    _qr_url = ""

    def consultation(self) -> Consultation | None:
        return next((c for c in self.app.catalog.consultations if c.id == self.consultation_id), None)

    def refresh(self) -> None:
        consultation = self.consultation()
        if consultation is None:  # gone with a new catalog: nothing to show
            self.agency = self.topics = self.hours = self.status = ""
            self.booth, self.qr = False, None
            return
        t, lang = self.app.tr, self.app.lang
        self.agency = consultation.agency(lang)
        self.topics = consultation.topics(lang)
        self.hours = "\n".join(consultation.hours.describe(t))
        self.status = on_line_text(t, consultation.hours, self.app.local_now())
        self.booth = consultation.booth_service is not None
        if consultation.url != self._qr_url:  # drawing a code takes a moment: only when it changes
            self.qr, self._qr_url = qr_texture(consultation.url), consultation.url
        self.title = t("Video consultation")  # the agency's name is the page's own title

    def take_booth_ticket(self) -> None:
        consultation = self.consultation()
        if consultation is not None and consultation.booth_service is not None:
            self.app.take_ticket(consultation.booth_service, False)


def ages_text(t: Translator, ages: tuple[int, int]) -> str:
    low, high = ages
    if low == high:
        return t.n("age {n}", "age {n}", high).format(n=high)
    return t.n("ages {a}–{b}", "ages {a}–{b}", high).format(a=low, b=high)


def activity_text(t: Translator, lang: str, activity: Activity) -> str:
    text = f"[b]{activity.start.strftime('%H:%M')}–{activity.end.strftime('%H:%M')}[/b]   {activity.title(lang)}"
    return text + (f"  ·  {ages_text(t, activity.ages)}" if activity.ages else "")


class KidsRoomScreen(KioskScreen):
    today = StringProperty("")  # today's hours
    week = StringProperty("")  # the week's hours
    note = StringProperty("")
    none_today = StringProperty("")
    scheduled = BooleanProperty(False)  # the bundle has a kids.toml: its activities are listed

    def refresh(self) -> None:
        app, t, lang = self.app, self.app.tr, self.app.lang
        room: KidsRoom | None = app.kids_room()
        now = app.local_now()
        self.ids.activities.clear_widgets()
        if room is None:  # no kids.toml in the bundle: the room keeps the center's hours
            center = app.device.hours
            opens = None if now.date() in center.closed_dates else center.by_weekday[now.weekday()]
            self.today = t("Open today: {hours}").format(hours=spans((opens,))) if opens else t("Closed today")
            self.week = ""
            self.note = t("The kids' room is open while the center is open. Ask a consultant in the hall about today's activities.")  # noqa: E501 (one literal for the message extractor)
            self.none_today, self.scheduled = "", False
            return
        intervals = room.hours.today(now)
        self.today = t("Open today: {hours}").format(hours=spans(intervals)) if intervals else t("Closed today")
        self.week = "\n".join(room.hours.describe(t))
        self.note = room.note(lang) if room.note else ""
        self.scheduled = True
        activities = room.activities_on(now.date())
        self.none_today = "" if activities else t("No classes today: the room is open for free play.")
        for i, activity in enumerate(activities):
            label = Factory.KLabel(text=activity_text(t, lang, activity), markup=True, font_size=app.unit * 1.1)
            label.tag = f"activity:{i}"
            self.ids.activities.add_widget(label)
