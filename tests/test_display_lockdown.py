"""The Kivy settings `prepare_kivy` makes: locked down on the device's own panel (one reader for
touches, no cursor, no screensaver), as before on a desktop and headless. Each case runs in a
fresh interpreter, since Kivy's configuration is read once per process."""
from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hardware.display import on_device_panel

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = """
import json, sys
from hardware.display import prepare_kivy
prepare_kivy((800, 480), fullscreen=sys.argv[1] == "fullscreen")
from kivy.config import Config
print(json.dumps({"input": dict(Config.items("input")),
                  "graphics": {k: Config.get("graphics", k) for k in
                               ("fullscreen", "show_cursor", "allow_screensaver", "resizable")}}))
"""


def kivy_settings(tmp_path: Path, mode: str, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "KIVY_USE_DEFAULTCONFIG")}
    environment.update(KIVY_HOME=str(tmp_path / "kivy"), PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", PRINT_SETTINGS, mode], env=environment, capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_on_the_device_a_touch_has_one_reader_and_there_is_no_cursor_or_screensaver(tmp_path):
    # A config.ini left in KIVY_HOME by an earlier Kivy (or a person) lists more readers: gone too.
    kivy_settings(tmp_path, "fullscreen", DISPLAY=":0")  # Kivy writes its config.ini
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(tmp_path / "kivy" / "config.ini")
    ini["input"].update({"%(name)s": "probesysfs", "mtdev_panel": "mtdev,/dev/input/event3"})
    with open(tmp_path / "kivy" / "config.ini", "w") as file:
        ini.write(file)

    settings = kivy_settings(tmp_path, "fullscreen")
    assert settings["input"] == {"touchscreen": "probesysfs,provider=hidinput,select_all=0"}
    assert "mouse" not in settings["input"]  # SDL's touch-as-mouse events would be a second touch
    assert settings["graphics"] == {"fullscreen": "auto", "show_cursor": "0", "allow_screensaver": "0",
                                    "resizable": "0"}


@pytest.mark.parametrize("mode, env", [("fullscreen", {"DISPLAY": ":0"}), ("windowed", {}),
                                       ("fullscreen", {"SDL_VIDEODRIVER": "offscreen"})])
def test_a_desktop_a_window_or_offscreen_keeps_the_mouse_as_the_one_reader(tmp_path, mode, env):
    settings = kivy_settings(tmp_path, mode, **env)
    assert settings["input"] == {"mouse": "mouse,multitouch_on_demand"}
    assert settings["graphics"]["show_cursor"] == "1"


def test_what_counts_as_the_devices_own_panel():
    assert on_device_panel({})
    assert on_device_panel({"SDL_VIDEODRIVER": "kmsdrm"})
    assert not on_device_panel({"DISPLAY": ":0"})
    assert not on_device_panel({"WAYLAND_DISPLAY": "wayland-0"})
    assert not on_device_panel({"SDL_VIDEODRIVER": "offscreen"})
