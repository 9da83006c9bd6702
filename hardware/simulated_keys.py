"""Keyboard keys that press the simulated buttons of `mfc-edge console --simulate`.

1-5 are the smileys (1 the worst), h the help button, n/r/x/d the keypad's call next,
recall, no-show and done, o/b its hold and return, p/c its pause and resume; q quits. In a
terminal a key acts at once; otherwise (a pipe, a test) each line is read as keys.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from gpiozero.pins.mock import MockFactory

from hardware.buttons import DebouncedButton

KEYS = {**{str(i): f"rating-{i}" for i in range(1, 6)}, "h": "help",
        "n": "call_next", "r": "recall", "x": "no_show", "d": "done",
        "o": "hold", "b": "return", "p": "pause", "c": "resume"}
PRESS_S = 0.08  # a human press: longer than the debounce window


def press(factory: MockFactory, button: DebouncedButton, hold_s: float = PRESS_S) -> None:
    pin = factory.pin(button.pin)
    pin.drive_low()
    time.sleep(hold_s)
    pin.drive_high()


def help_text(buttons: dict[str, DebouncedButton]) -> str:
    return "keys: " + ", ".join(f"{k} = {name}" for k, name in KEYS.items() if name in buttons) + ", q = quit"


def read_keys(stream: TextIO = sys.stdin) -> Callable[[], str]:
    """A function giving the next key ('' at the end of input)."""
    if stream.isatty():
        import termios
        import tty

        fd = stream.fileno()
        saved = termios.tcgetattr(fd)

        def next_key() -> str:
            tty.setcbreak(fd)
            try:
                return stream.read(1)
            finally:
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        return next_key
    return lambda: stream.read(1)


def drive(factory: MockFactory, buttons: dict[str, DebouncedButton], next_key: Callable[[], str]) -> None:
    """Press buttons for keys until q or the end of input."""
    while (key := next_key()) not in ("", "q"):
        name = KEYS.get(key.lower())
        if name in buttons:
            press(factory, buttons[name])
