"""The screens' slide rotation in a widget of its own, to be started and stopped anywhere.

The kiosk plays one while nobody touches it (its attract loop). The kiosk may not import this
room, so the command layer (mfc_edge.cli) makes the loop and hands the kiosk a factory; the
kiosk sees only a widget with `start()`, `stop()` and `showing`. It is the same `Player`, with
the same rules against a blank frame: a slide goes on only once it is ready, over the one before.

The slides' layouts (slides.kv) read from the running app: `unit`, `portrait`, `clock_text`,
`weekday` and `tr(message, lang)`. An app that hosts a loop provides them.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kivy.animation import Animation
from kivy.clock import Clock

from signage.app import load_kv_once
from signage.player import Player, PlaylistSource
from signage.slides import SlideData
from signage.widgets import MainZone

TICK_S = 0.1  # as often as the screens' own zone: a finished slide is replaced within a frame or two


class SlideLoop(MainZone):
    def __init__(self, source: PlaylistSource, *, data: Callable[[], SlideData],
                 local_now: Callable[[], datetime], utc_now: Callable[[], datetime],
                 report: Callable[[str, dict[str, Any]], Any] = lambda kind, body: None, **kwargs: Any):
        """`report` gets the player's proof-of-play events (by default none are kept: a kiosk's
        loop is not paid-for airtime)."""
        load_kv_once()
        super().__init__(**kwargs)
        self.player = Player(self, source, data=data, local_now=local_now, utc_now=utc_now, report=report)
        self._ticks: Any = None

    @property
    def showing(self) -> bool:
        """Whether a slide is on: from then until `stop()` the zone is never empty."""
        return self.player.current is not None

    def start(self) -> None:
        """Play from where the loop last stopped, reading the bundle again (it may be newer)."""
        if self._ticks is not None:
            return
        refresh = getattr(self.player.source, "refresh", None)
        if refresh is not None:
            refresh()
        self._ticks = Clock.schedule_interval(self.player.tick, TICK_S)
        self.player.tick()

    def stop(self) -> None:
        """Stop playing and free every slide (pictures, videos) until the next `start()`."""
        if self._ticks is not None:
            self._ticks.cancel()
            self._ticks = None
        leaving = [child for child in self.children if child is not self.player.current]
        self.player.stop()
        for slide in leaving:  # one still fading out: its fade would have freed it
            Animation.cancel_all(slide)
            slide.release()
        for child in self.children[:]:
            Animation.cancel_all(child)
        self.clear_widgets()
