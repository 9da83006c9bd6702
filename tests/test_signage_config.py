"""A screen's [signage] and [announcements] sections: defaults, and each bad value named."""
from __future__ import annotations

from datetime import time

import pytest

from mfc_edge.config import ConfigError, load_config
from tests.helpers.devices import write_config
from tests.helpers.signage import screen_config


def test_defaults_and_sizes(tmp_path):
    device = load_config(screen_config(tmp_path, "info-panel", "portrait"))
    assert device.signage.size == (1080, 1920) and not device.signage.shows_calls
    assert device.signage.announcements.enabled and device.signage.announcements.volume == 80
    assert device.signage.feed_stale_after == 60 and device.signage.screenshot_every == 10


@pytest.mark.parametrize("extra, strip", [("", True), ("kids_calls = false", False)])
def test_the_kids_room_follows_calls_unless_told_not_to(tmp_path, extra, strip):
    settings = load_config(screen_config(tmp_path, "kids", extra=extra)).signage
    assert settings.kids_strip is strip and settings.shows_calls is strip


def test_quiet_hours_may_pass_midnight(tmp_path):
    device = load_config(screen_config(tmp_path, extra='[announcements]\nquiet_hours = ["21:00-08:00", "13:00-14:00"]'))
    quiet = device.signage.announcements.quiet_at
    assert quiet(time(23, 30)) and quiet(time(7, 59)) and quiet(time(13, 15))
    assert not quiet(time(8)) and not quiet(time(12, 59)) and not quiet(time(20, 59))


@pytest.mark.parametrize("profile, orientation, extra, message", [
    ("lobby", "landscape", "", '[signage] profile = \'lobby\': expected one of waiting-area, kids, info-panel'),
    ("kids", "sideways", "", "[signage] orientation = 'sideways': expected landscape or portrait"),
    ("kids", "landscape", "calls_shown = 0", "[signage] calls_shown = 0: expected a whole number from 1 to 12"),
    ("kids", "landscape", "feed_stale_after = 1", "[signage] feed_stale_after = 1: expected seconds from 10 to 3600"),
    ("kids", "landscape", "takeover = \"yes\"", "[signage] takeover = 'yes': expected true or false"),
    ("kids", "landscape", "colour = 1", "[signage] colour is not a known key"),
    ("kids", "landscape", "[announcements]\nvolume = 120", "[announcements] volume = 120: expected a whole percent"),
    ("kids", "landscape", '[announcements]\nquiet_hours = ["22:00"]', "[announcements] quiet_hours = ['22:00']: "
     'expected a list of windows like "21:00-08:00"'),
    ("kids", "landscape", 'kids_calls = "yes"', "[signage] kids_calls = 'yes': expected true or false"),
    ("waiting-area", "landscape", "kids_calls = true", '[signage] kids_calls is only for profile = "kids"'),
])
def test_bad_values_are_named(tmp_path, profile, orientation, extra, message):
    with pytest.raises(ConfigError) as error:
        load_config(screen_config(tmp_path, profile, orientation, extra))
    assert message in str(error.value) and str(tmp_path / "screen.toml") in str(error.value)


def test_screen_sections_belong_to_screens_only(tmp_path):
    path = write_config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + '\n[announcements]\nvolume = 50\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r'\[announcements\] is only for a device with role = "signage"'):
        load_config(path)
