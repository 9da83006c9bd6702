"""The kiosk's attract loop, offscreen and driven by touches: idle → loop → touch → the start.

The loop is made as the kiosk command makes it (mfc_edge.cli.kiosk_attract): the screens' own
slide player, playing the kiosk bundle's `kiosk` playlist or the built-in one.
"""
from __future__ import annotations

import pytest
from kivy.tests.common import UnitTestTouch

from tests.helpers.signage import LocalBundles, png

CAPTION = "Коснитесь экрана, чтобы взять талон\nTouch to take a ticket"


def load_figures() -> dict:
    hours = {wd: [0.0] * 8 + [5.0] * 12 + [0.0] * 4 for wd in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return {"hours": hours, "busiest": {wd: 12 for wd in hours}, "quietest": {wd: [9] for wd in hours}}


@pytest.fixture
def attract_screens(kiosk, clock):
    """The kiosk's screens with the attract loop the kiosk command gives them."""
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from mfc_edge.cli.kiosk_attract import attract_loop

    kiosk.load_figures = load_figures  # as if the hub's figures were cached
    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, load_figures=kiosk.load_figures,
                   attract=attract_loop(kiosk, clock))
    with HeadlessKiosk(app, (1280, 800)) as k:
        yield k


def go_idle(k, clock, seconds: float = 121) -> None:
    clock.advance(seconds=seconds)
    k.app.tick()
    assert k.wait_until(lambda: k.screen == "attract", timeout=5)


def slides_on(k) -> list:
    return list(k.app.attract.loop.children)


def content_shown(k) -> bool:
    """A prepared slide fully on: what a frame must always have while the loop is up."""
    return any(slide.ready and slide.opacity >= 1 for slide in slides_on(k))


def touch_at(k, x: float, y: float) -> None:
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    k.frames(1)
    touch.touch_up()
    k.frames(2)


def test_idle_plays_the_loop_and_a_touch_brings_the_start_screen(attract_screens, clock):
    k = attract_screens
    k.tap("lang-en")
    k.tap("categories")
    clock.advance(seconds=100)
    k.app.tick()
    assert k.screen == "home"  # idle_timeout (60 s) first: back to the start, not yet the loop
    go_idle(k, clock, seconds=21)
    assert k.app.lang == "ru"
    assert k.find(tag="attract-caption").text == CAPTION
    assert type(k.app.attract.loop.player.current).__name__ == "LoadChartSlide"  # the built-in loop's first
    assert content_shown(k)
    caption = k.find(tag="attract-caption")
    touch_at(k, *caption.to_window(*caption.center))
    assert k.screen == "home"
    assert slides_on(k) == [] and not k.app.attract.loop.showing  # stopped, every slide freed
    clock.advance(seconds=30)
    k.app.tick()
    assert k.screen == "home"  # the touch counted as one: the loop waits its full time again


def test_a_touch_where_a_start_button_is_presses_it(attract_screens, clock):
    k = attract_screens
    button = k.find(tag="categories")
    x, y = button.to_window(*button.center)
    go_idle(k, clock)
    touch_at(k, x, y)
    assert k.screen == "categories"  # one touch: no second one needed to begin


def test_closed_hours_show_the_closed_screen_not_the_loop(attract_screens, clock):
    k = attract_screens
    go_idle(k, clock)
    clock.set(clock.now().replace(hour=17, minute=30))  # 20:30 in Moscow
    k.app.tick()
    assert k.screen == "closed"
    assert slides_on(k) == []
    clock.advance(minutes=10)
    k.app.tick()
    assert k.screen == "closed"


@pytest.mark.slow
def test_the_bundle_loop_never_shows_a_frame_without_content(attract_screens, kiosk, clock):
    """Pictures, a text, a missing file and a broken picture, changing every 0.2 s: every frame
    the loop is up has a prepared slide fully on, and what cannot be shown is skipped."""
    k = attract_screens
    bundles = LocalBundles(kiosk.device.data_dir)
    playlist = "[playlists.kiosk]\n" + "".join(
        f'[[playlists.kiosk.items]]\n{item}\nduration = 0.2\n' for item in (
            'type = "image"\nasset = "media/red.png"', 'type = "text"\ntitle = "Госуслуги онлайн"',
            'type = "image"\nasset = "media/missing.png"', 'type = "image"\nasset = "media/broken.png"',
            'type = "image"\nasset = "media/blue.png"'))
    bundles.install({"playlist.toml": playlist.encode(), "media/red.png": png(),
                     "media/blue.png": png(colour=(30, 60, 200)), "media/broken.png": b"not a picture"})
    kiosk.content = bundles.store
    loop = k.app.attract.loop
    loop.player.source.content = bundles.store  # made before the bundle: as if it had just arrived
    changes: list[str] = []
    loop.player.on_change = lambda slide: changes.append(slide.item.asset or slide.item.type)
    go_idle(k, clock)
    frames_without = 0
    for _ in range(2000):
        k.frames(1)
        frames_without += not content_shown(k)
        if len(changes) >= 9:
            break
    assert frames_without == 0
    assert set(changes) == {"media/red.png", "text", "media/blue.png"}
    assert len(changes) >= 9


def test_the_hub_checks_a_kiosk_bundles_playlist_when_it_has_one(tmp_path):
    from hub.bundle_folder import PublishError, collect_assets
    from mfc_edge.catalog import BUNDLED_CATALOG

    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "catalog.toml").write_bytes(BUNDLED_CATALOG.read_bytes())
    assert [name for name, _ in collect_assets(folder, "kiosk").files] == ["catalog.toml"]  # no loop of its own
    (folder / "playlist.toml").write_text('[playlists.kiosk]\n[[playlists.kiosk.items]]\ntype = "rules"\n'
                                          'duration = 0\n', encoding="utf-8")
    with pytest.raises(PublishError, match=r"playlist.toml: \[playlists.kiosk.items #1\] duration = 0: expected"):
        collect_assets(folder, "kiosk")


def test_the_kiosk_and_the_screens_never_name_a_layout_rule_alike():
    """The attract loop loads the screens' layout.kv into the kiosk's app, and Kivy keeps one set
    of rules, classes and #:set names for all files: a name in both would restyle the other's."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent

    def names(room: str) -> set[str]:
        found = set()
        for path in (root / room).glob("*.kv"):
            text = path.read_text(encoding="utf-8")
            for rule in re.findall(r"^<([^>]+)>:", text, re.M):
                found |= {part.strip().lstrip("-").split("@")[0] for part in rule.split(",")}
            found |= {f"#:set {name}" for name in re.findall(r"^#:set\s+(\w+)", text, re.M)}
        return found

    kiosk, signage = names("kiosk"), names("signage")
    assert "AttractScreen" in kiosk and "SlidePage" in signage and "#:set BG" in signage
    assert kiosk & signage == set()
