"""Debounced buttons, LEDs and the buzzer on gpiozero's MockFactory, with a hand-moved clock:
presses, holds, bounce bursts, taps shorter than the debounce window, stuck buttons."""
from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.buttons import BLINK, OFF, ON, Beeper, DebouncedButton, Indicator
from tests.helpers.window import Ticks


@pytest.fixture
def factory():
    return MockFactory()


@pytest.fixture
def ticks():
    return Ticks()


def make_button(factory, ticks, pin=5, released=None):
    presses, stuck = [], []
    button = DebouncedButton(pin, "test", pin_factory=factory, clock=ticks, debounce_s=0.03, stuck_after_s=20)
    button.on_press = lambda: presses.append(ticks())
    button.on_stuck = lambda: stuck.append(ticks())
    if released is not None:
        button.on_unstuck = lambda: released.append(ticks())
    return button, factory.pin(pin), presses, stuck


def bounce(pin, ticks, edges: int, step: float = 0.001) -> None:
    """A contact bouncing: `edges` alternating edges `step` apart, starting with a press."""
    for i in range(edges):
        pin.drive_low() if i % 2 == 0 else pin.drive_high()
        ticks.advance(step)


def test_a_press_counts_once_at_its_first_edge(factory, ticks):
    button, pin, presses, _ = make_button(factory, ticks)
    pin.drive_low()
    assert presses == [1000.0] and button.is_pressed
    ticks.advance(0.1)
    pin.drive_high()
    assert presses == [1000.0] and not button.is_pressed


def test_a_bounce_burst_on_press_and_on_release_is_one_press(factory, ticks):
    button, pin, presses, _ = make_button(factory, ticks)
    bounce(pin, ticks, edges=9)  # ends pressed
    assert len(presses) == 1
    ticks.advance(0.2)
    pin.drive_high()
    bounce(pin, ticks, edges=6, step=0.002)  # release bounce: presses inside it are not new presses
    pin.drive_high()
    ticks.advance(0.05)
    button.poll()
    assert len(presses) == 1 and not button.is_pressed
    ticks.advance(0.5)
    pin.drive_low()
    assert len(presses) == 2


def test_a_tap_shorter_than_the_debounce_window_is_not_lost(factory, ticks):
    button, pin, presses, _ = make_button(factory, ticks)
    pin.drive_low()
    ticks.advance(0.01)
    pin.drive_high()  # inside the window: ignored for now
    assert button.is_pressed
    ticks.advance(0.05)
    button.poll()  # the catch-up reads the pin
    assert not button.is_pressed
    ticks.advance(0.05)
    pin.drive_low()
    assert len(presses) == 2


def test_a_held_button_gives_one_press_then_one_stuck_report_then_one_release(factory, ticks):
    released = []
    button, pin, presses, stuck = make_button(factory, ticks, released=released)
    pin.drive_low()
    for _ in range(100):  # 19.8 s held: a long press, not yet stuck
        ticks.advance(0.198)
        button.poll()
    assert len(presses) == 1 and stuck == []
    for _ in range(100):
        ticks.advance(0.5)
        button.poll()
    assert len(presses) == 1 and len(stuck) == 1 and button.is_stuck and released == []
    pin.drive_high()
    assert len(released) == 1 and not button.is_stuck
    ticks.advance(1)
    pin.drive_low()
    assert len(presses) == 2 and not button.is_stuck
    pin.drive_high()
    assert len(released) == 1  # an ordinary release is no news


def test_hammering_gives_at_most_one_press_per_debounce_window(factory, ticks):
    _, pin, presses, _ = make_button(factory, ticks)
    for _ in range(100):  # 100 presses in 1 s, 10 ms apart: faster than any finger
        pin.drive_low()
        ticks.advance(0.005)
        pin.drive_high()
        ticks.advance(0.005)
    assert 10 <= len(presses) <= 34  # bounded by the 30 ms window, whatever the pattern


def test_indicator_modes_and_buzzer(factory):
    led = Indicator(12, "led", pin_factory=factory)
    assert led.mode == OFF and not led.is_lit
    led.set(ON)
    assert led.is_lit and factory.pin(12).state
    led.set(BLINK)
    assert led.mode == BLINK
    led.set(OFF)
    assert not led.is_lit
    beeper = Beeper(18, pin_factory=factory)
    beeper.beep()
    assert beeper.beeps == 1
    led.close()
    beeper.close()
