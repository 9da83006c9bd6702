"""The call-a-specialist button at the entrance or an accessible window.

A press makes a help request (an outbox event, so it is not lost while the hub is away).
Its LED blinks until an operator acknowledges the request on the console, then stays lit
while help is on the way, and goes out when the operator closes it. While a request is
under way further presses change nothing: one request, however often the button is pushed.
The request under way outlives a restart of the device (`open_request`), so its LED does not
go dark while the visitor is still waiting.
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

from hardware.buttons import BLINK, OFF, ON, DebouncedButton, Indicator

log = logging.getLogger(__name__)

# The request's life as the hub reports it; None while the hub has not received it yet.
OPEN, ACKNOWLEDGED, CLOSED = "open", "acknowledged", "closed"
LED_MODES = {None: BLINK, OPEN: BLINK, ACKNOWLEDGED: ON, CLOSED: OFF}


class HelpButton:
    def __init__(self, button: DebouncedButton, led: Indicator | None, *, point: str,
                 record: Callable[[dict[str, Any]], None], open_request: str | None = None,
                 on_closed: Callable[[], None] = lambda: None,
                 new_request_id: Callable[[], str] = lambda: secrets.token_hex(16)):
        """`record` keeps a new request (its event, and that it is under way); `open_request` is
        one still under way when the device stopped; `on_closed` is told when it is over."""
        self.button, self.led, self.point = button, led, point
        self.record, self.on_closed, self.new_request_id = record, on_closed, new_request_id
        self.request: str | None = open_request
        self.state: str | None = None
        self._lock = threading.Lock()
        button.on_press = self.press
        self._show()

    def press(self) -> bool:
        """True when the press made a new request."""
        with self._lock:
            if self.request is not None:
                return False
            self.request, self.state = self.new_request_id(), None
            self.record({"request": self.request, "point": self.point})
        log.info("help requested at %s (%s)", self.point, self.request)
        self._show()
        return True

    def update(self, state: str | None) -> None:
        """What the hub says of the current request (None: not received yet)."""
        with self._lock:
            if self.request is None or state not in LED_MODES:
                return
            self.state = state
            closed = state == CLOSED
            if closed:
                log.info("help request %s closed", self.request)
                self.request = None
        if closed:
            self.on_closed()
        self._show()

    def _show(self) -> None:
        if self.led:
            self.led.set(LED_MODES[self.state] if self.request else OFF)
