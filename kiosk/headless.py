"""Drive the real kiosk screens offscreen with touches: for tests and the headless demo.

`HeadlessKiosk` is a `HeadlessDisplay` that looks through the kiosk's current screen and
types on its on-screen keyboard.
"""
from __future__ import annotations

from kivy.uix.widget import Widget

from hardware.headless_display import HeadlessDisplay
from kiosk.app import KioskApp


class HeadlessKiosk(HeadlessDisplay):
    app: KioskApp

    def __enter__(self) -> HeadlessKiosk:
        return super().__enter__()

    @property
    def screen(self) -> str:
        return self.app.manager.current

    def shown(self) -> Widget:
        return self.app.manager.current_screen

    def type(self, text: str) -> None:
        for char in text:
            self.tap(tag=f"key:{char}")
