"""An on-screen keyboard with Russian (ЙЦУКЕН) and English (QWERTY) layouts.

Kivy's VKeyboard ships no Russian layout and small keys; this one has big keys that
follow app.unit, a layout switch, and emits `on_key` with a character, "backspace" or
"clear".
"""
from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.widgets import KButton

LAYOUTS = {
    "ru": ("1234567890-", "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю"),
    "en": ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm"),
}
SWITCH_LABEL = {"ru": "ABC", "en": "АБВ"}


class OnScreenKeyboard(BoxLayout):
    layout = StringProperty("ru")
    __events__ = ("on_key",)

    def __init__(self, **kwargs):
        super().__init__(orientation="vertical", **kwargs)
        self.bind(layout=lambda *_: self._build())
        self._build()

    def on_key(self, key: str) -> None:
        pass

    def _key(self, label: str, key: str, action=None, **kwargs) -> KButton:
        button = KButton(text=label, tag=f"key:{key}", **kwargs)
        button.bind(on_release=action or (lambda *_: self.dispatch("on_key", key)))
        return button

    def _build(self) -> None:
        tr = App.get_running_app().tr
        self.clear_widgets()
        for row in LAYOUTS[self.layout]:
            line = BoxLayout(spacing=2)
            for char in row:
                line.add_widget(self._key(char.upper(), char))
            self.add_widget(line)
        other = "en" if self.layout == "ru" else "ru"
        last = BoxLayout(spacing=2)
        last.add_widget(self._key(SWITCH_LABEL[self.layout], "layout", size_hint_x=0.16,
                                  action=lambda *_: setattr(self, "layout", other)))
        last.add_widget(self._key(tr("Space"), " ", size_hint_x=0.44))
        last.add_widget(self._key(tr("Delete"), "backspace", size_hint_x=0.2))
        last.add_widget(self._key(tr("Clear"), "clear", size_hint_x=0.2))
        self.add_widget(last)
