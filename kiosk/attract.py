"""The attract loop: what the kiosk plays while nobody touches it, and how a touch ends it.

After `[kiosk] attract_after` seconds untouched, while the center is open, the kiosk goes back
to the start for the next visitor and plays slides (the bundle's pictures and short videos, the
load chart, the rules of the standard) under a large «Коснитесь экрана, чтобы взять талон /
Touch to take a ticket».

The kiosk does not draw those slides itself: the loop comes from a factory handed to the app.
The command layer builds it from the screens' player and this kiosk's bundle, so the kiosk's
room never imports the screens' room. The screen goes up only once the loop shows a slide, so
there is never an empty frame.

A touch is never lost: the first touch ends the loop at once and is passed on, as it is, to the
start screen. A finger that lands where a start-screen button is presses that button (touching
where «Услуги по категориям» is opens the categories); anywhere else it shows the start screen.
"""
from __future__ import annotations

from typing import Protocol

from kivy.uix.widget import Widget

from kiosk.screens import KioskScreen


class AttractLoop(Protocol):
    """A widget that plays slides (the app only starts and stops it)."""

    @property
    def showing(self) -> bool:
        """Whether a slide is on; from then until `stop()` the loop is never empty."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class AttractScreen(KioskScreen):
    loop: AttractLoop | None = None

    def hold(self, loop: Widget) -> None:
        """Put the loop (a widget made by the factory) on this screen, above the caption."""
        self.loop = loop  # type: ignore[assignment]
        self.ids.zone.add_widget(loop)

    def on_leave(self, *args) -> None:
        if self.loop is not None:
            self.loop.stop()

    def on_touch_down(self, touch) -> bool:
        app = self.app
        app.end_attract()
        app.manager.current_screen.dispatch("on_touch_down", touch)
        return True  # the loop's slides never get a touch
