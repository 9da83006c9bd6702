"""The kids' room screen with a real hub on 127.0.0.1: its cartoons play on, a call shows in
the strip at its foot with the gentle chime, and in quiet hours the call is shown unheard."""
from __future__ import annotations

import pytest

from hardware.audio import SimulatedOutput
from hardware.clock import ManualClock
from hardware.headless_display import HeadlessDisplay, walk
from mfc_edge.cli import main as cli
from mfc_edge.config import load_config
from signage.announcer import CHIMED, QUIET
from signage.app import SignageApp
from signage.wiring import open_screen
from tests import test_signage_hub_link
from tests.helpers.day import MONDAY_10AM, at
from tests.helpers.signage import screen_config
from tests.helpers.sound import sox_stat
from tests.test_signage_hub_link import issue, wait

center = test_signage_hub_link.center  # the fixture: a hub on 127.0.0.1, on the test day's clock

PLAYLIST = """\
[playlists.kids]
[[playlists.kids.items]]
type = "text"
title = "Мультфильмы"
text = "Смешарики, Фиксики и Простоквашино"
duration = 30
"""


def strip_texts(app) -> list[str]:
    return [w.text for w in walk(app.kids_strip) if getattr(w, "tag", "") == "kids-call"]


@pytest.mark.slow
def test_kids_screen_shows_and_chimes_a_call_and_keeps_quiet_hours(center, tmp_path):
    hub, server, clock = center
    folder = tmp_path / "kids-screen"
    folder.mkdir()
    config = screen_config(folder, "kids", extra='[announcements]\nquiet_hours = ["13:00-14:00"]', hub=server.url)
    assert cli(["enroll", "--config", str(config), "--code", hub.identity.create_code("strogino", "signage")]) == 0
    media = tmp_path / "bundle"
    media.mkdir()
    (media / "playlist.toml").write_text(PLAYLIST, encoding="utf-8")
    version = hub.bundles.publish_folder(media, "strogino", "signage").version
    for number in ("А015", "А016", "А017"):
        issue(hub, number, "adult-snils")
    hub.queue.open_window("strogino", "3", ["adult-snils"], "ivanova")

    device = load_config(config)
    heard = SimulatedOutput(keep_dir=tmp_path / "heard")
    screen = open_screen(device, clock, audio=heard)
    app = SignageApp(device, screen, clock, new_calls=screen.calls_to_announce)
    try:
        with HeadlessDisplay(app, (1920, 1080)) as d:
            wait(lambda: app.player.version == version and getattr(app.player.current, "item", None) is not None,
                 "the kids' playlist", d)
            notice = next(w for w in walk(app.kids_strip) if getattr(w, "tag", "") == "kids-strip-notice")
            wait(lambda: notice.text.startswith("Здесь появится ваш талон"), "the queue feed, nobody called yet", d)
            assert strip_texts(app) == [] and app.calls_panel.parent is None  # and no hall column

            hub.queue.call_next("strogino", "3", ["adult-snils"])
            wait(lambda: strip_texts(app) == ["Талон А015 — окно 3"], "the call in the strip", d)
            wait(lambda: screen.announcer.wait_idle(0.05), "the chime", d)
            [chimed] = screen.announcer.announced
            assert chimed.call["number"] == "А015" and chimed.outcome == CHIMED and chimed.phrases == ["chime"]
            [sound] = heard.played
            assert sox_stat(sound.copy)["RMS     amplitude"] > 0.01  # a sound, not silence
            assert app.player.current.item.type == "text"  # the cartoons' slide plays on under the strip

            clock.set(at(13, 30))  # the center's quiet hours
            hub.queue.finish("strogino", "3")
            hub.queue.call_next("strogino", "3", ["adult-snils"])
            wait(lambda: strip_texts(app) == ["Талон А016 — окно 3", "Талон А015 — окно 3"], "the quiet call", d)
            wait(lambda: len(screen.announcer.announced) == 2 and screen.announcer.wait_idle(0.05),
                 "the quiet call handled", d)
            assert screen.announcer.announced[1].outcome == QUIET and len(heard.played) == 1  # shown, not heard
    finally:
        screen.close()


def test_kids_screen_without_calls_is_the_cartoons_alone(tmp_path):
    folder = tmp_path / "kids-screen"
    folder.mkdir()
    device = load_config(screen_config(folder, "kids", extra="kids_calls = false"))
    screen = open_screen(device, ManualClock(MONDAY_10AM), audio=SimulatedOutput())
    app = SignageApp(device, screen, ManualClock(MONDAY_10AM), new_calls=screen.calls_to_announce)
    try:
        with HeadlessDisplay(app, (1920, 1080)) as d:
            assert d.wait_until(lambda: app.player.current is not None)
            assert app.kids_strip.parent is None and screen.announcer is None
            assert app.root.ids.main.height == 1080  # the main zone fills the screen
    finally:
        screen.close()
