"""Buttons, LEDs and a buzzer on GPIO pins, the gpiozero way: small devices over a pin factory.

On a Raspberry Pi the pins are real; in tests and `--simulate` they are gpiozero's
`MockFactory`, where `pin.drive_low()` presses a button. gpiozero's own `bounce_time` is
ignored by mock pins (and on real pins it only drops edges, so a short tap can leave it
believing the button is still down), so debouncing is ours, driven by an injectable
monotonic clock: tests produce bounce bursts edge by edge, at exact times.

The debounce reacts on the leading edge (a press counts at once, which keeps button-to-
event latency low) and then ignores edges for `debounce_s`; `poll()` afterwards reads the
pin so a release hidden inside a bounce burst is not lost. A button held longer than
`stuck_after_s` is reported once as stuck and ignored until it is released, which is
reported too.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from gpiozero import LED, Button, Buzzer
from gpiozero.pins import Factory

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.03  # contacts of cheap arcade buttons bounce for 5-20 ms
STUCK_AFTER_S = 20.0  # nobody presses a smiley for 20 s; a jammed cap or a short does


class DebouncedButton:
    """A button wired from the pin to ground (internal pull-up). `on_press` runs once per real
    press, on the thread that saw the edge; `on_stuck` once per stuck hold, and `on_unstuck`
    when that hold ends."""

    def __init__(self, pin: int, name: str, *, pin_factory: Factory | None = None,
                 clock: Callable[[], float] = time.monotonic, debounce_s: float = DEBOUNCE_S,
                 stuck_after_s: float = STUCK_AFTER_S):
        self.pin, self.name = pin, name
        self.clock, self.debounce_s, self.stuck_after_s = clock, debounce_s, stuck_after_s
        self.on_press: Callable[[], None] | None = None
        self.on_stuck: Callable[[], None] | None = None
        self.on_unstuck: Callable[[], None] | None = None
        self._device = Button(pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        self._lock = threading.Lock()
        self._pressed = self._device.is_pressed
        self._changed_at = float("-inf")  # the first press counts however soon it comes
        # Held down already at start: a jam, not a visitor. It must be released once first.
        self._stuck = self._pressed
        self._reported_stuck = False
        self._device.when_pressed = lambda: self._accept(True)
        self._device.when_released = lambda: self._accept(False)

    @property
    def is_pressed(self) -> bool:
        """The debounced state."""
        return self._pressed

    @property
    def is_stuck(self) -> bool:
        return self._stuck

    def _accept(self, pressed: bool) -> None:
        with self._lock:
            now = self.clock()
            if pressed == self._pressed or now - self._changed_at < self.debounce_s:
                return
            self._pressed, self._changed_at = pressed, now
            fire = pressed and not self._stuck
            unstuck = not pressed and self._reported_stuck
            if not pressed:
                self._stuck = self._reported_stuck = False
        if fire and self.on_press:
            self.on_press()
        if unstuck:
            log.info("button %s (GPIO%d) released: working again", self.name, self.pin)
            if self.on_unstuck:
                self.on_unstuck()

    def poll(self) -> None:
        """Catch up with the pin after a bounce window, and notice a stuck button. Call often
        (the console's ticker does, every 10 ms)."""
        self._accept(self._device.is_pressed)
        with self._lock:
            stuck = self._pressed and not self._stuck and self.clock() - self._changed_at >= self.stuck_after_s
            if stuck:
                self._stuck = self._reported_stuck = True
        if stuck:
            log.warning("button %s (GPIO%d) held for %.0f s: stuck, ignored until released",
                        self.name, self.pin, self.stuck_after_s)
            if self.on_stuck:
                self.on_stuck()

    def close(self) -> None:
        self._device.close()


OFF, ON, BLINK = "off", "on", "blink"


class Indicator:
    """An LED whose mode (off, on, blinking) can be read back: by tests, by `gpio-test`."""

    def __init__(self, pin: int, name: str, *, pin_factory: Factory | None = None):
        self.pin, self.name = pin, name
        self._led = LED(pin, pin_factory=pin_factory)
        self.mode = OFF

    @property
    def is_lit(self) -> bool:
        return self._led.is_lit

    def set(self, mode: str) -> None:
        if mode == self.mode:
            return  # re-starting a blink every poll would make it stutter
        self.mode = mode
        if mode == ON:
            self._led.on()
        elif mode == BLINK:
            self._led.blink(on_time=0.4, off_time=0.4)
        else:
            self._led.off()

    def flash(self, seconds: float = 1.5) -> None:
        """Light once for a while: the acknowledgement of a press."""
        self.mode = OFF
        self._led.blink(on_time=seconds, off_time=0, n=1)

    def close(self) -> None:
        self._led.close()


class Beeper:
    """An optional active buzzer: one short beep acknowledges a press."""

    def __init__(self, pin: int, *, pin_factory: Factory | None = None):
        self.pin = pin
        self._buzzer = Buzzer(pin, pin_factory=pin_factory)
        self.beeps = 0

    def beep(self) -> None:
        self.beeps += 1
        self._buzzer.beep(on_time=0.08, off_time=0, n=1)

    def close(self) -> None:
        self._buzzer.close()
