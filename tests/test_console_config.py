"""The window device's sections of the device file: the example, and exact errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from mfc_edge.config import ConfigError, load_config
from tests.helpers.window import write_console_config

EXAMPLE = Path(__file__).parent.parent / "mfc_edge" / "data" / "console.example.toml"


def test_the_example_console_file_is_valid():
    console = load_config(EXAMPLE).console
    assert console.window == "5" and console.rating.buttons == (5, 6, 13, 19, 26)
    assert console.keypad.pins == {"call_next": 17, "recall": 27, "no_show": 22, "done": 23}
    assert len(console.pins()) == 17


@pytest.mark.parametrize("old, new, message", [
    ("buttons = [5, 6, 13, 19, 26]", "buttons = [5, 6, 13, 19]",
     "[rating] buttons = [5, 6, 13, 19]: expected a list of 3 or 5 BCM pin numbers (2 to 27), worst first"),
    ("leds = [12, 16, 20, 21, 25]", "leds = [12, 16]",
     "[rating] leds = [12, 16]: expected a list of 5 pins, one per button"),
    ("buzzer = 18", "buzzer = 40", "[rating] buzzer = 40: expected a BCM pin number from 2 to 27"),
    ("recall = 27", "recall = 5",
     "[keypad] recall = 5: expected a pin not used elsewhere (GPIO5 is already [rating] buttons)"),
    ("done = 23", "done = 23\nenter = 3", "[keypad] enter is not a known key"),
    ('window = "5"', 'window = "окно пять"', "[console] window = 'окно пять': expected the window's number"),
    ('window = "5"\n', "", "[console] window is missing"),
    ('point = "Окно 5, доступное"', 'point = ""', "[help_button] point = '': expected where the button is"),
])
def test_bad_values_name_the_file_the_key_and_what_is_allowed(tmp_path, old, new, message):
    path = write_console_config(tmp_path)
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value), str(error.value)


def test_a_console_device_needs_some_window_hardware(tmp_path):
    path = write_console_config(tmp_path)
    text = path.read_text()
    path.write_text(text[:text.index("[console]")])
    with pytest.raises(ConfigError, match="a console device needs at least one of"):
        load_config(path)
