"""The window device's sections of a device file: rating buttons, help button, keypad.

Pins are BCM numbers (GPIO2 to GPIO27, what a Raspberry Pi's 40-pin header offers); a pin
given twice anywhere in the file is an error naming both uses, since two devices on one pin
make each other's presses.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfc_edge.config import ConfigError, TableReader, nonempty_text
from mfc_edge.protocol import WINDOW_PATTERN

PIN_RANGE = (2, 27)
PIN_TEXT = "a BCM pin number from 2 to 27"
# The first four are the keypad's original keys; each key is optional.
KEYPAD_ACTIONS = ("call_next", "recall", "no_show", "done", "hold", "return", "pause", "resume")
DISPLAYS = ("none", "terminal")
_WINDOW = re.compile(WINDOW_PATTERN)


@dataclass(frozen=True)
class RatingConfig:
    buttons: tuple[int, ...]  # worst first
    leds: tuple[int, ...] = ()
    buzzer: int | None = None


@dataclass(frozen=True)
class HelpButtonConfig:
    pin: int
    point: str  # where the button is, as operators should read it: "Вход, пандус"
    led: int | None = None


@dataclass(frozen=True)
class KeypadConfig:
    pins: dict[str, int]  # action -> pin
    display: str = "none"


@dataclass(frozen=True)
class ConsoleConfig:
    window: str | None
    debounce_ms: int = 30
    rating: RatingConfig | None = None
    help_button: HelpButtonConfig | None = None
    keypad: KeypadConfig | None = None

    def pins(self) -> dict[int, str]:
        """Every configured pin and what it does: for `gpio-test`, `doctor` and the README's table."""
        uses: dict[int, str] = {}
        if self.rating:
            uses.update({p: f"rating button {i}" for i, p in enumerate(self.rating.buttons, 1)})
            uses.update({p: f"rating LED {i}" for i, p in enumerate(self.rating.leds, 1)})
            if self.rating.buzzer is not None:
                uses[self.rating.buzzer] = "buzzer"
        if self.help_button:
            uses[self.help_button.pin] = "help button"
            if self.help_button.led is not None:
                uses[self.help_button.led] = "help LED"
        if self.keypad:
            uses.update({p: f"keypad {a}" for a, p in self.keypad.pins.items()})
        return uses


def _pin(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not PIN_RANGE[0] <= value <= PIN_RANGE[1]:
        raise ValueError
    return value


def _pins(count: Callable[[int], bool]) -> Callable[[Any], tuple[int, ...]]:
    def check(value: Any) -> tuple[int, ...]:
        if not isinstance(value, list) or not count(len(value)):
            raise ValueError
        return tuple(_pin(v) for v in value)
    return check


def _point(value: Any) -> str:
    if len(nonempty_text(value)) > 60:
        raise ValueError
    return nonempty_text(value)


def _debounce_ms(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 500:
        raise ValueError
    return value


def _window(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _WINDOW.match(value):
        raise ValueError
    return value


class _PinLedger:
    """Remembers which key took each pin, to name both when one is used twice."""

    def __init__(self, path: Path):
        self.path, self.used = path, {}

    def take(self, reader: TableReader, key: str, pins: tuple[int, ...]) -> None:
        for pin in pins:
            if pin in self.used:
                raise ConfigError(f"{self.path}: [{reader.section}] {key} = {pin!r}: expected a pin not used "
                                  f"elsewhere (GPIO{pin} is already {self.used[pin]})")
            self.used[pin] = f"[{reader.section}] {key}"


def _rating(path: Path, table: Any, ledger: _PinLedger) -> RatingConfig:
    r = TableReader(path, "rating", table)
    buttons = r.get("buttons", _pins(lambda n: n in (3, 5)), "a list of 3 or 5 BCM pin numbers (2 to 27), worst first")
    leds = r.get("leds", _pins(lambda n: n == len(buttons)), f"a list of {len(buttons)} pins, one per button", ())
    buzzer = r.get("buzzer", _pin, PIN_TEXT, None)
    r.finish()
    ledger.take(r, "buttons", buttons)
    ledger.take(r, "leds", leds)
    ledger.take(r, "buzzer", () if buzzer is None else (buzzer,))
    return RatingConfig(buttons, leds, buzzer)


def _help_button(path: Path, table: Any, ledger: _PinLedger) -> HelpButtonConfig:
    r = TableReader(path, "help_button", table)
    found = HelpButtonConfig(pin=r.get("pin", _pin, PIN_TEXT), led=r.get("led", _pin, PIN_TEXT, None),
                             point=r.get("point", _point, "where the button is, up to 60 characters, "
                                         "e.g. \"Вход, пандус\""))
    r.finish()
    ledger.take(r, "pin", (found.pin,))
    ledger.take(r, "led", () if found.led is None else (found.led,))
    return found


def _keypad(path: Path, table: Any, ledger: _PinLedger) -> KeypadConfig:
    r = TableReader(path, "keypad", table)
    pins = {a: r.get(a, _pin, PIN_TEXT, None) for a in KEYPAD_ACTIONS}
    display = r.get("display", lambda v: DISPLAYS[DISPLAYS.index(v)], "one of " + ", ".join(DISPLAYS), "none")
    r.finish()
    pins = {a: p for a, p in pins.items() if p is not None}
    if not pins:
        raise ConfigError(f"{path}: [keypad] has no keys: expected at least one of " + ", ".join(KEYPAD_ACTIONS))
    for action, pin in pins.items():
        ledger.take(r, action, (pin,))
    return KeypadConfig(pins, display)


def load_section(path: Path, role: str, tables: dict[str, Any]) -> ConsoleConfig | None:
    """The window device's configuration from its sections (None when the file has none)."""
    if not any(tables.get(k) is not None for k in ("console", "rating", "help_button", "keypad")):
        if role == "console":
            raise ConfigError(f"{path}: a console device needs at least one of [rating], [help_button], [keypad]")
        return None
    ledger = _PinLedger(path)
    console = TableReader(path, "console", tables.get("console") or {})
    window = console.get("window", _window, "the window's number, e.g. \"5\" (up to 8 letters, digits or -)", None)
    debounce = console.get("debounce_ms", _debounce_ms, "milliseconds from 1 to 500", 30)
    console.finish()
    found = ConsoleConfig(
        window=window, debounce_ms=debounce,
        rating=_rating(path, tables["rating"], ledger) if tables.get("rating") is not None else None,
        help_button=_help_button(path, tables["help_button"], ledger)
        if tables.get("help_button") is not None else None,
        keypad=_keypad(path, tables["keypad"], ledger) if tables.get("keypad") is not None else None)
    if (found.rating or found.keypad) and window is None:
        raise ConfigError(f"{path}: [console] window is missing: expected the window's number, which "
                          "[rating] and [keypad] act for")
    return found
