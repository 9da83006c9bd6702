"""«Когда лучше прийти»: the week's load by hour with today's row marked, the quietest hours of
today named, and how long each group of services waits right now.

The load is the hub's (`GET /api/v1/load`, kept on disk, so the page works offline too). The
waits are the estimates a ticket would print (kiosk/estimate.py): the hub's from its live
feed, or, while the feed is missing, the kiosk's own guess, marked «примерно».
"""
from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk.screens import KioskScreen
from mfc_edge.load_summary import LoadSummary, hour_span, read_load
from mfc_edge.week_hours import SHORT_DAYS

REFRESH_S = 5.0  # the waits move while a visitor reads the page


class LoadCell(Label):
    tag = StringProperty("")
    level = NumericProperty(0.0)  # visitors in the hour as a share of the week's busiest hour
    heading = BooleanProperty(False)  # an hour or a day's name
    today = BooleanProperty(False)
    quiet = BooleanProperty(False)  # one of today's quietest hours


class WaitRow(BoxLayout):
    tag = StringProperty("")
    name = StringProperty("")
    wait = StringProperty("")


class WhenScreen(KioskScreen):
    quietest = StringProperty("")
    no_figures = StringProperty("")
    waits_note = StringProperty("")

    def on_enter(self, *args) -> None:
        app = self.app

        def refresh(_dt: float) -> bool:
            # A kiosk stopped while showing this page never calls on_leave: the timer ends
            # with its app rather than firing inside the next one.
            if App.get_running_app() is not app:
                return False
            self.refresh()
            return True

        self._refreshing = Clock.schedule_interval(refresh, REFRESH_S)

    def on_leave(self, *args) -> None:
        self._refreshing.cancel()

    def refresh(self) -> None:
        app = self.app
        summary = read_load(app.load_figures())
        today = app.local_now().weekday()
        self._fill_load(summary, today)
        self._fill_waits()

    def _fill_load(self, summary: LoadSummary | None, today: int) -> None:
        t, grid = self.app.tr, self.ids.load
        grid.clear_widgets()
        self.no_figures = "" if summary else t("The center's load figures have not arrived yet.")
        day = summary.day(today) if summary else None
        quiet = ", ".join(hour_span(h) for h in sorted(day.quietest)) if day else ""
        self.quietest = t("Fewest visitors {when}: {hours}").format(when=t("today"), hours=quiet) if quiet else ""
        if summary is None:
            grid.cols = 1
            return
        hours = sorted({h for d in summary.days for h in d.hours})
        grid.cols = 1 + len(hours)
        grid.add_widget(LoadCell(text=""))
        for hour in hours:
            grid.add_widget(LoadCell(text=f"{hour:02d}", heading=True))
        peak = summary.peak or 1.0
        for d in summary.days:
            is_today = d.weekday == today
            grid.add_widget(LoadCell(text=t(SHORT_DAYS[d.weekday]), heading=True, today=is_today,
                                             tag=f"load-day:{d.weekday}"))
            figures = dict(zip(d.hours, d.visitors, strict=True))
            for hour in hours:
                visitors = figures.get(hour)
                grid.add_widget(LoadCell(
                    text="" if visitors is None else str(round(visitors)), today=is_today,
                    level=0.0 if visitors is None else visitors / peak, quiet=is_today and hour in d.quietest))

    def _fill_waits(self) -> None:
        app, t = self.app, self.app.tr
        rows = self.ids.waits
        rows.clear_widgets()
        approximate = False
        for category in app.catalog.categories:
            estimates = [app.desk.estimator.estimate(s) for s in app.catalog.in_category(category.id)]
            if not estimates:
                continue
            approximate |= any(e.approximate for e in estimates)
            longest = max(e.minutes for e in estimates)
            waiting = any(e.people_ahead for e in estimates)
            wait = t("up to {m} min").format(m=max(1, longest)) if waiting or longest else t("No wait")
            if waiting and any(e.approximate for e in estimates):
                wait += "\n" + t("(approximate)")
            rows.add_widget(WaitRow(name=category.name(app.lang), wait=wait, tag=f"wait:{category.id}"))
        self.waits_note = t("No connection to the queue: the waits are approximate.") if approximate else ""
