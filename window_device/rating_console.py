"""The rating console at a window: 3 or 5 smiley buttons, the visitor's verdict on the service.

A rating belongs to the window and to the ticket just served there, as the hub last told
this device; the hub enforces one rating per ticket too, and attaches ratings made while it
was out of reach by their time. Each accepted rating lights its smiley's LED (and beeps if a
buzzer is fitted). Presses right after an accepted one are the same visitor hammering, not
new ratings: they are dropped, so a hammered or bouncing button cannot flood the outbox.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from hardware.buttons import Beeper, DebouncedButton, Indicator

log = logging.getLogger(__name__)

COOLDOWN_S = 5.0  # about the time a visitor takes to turn away from the console


class RatingConsole:
    def __init__(self, buttons: Sequence[DebouncedButton], leds: Sequence[Indicator], buzzer: Beeper | None, *,
                 window: str, served_ticket: Callable[[], str | None], record: Callable[[dict[str, Any]], None],
                 clock: Callable[[], float] = time.monotonic, cooldown_s: float = COOLDOWN_S):
        if len(buttons) not in (3, 5):
            raise ValueError("a rating console has 3 or 5 buttons")
        self.buttons, self.leds, self.buzzer = list(buttons), list(leds), buzzer
        self.window, self.scale = window, len(buttons)
        self.served_ticket, self.record = served_ticket, record
        self.clock, self.cooldown_s = clock, cooldown_s
        self._rated: deque[str] = deque(maxlen=50)
        self._last_at: float | None = None
        self._lock = threading.Lock()
        for score, button in enumerate(self.buttons, start=1):
            button.on_press = partial(self.rate, score)

    def rate(self, score: int) -> bool:
        """A visitor pressed the smiley for `score` (1 = worst); True if it counted."""
        with self._lock:
            now = self.clock()
            if self._last_at is not None and now - self._last_at < self.cooldown_s:
                return False
            ticket = self.served_ticket()
            if ticket is not None and ticket in self._rated:
                log.info("window %s: ticket already rated; press ignored", self.window)
                return False
            if ticket is not None:
                self._rated.append(ticket)
            self._last_at = now
            self.record({"window": self.window, "ticket": ticket, "score": score, "scale": self.scale})
        if self.leds:
            self.leds[score - 1].flash()
        if self.buzzer:
            self.buzzer.beep()
        log.info("window %s: rating %d/%d for %s", self.window, score, self.scale, ticket or "an unknown ticket")
        return True
