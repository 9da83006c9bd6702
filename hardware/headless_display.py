"""A Kivy app's screen without a display: frames on demand, touches, screenshots.

`HeadlessDisplay` runs an app frame by frame offscreen (see `hardware.display.prepare_kivy`
with `headless=True`). Touches go through Kivy's event loop exactly as a finger's would;
widgets are found by their `tag` or their text. The kiosk and the waiting-area screens are
driven by it in tests, benchmarks and the headless demo.

Each frame is finished (`glFinish`) before the next is drawn. A display's buffer swap waits
for the frame before it; SDL's offscreen swap does nothing, and Mesa's llvmpipe then kept
memory for every draw call it was given and never finished: about 60 KB each, so a
waiting-area screen grew from 250 to 480 MB within 60 slide changes and a single rectangle
redrawn 20,000 times to 750 MB. Finished frame by frame, both stay flat.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from kivy.app import App
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.graphics.opengl import glFinish
from kivy.tests.common import UnitTestTouch
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget


class WidgetNotFound(LookupError):
    pass


def walk(widget: Widget) -> Iterator[Widget]:
    yield widget
    for child in reversed(widget.children):
        yield from walk(child)


def _finish_frame(*_: object) -> None:
    glFinish()


class HeadlessDisplay:
    def __init__(self, app: App, size: tuple[int, int] = (1280, 800)):
        self.app = app
        self.size = size

    def __enter__(self):
        EventLoop.ensure_window()
        Window.bind(on_flip=_finish_frame)
        Window.size = self.size
        self.app._run_prepare()
        self.frames(3)
        return self

    def __exit__(self, *exc: object) -> None:
        self.app.dispatch("on_stop")
        for child in Window.children[:]:
            Window.remove_widget(child)
        EventLoop.touches.clear()
        Window.unbind(on_flip=_finish_frame)
        App._running_app = None

    def frames(self, count: int = 2) -> None:
        for _ in range(count):
            EventLoop.idle()

    def resize(self, size: tuple[int, int]) -> None:
        Window.size = size
        self.frames(3)

    def shown(self) -> Widget:
        """The widget whose contents `find`, `texts` and `tap` look through."""
        return self.app.root

    def widgets(self) -> Iterator[Widget]:
        yield from walk(self.shown())

    def find(self, tag: str | None = None, text: str | None = None) -> Widget:
        for widget in self.widgets():
            if tag is not None and getattr(widget, "tag", None) == tag:
                return widget
            if text is not None and getattr(widget, "text", None) == text:
                return widget
        raise WidgetNotFound(f"no widget with tag={tag!r} text={text!r} in {type(self.shown()).__name__}")

    def texts(self) -> list[str]:
        """Every text shown, top to bottom as laid out."""
        return [w.text for w in self.widgets() if isinstance(getattr(w, "text", None), str) and w.text]

    def tap(self, tag: str | None = None, text: str | None = None) -> Widget:
        # A screen that has just refilled its tiles (a new language, a new list) lays them out
        # in the next frames: a finger lands where they are drawn, not where they were made.
        self.frames(2)
        widget = self.find(tag, text)
        x, y = self._settled_centre(widget)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.frames(1)
        touch.touch_up()
        self.frames(2)
        return widget

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.frames(1)
            if condition():
                return True
            time.sleep(0.01)
        return condition()

    def screenshot(self, path: str | Path) -> Path:
        self.frames(2)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.app.root.export_to_png(str(path))
        return path

    def _settled_centre(self, widget: Widget, most_frames: int = 30) -> tuple[float, float]:
        """Where the widget's centre is drawn once its list has scrolled to it and stopped moving.

        Refilled tiles change height over several frames (wrapped labels, then the grid, then
        the scroller's content), so one scroll can aim at where a tile was: scroll again until
        the centre is inside the scroller's view and stays put between two frames.
        """
        scroller = next((p for p in self._parents(widget) if isinstance(p, ScrollView)), None)
        centre = widget.to_window(*widget.center)
        if scroller is None:
            return centre
        for _ in range(most_frames):
            left, bottom = scroller.to_window(scroller.x, scroller.y)
            inside = left <= centre[0] <= left + scroller.width and bottom <= centre[1] <= bottom + scroller.height
            if not inside:
                scroller.scroll_to(widget, padding=0, animate=False)
            self.frames(1)
            now = widget.to_window(*widget.center)
            if inside and now == centre:
                return now
            centre = now
        return centre

    @staticmethod
    def _parents(widget: Widget) -> Iterator[Widget]:
        while widget.parent is not None and widget.parent is not widget:
            widget = widget.parent
            yield widget
