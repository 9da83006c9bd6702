"""`mfc-edge gpio-test`: walk a technician through every configured button, LED and buzzer.

Buttons are checked by asking for a press and waiting for it; LEDs and the buzzer by
switching them on and asking whether they light or sound. One line per part; exit 1 if
any part failed.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gpiozero import LED, Buzzer

from hardware.buttons import DebouncedButton

YES = ("", "д", "да", "y", "yes")


def _parts(console: Any) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(buttons, outputs) as (what it is, pin), in the order a technician finds them."""
    buttons, outputs = [], []
    if console.rating:
        buttons += [(f"оценка {i}", p) for i, p in enumerate(console.rating.buttons, 1)]
        outputs += [(f"светодиод оценки {i}", p) for i, p in enumerate(console.rating.leds, 1)]
        if console.rating.buzzer is not None:
            outputs.append(("зуммер", console.rating.buzzer))
    if console.help_button:
        buttons.append(("кнопка вызова специалиста", console.help_button.pin))
        if console.help_button.led is not None:
            outputs.append(("светодиод кнопки вызова", console.help_button.led))
    if console.keypad:
        buttons += [(f"клавиша {a}", p) for a, p in console.keypad.pins.items()]
    return buttons, outputs


def gpio_test(console: Any, *, pin_factory: Any = None, ask: Callable[[str], str] = input,
              out: Callable[[str], object] = print, wait_s: float = 20.0) -> int:
    buttons, outputs = _parts(console)
    failed = 0
    for name, pin in buttons:
        pressed = threading.Event()
        button = DebouncedButton(pin, name, pin_factory=pin_factory)
        button.on_press = pressed.set
        out(f"Нажмите: {name} (GPIO{pin}) — жду {wait_s:.0f} с")
        ok = pressed.wait(wait_s)
        button.close()
        failed += not ok
        out(f"{'ok' if ok else 'FAIL':<5}{name} (GPIO{pin})" + ("" if ok else
            " — нажатия нет: проверьте провод к GPIO и к земле (GND)"))
    for name, pin in outputs:
        device = Buzzer(pin, pin_factory=pin_factory) if name == "зуммер" else LED(pin, pin_factory=pin_factory)
        device.on()
        answer = ask(f"{name} (GPIO{pin}) {'звучит' if name == 'зуммер' else 'горит'}? [Д/н] ").strip().lower()
        device.off()
        device.close()
        ok = answer in YES
        failed += not ok
        out(f"{'ok' if ok else 'FAIL':<5}{name} (GPIO{pin})" + ("" if ok else
            " — проверьте полярность, резистор и провод к GPIO"))
    out(f"{len(buttons) + len(outputs) - failed} of {len(buttons) + len(outputs)} parts work")
    return 1 if failed else 0
