"""The operator's keypad: physical buttons for the console's call next, recall, no-show, done,
and (optional keys) hold, return, pause and resume: a held visitor comes back by "return" (the
one held longest), and "pause" is a break; the web console gives other reasons.

Each key sends the same action the web console sends, to the same queue code on the hub;
the reply (the ticket now at the window, or why not) goes to a small display if one is
configured. Actions run one at a time on a worker thread, so a slow hub never blocks the
pins, and keys pressed while one is under way are dropped rather than queued up.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Protocol

from hardware.buttons import DebouncedButton

log = logging.getLogger(__name__)

ACTIONS = ("call_next", "recall", "no_show", "done", "hold", "return", "pause", "resume")


class KeypadError(Exception):
    """An action the hub refused or could not take; the message is for the operator's display."""


class TextDisplay(Protocol):
    def show(self, text: str) -> None: ...


class Keypad:
    def __init__(self, buttons: Mapping[str, DebouncedButton], act: Callable[[str], str | None],
                 display: TextDisplay | None = None):
        """`act(action)` performs one action and returns the ticket number now at the window."""
        unknown = set(buttons) - set(ACTIONS)
        if unknown:
            raise ValueError(f"unknown keypad action {sorted(unknown)[0]!r}")
        self.act, self.display = act, display
        self.shown: str | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keypad")
        self._busy = threading.Lock()
        for action, button in buttons.items():
            button.on_press = partial(self.press, action)

    def press(self, action: str) -> Future | None:
        """Start `action` unless another is still under way; the future gives the display text."""
        if not self._busy.acquire(blocking=False):
            log.info("keypad: %s dropped, the previous action is still under way", action)
            return None
        return self._worker.submit(self._run, action)

    def _run(self, action: str) -> str:
        try:
            number = self.act(action)
            text = number or "—"
        except KeypadError as exc:
            text = str(exc)
        except Exception as exc:  # the keypad must outlive any one surprise
            log.exception("keypad action %s failed", action)
            text = f"ошибка: {exc.__class__.__name__}"
        finally:
            self._busy.release()
        log.info("keypad %s: %s", action, text)
        self.show(text)
        return text

    def show(self, text: str) -> None:
        if self.display and text != self.shown:  # the hub is asked every second; the display changes rarely
            self.shown = text
            self.display.show(text)

    def close(self) -> None:
        self._worker.shutdown(wait=True)


class TerminalDisplay:
    """The "display" of a simulated console: one line on standard output."""

    def __init__(self, write: Callable[[str], object] = print):
        self.write, self.text = write, ""

    def show(self, text: str) -> None:
        self.text = text
        self.write(f"[табло] {text}")
