"""Urgent notices on screens: a banner over the current slide on every profile, each notice
in Russian and English, gone at its expiry by the screen's clock; and from a real hub."""
from __future__ import annotations

from datetime import timedelta

import pytest

from hardware.audio import SimulatedOutput
from hardware.clock import ManualClock
from hardware.headless_display import HeadlessDisplay, walk
from hub.api import Hub
from hub.server import HubThread
from mfc_edge.cli import main as cli
from mfc_edge.config import load_config
from offline_cache.notices import Notice, NoticeBoard
from signage.app import SignageApp
from signage.wiring import open_screen
from tests import test_signage_screen
from tests.helpers.day import MONDAY_10AM
from tests.helpers.signage import screen_config
from tests.test_signage_hub_link import PLAYLIST, wait
from tests.test_signage_screen import inside

make_screen = test_signage_screen.make_screen  # the screens' fixture: a screen in the test's folder

ROSREESTR = "Росреестр: приём документов на регистрацию недвижимости приостановлен до 14:00"
ROSREESTR_EN = "Rosreestr: property registration documents are not accepted until 14:00"
WATER = "Кулер с водой на 2 этаже не работает"


def notice(nid: str, text_ru: str, text_en: str, posted_min: int, lasts_min: int) -> Notice:
    posted = MONDAY_10AM + timedelta(minutes=posted_min)
    return Notice(nid, text_ru, text_en, (), posted, posted + timedelta(minutes=lasts_min))


def banner_texts(app) -> list[str]:
    return [w.text for w in walk(app.notice_banner) if getattr(w, "tag", "") in ("notice-ru", "notice-en") and w.text]


@pytest.mark.parametrize("profile, orientation", [("waiting-area", "landscape"), ("kids", "portrait"),
                                                  ("info-panel", "landscape")])
def test_notices_lie_over_the_slide_on_every_profile_until_they_expire(make_screen, tmp_path, profile, orientation):
    playlist = f'[playlists.{profile}]\n[[playlists.{profile}.items]]\ntype = "rules"\nduration = 30\n'
    device, screen, app, _ = make_screen(profile, orientation, files={"playlist.toml": playlist.encode()})
    screen.notices = NoticeBoard.of([notice("n1", ROSREESTR, ROSREESTR_EN, -30, 60),
                                     notice("n2", WATER, "", -5, 20)])
    with HeadlessDisplay(app, device.signage.size) as d:
        assert d.wait_until(lambda: getattr(app.player.current, "item", None) is not None)
        assert d.wait_until(lambda: banner_texts(app) == [WATER, ROSREESTR, ROSREESTR_EN])  # newest first
        d.frames(3)
        banner, main = app.notice_banner, app.root.ids.main.__self__
        assert banner.height > 0 and banner.opacity == 1 and inside(banner, main)
        assert banner.top == pytest.approx(main.top) and banner.width == pytest.approx(main.width)
        assert app.player.current.parent is main  # the slide plays on beneath it:
        assert banner.parent is main.parent and main.parent.children.index(banner) == 0  # drawn last, on top
        for label in walk(banner):  # each notice readable in full: wrapped inside the banner, not cut
            if getattr(label, "text", ""):
                assert label.texture_size[1] <= label.height + 1 and inside(label, banner), label.text
        d.screenshot(tmp_path / f"notices-{profile}.png")

        app.clock.set(MONDAY_10AM + timedelta(minutes=16))  # the water notice has expired
        assert d.wait_until(lambda: banner_texts(app) == [ROSREESTR, ROSREESTR_EN], 5)
        app.clock.set(MONDAY_10AM + timedelta(minutes=31))  # and the other: nothing left to show
        assert d.wait_until(lambda: banner_texts(app) == [], 5)
        assert banner.height == 0 and banner.opacity == 0


@pytest.mark.slow
def test_a_notice_posted_on_the_hub_shows_on_the_screen_and_goes_at_its_expiry(tmp_path):
    clock = ManualClock(MONDAY_10AM)
    hub = Hub(tmp_path / "hub", clock=clock)
    server = HubThread(hub).start()
    folder = tmp_path / "screen"
    folder.mkdir()
    config = screen_config(folder, hub=server.url)
    screen = None
    try:
        assert cli(["enroll", "--config", str(config), "--code", hub.identity.create_code("strogino", "signage")]) == 0
        media = tmp_path / "bundle"
        (media / "media").mkdir(parents=True)
        (media / "playlist.toml").write_text(PLAYLIST.replace('type = "image"\nasset = "media/poster.png"',
                                                              'type = "rules"'), encoding="utf-8")
        hub.bundles.publish_folder(media, "strogino", "signage")
        device = load_config(config)
        screen = open_screen(device, clock, audio=SimulatedOutput())
        app = SignageApp(device, screen, clock, new_calls=screen.calls_to_announce)
        with HeadlessDisplay(app, (1920, 1080)) as d:
            wait(lambda: getattr(app.player.current, "item", None) is not None, "the playlist", d)
            assert banner_texts(app) == []
            hub.notices.post("strogino", "supervisor", ROSREESTR, ROSREESTR_EN, [],
                             hub.notices.expiry("strogino", minutes=10))
            wait(lambda: banner_texts(app) == [ROSREESTR, ROSREESTR_EN], "the notice on the screen", d)
            clock.set(MONDAY_10AM + timedelta(minutes=10, seconds=1))
            wait(lambda: banner_texts(app) == [], "the notice gone at its expiry", d)
    finally:
        if screen:
            screen.close()
        server.stop()
        hub.close()
