"""The screen's zones and the widgets they are made of; layouts are in layout.kv."""
from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from mfc_edge.load_summary import LoadSummary
from mfc_edge.protocol import WEEKDAYS
from signage.texts import tr

TICKER_SPEED = 0.12  # screen widths per second: slow enough to read while walking past


class SignageRoot(BoxLayout):
    pass


class MainZone(FloatLayout):
    tag = StringProperty("")


# Heights of a call's row in units (see layout.kv): the newest is larger.
NEWEST_ROW, OTHER_ROW, ROW_GAP = 3.2, 2.2, 0.25


class CallRow(BoxLayout):
    number = StringProperty("")
    window = StringProperty("")
    newest = BooleanProperty(False)


class CallsPanel(BoxLayout):
    tag = StringProperty("")

    calls = ListProperty([])

    def on_size(self, *_: Any) -> None:
        Clock.schedule_once(lambda _dt: self.show(self.calls))  # once the labels inside have their sizes

    def show(self, calls: list[dict[str, Any]]) -> None:
        """The calls to show, newest first; the newest is highlighted. Only as many as fit."""
        self.calls = calls
        rows = self.ids.rows
        wanted = [(c["number"], c["window"]) for c in calls][:self.rows_that_fit()]
        if [(r.number, r.window) for r in reversed(rows.children)] == wanted:
            return
        rows.clear_widgets()
        for index, (number, window) in enumerate(wanted):
            rows.add_widget(CallRow(number=number, window=window, newest=index == 0))

    def rows_that_fit(self) -> int:
        unit = App.get_running_app().unit
        room = (self.height - self.padding[1] - self.padding[3] - self.ids.title.height
                - self.ids.header.height - 3 * self.spacing)
        if room < NEWEST_ROW * unit:
            return 1
        return 1 + int((room - NEWEST_ROW * unit) // ((OTHER_ROW + ROW_GAP) * unit))


class KidsCall(BoxLayout):
    number = StringProperty("")
    window = StringProperty("")
    newest = BooleanProperty(False)


class KidsCallsStrip(BoxLayout):
    """The kids' room's calls: a soft strip at the foot of the screen, the newest call first
    and highlighted; a friendly line instead while nobody has been called."""

    tag = StringProperty("")
    calls = ListProperty([])

    def show(self, calls: list[dict[str, Any]]) -> None:
        wanted = [(c["number"], c["window"]) for c in calls]
        if wanted == self.calls:
            return
        self.calls = wanted
        row = self.ids.calls
        row.clear_widgets()
        for index, (number, window) in enumerate(wanted):
            row.add_widget(KidsCall(number=number, window=window, newest=index == 0))


class ScreenNoticeBanner(BoxLayout):
    """The center's urgent notices over the slides: all those in force, newest first, each in
    Russian with its English under it. Nothing at all while there are none."""

    tag = StringProperty("")
    shown = ListProperty([])  # the ids on the banner, newest first

    def show(self, notices: list[Any]) -> None:
        ids = [n.id for n in notices]
        if ids == self.shown:
            return
        self.shown = ids
        rows = self.ids.rows
        rows.clear_widgets()
        for notice in notices:
            rows.add_widget(ScreenNoticeRow(text_ru=notice.text("ru"),
                                      text_en=notice.text_en if notice.text_en != notice.text_ru else ""))


class ScreenNoticeRow(BoxLayout):
    text_ru = StringProperty("")
    text_en = StringProperty("")


class BottomLine(BoxLayout):
    tag = StringProperty("")


class Ticker(FloatLayout):
    """Text running from right to left, round and round; still when it fits."""

    text = StringProperty("")
    tag = StringProperty("")
    offset = NumericProperty(0)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._event = Clock.schedule_interval(self._step, 1 / 30)

    def _step(self, dt: float) -> None:
        label = self.ids.get("label")
        if label is None:
            return
        if label.width <= self.width:
            label.x = self.x
            return
        self.offset = (self.offset + dt * TICKER_SPEED * max(self.width, 1)) % (label.width + self.width)
        label.x = self.right - self.offset

    def stop(self) -> None:
        self._event.cancel()


class Takeover(FloatLayout):
    number = StringProperty("")
    window = StringProperty("")


class LoadGrid(GridLayout):
    """Average visitors by weekday (rows) and hour (columns); today's row stands out."""

    summary = ObjectProperty(None, allownone=True)
    today = NumericProperty(0)
    tag = StringProperty("")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.bind(summary=self._rebuild, today=self._rebuild)

    def cell(self, weekday: int, hour: int) -> Label:
        """The cell of one weekday and hour (for tests and screenshots' checks)."""
        return next(c for c in self.children if getattr(c, "key", None) == (weekday, hour))

    def _rebuild(self, *_: Any) -> None:
        self.clear_widgets()
        summary: LoadSummary | None = self.summary
        if summary is None:
            return
        hours = sorted({h for day in summary.days for h in day.hours})
        self.cols = len(hours) + 1
        peak = summary.peak or 1.0
        self.add_widget(Label(text=""))
        for hour in hours:
            self.add_widget(Label(text=f"{hour:02d}", font_size="22sp", color=(0.75, 0.82, 0.92, 1)))
        for day in summary.days:
            is_today = day.weekday == self.today
            name = tr(WEEKDAYS[day.weekday].capitalize())
            self.add_widget(_Cell(text=name, bold=is_today, fill=(0.2, 0.35, 0.55, 1) if is_today else None))
            averages = dict(zip(day.hours, day.visitors, strict=False))
            for hour in hours:
                value = averages.get(hour)
                cell = _Cell(text="" if value is None else f"{value:.0f}", bold=is_today,
                             fill=_heat(value / peak) if value is not None else (0.1, 0.15, 0.25, 1),
                             frame=is_today)
                cell.key = (day.weekday, hour)
                self.add_widget(cell)


class _Cell(Label):
    def __init__(self, fill: tuple | None = None, frame: bool = False, **kwargs: Any):
        kwargs.setdefault("font_size", "24sp")
        super().__init__(**kwargs)
        self.fill = fill
        with self.canvas.before:
            self._color = Color(*(fill or (0, 0, 0, 0)))
            self._rect = Rectangle(pos=self.pos, size=self.size)
        if frame:
            with self.canvas.after:
                Color(1, 0.8, 0.1, 1)
                self._line = Line(rectangle=(*self.pos, *self.size), width=2)
        self.bind(pos=self._place, size=self._place)

    def _place(self, *_: Any) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size
        if hasattr(self, "_line"):
            self._line.rectangle = (*self.pos, *self.size)


def _heat(share: float) -> tuple[float, float, float, float]:
    """Green for quiet, through yellow, to red for the busiest hour of the week."""
    share = min(max(share, 0.0), 1.0)
    if share < 0.5:
        return 0.15 + 1.3 * share, 0.6, 0.3, 1
    return 0.8, 0.6 - 0.9 * (share - 0.5), 0.2, 1
