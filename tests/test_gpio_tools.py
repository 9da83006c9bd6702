"""`mfc-edge gpio-test` walked through on MockFactory pins, and `mfc-edge console --simulate`
driven by keys on standard input."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

from gpiozero.pins.mock import MockFactory

from mfc_edge.config import load_config
from tests.helpers.window import write_console_config
from window_device.gpio_test import gpio_test


def test_gpio_test_walks_through_every_part(tmp_path):
    console = load_config(write_console_config(tmp_path)).console
    factory = MockFactory()
    lines, lit = [], []

    def out(line: str) -> None:
        lines.append(line)
        if line.startswith("Нажмите") and "GPIO23" not in line:  # the technician presses all but "done"
            pin = factory.pin(int(line.split("GPIO")[1].split(")")[0]))
            pin.drive_low()
            pin.drive_high()

    def ask(question: str) -> str:
        pin = int(question.split("GPIO")[1].split(")")[0])
        lit.append(factory.pin(pin).state)
        return "н" if pin == 25 else "д"  # rating LED 5 stays dark

    assert gpio_test(console, pin_factory=factory, ask=ask, out=out, wait_s=0.2) == 1
    results = [line for line in lines if line.startswith(("ok", "FAIL"))]
    assert len(results) == 17 and all(lit)
    failed = [line for line in results if line.startswith("FAIL")]
    assert len(failed) == 2 and "GPIO23" in failed[0] and "GPIO25" in failed[1]
    assert lines[-1] == "15 of 17 parts work"


def test_console_simulate_turns_keys_into_outbox_events(tmp_path):
    config = write_console_config(tmp_path)
    run = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "console", "--config", str(config), "--simulate"],
                         input="5hq", capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "1 = rating-1" in run.stdout and "h = help" in run.stdout
    with sqlite3.connect(tmp_path / "data" / "console.sqlite") as db:
        types = [r[0] for r in db.execute("SELECT type FROM outbox ORDER BY seq")]
    assert types == ["rating.given", "help.requested"]
