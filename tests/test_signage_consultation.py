"""Video consultations as slides: the catalog's entry with its hours and a QR code a phone
reads off the screen; the bundle's own catalog first; an unknown id skipped, never blank."""
from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image

from hardware.headless_display import HeadlessDisplay, walk
from mfc_edge import protocol
from mfc_edge.catalog import BUNDLED_CATALOG
from tests import test_signage_screen
from tests.test_signage_screen import events, inside

make_screen = test_signage_screen.make_screen  # the screens' fixture: a screen in the test's folder

ITEM = '[[playlists.{p}.items]]\ntype = "consultation"\nconsultation = "{c}"\nduration = {d}\n'
RULES = '[[playlists.{p}.items]]\ntype = "rules"\nduration = 30\n'


def codes_on(shot) -> list[str]:
    with Image.open(shot) as picture:
        return [r.text for r in zxingcpp.read_barcodes(picture)]


def tagged(slide) -> dict[str, str]:
    return {w.tag: getattr(w, "text", "") for w in walk(slide) if getattr(w, "tag", "")}


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_a_consultation_slide_shows_the_entry_and_its_code_reads_back_from_the_screen(
        make_screen, tmp_path, orientation):
    playlist = "[playlists.waiting-area]\n" + ITEM.format(p="waiting-area", c="rosreestr-video", d=30)
    device, screen, app, _ = make_screen(orientation=orientation, files={"playlist.toml": playlist.encode()})
    with HeadlessDisplay(app, device.signage.size) as d:
        assert d.wait_until(lambda: getattr(app.player.current, "item", None) is not None)
        d.frames(3)
        slide, main = app.player.current, app.root.ids.main
        texts = tagged(slide)
        assert texts["consultation-agency"] == "Росреестр"  # the built-in catalog: this bundle has none
        assert texts["consultation-hours"] == ("Специалисты на связи: Пн–Чт 09:00–18:00, Пт 09:00–16:45\n"
                                               "Specialists are on line: Mon–Thu 09:00–18:00, Fri 09:00–16:45")
        assert "кабинке видеосвязи" in texts["consultation-booth"]  # the catalog names a booth service
        assert texts["consultation-topics"].startswith("Регистрация прав на недвижимость")
        for label in walk(slide):  # nothing of the slide runs out of its zone
            if getattr(label, "text", "") and label.width > 0:
                assert inside(label, main), label.text
        qr = next(w for w in walk(slide) if getattr(w, "tag", "") == "qr")
        assert min(qr.norm_image_size) >= 0.4 * min(main.size)  # large: read from a few steps away
        shot = d.screenshot(tmp_path / "consultation.png")
    assert codes_on(shot) == ["https://rosreestr.gov.ru/"]


def test_the_bundles_catalog_comes_first_and_an_unknown_id_is_skipped(make_screen, tmp_path):
    own = BUNDLED_CATALOG.read_text(encoding="utf-8").replace(
        'agency = "Социальный фонд России"', 'agency = "Социальный фонд России, клиентская служба в Строгино"'
    ).replace('url = "https://sfr.gov.ru/"', 'url = "https://strogino.example/sfr-video"')
    playlist = ("[playlists.waiting-area]\n" + ITEM.format(p="waiting-area", c="no-such-agency", d=0.5)
                + ITEM.format(p="waiting-area", c="sfr-video", d=30))
    device, screen, app, _ = make_screen(files={"playlist.toml": playlist.encode(), "catalog.toml": own.encode()})
    shown_blank = 0
    with HeadlessDisplay(app, (1920, 1080)) as d:
        while getattr(app.player.current, "item", None) is None or not app.player.current.ready:
            d.frames(1)
            shown_blank += app.player.current is None
        assert app.player.current.item.consultation == "sfr-video"
        d.frames(3)
        assert tagged(app.player.current)["consultation-agency"].endswith("клиентская служба в Строгино")
        shot = d.screenshot(tmp_path / "own-catalog.png")
    assert codes_on(shot) == ["https://strogino.example/sfr-video"]
    [skipped] = events(screen, protocol.SLIDE_SKIPPED)
    assert skipped["kind"] == "consultation" and skipped["reason"] == "unknown-consultation"
    assert "'no-such-agency'" in skipped["detail"] and "the bundle's catalog.toml" in skipped["detail"]
    assert [p["item"] for p in events(screen, protocol.SLIDE_PLAYED)] == [1]  # the unknown one never on screen


def test_a_broken_catalog_in_the_bundle_skips_the_slide_with_the_catalogs_error(make_screen):
    playlist = "[playlists.waiting-area]\n" + ITEM.format(p="waiting-area", c="fns-video", d=30) \
        + RULES.format(p="waiting-area")
    device, screen, app, _ = make_screen(files={"playlist.toml": playlist.encode(),
                                                "catalog.toml": b"version = 1\n[[consultations]]\nid = 5\n"})
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: getattr(app.player.current, "item", None) is not None)
        assert app.player.current.item.type == "rules"
    [skipped] = events(screen, protocol.SLIDE_SKIPPED)
    assert skipped["reason"] == "bad-catalog"
    assert skipped["detail"].startswith("the bundle's catalog.toml: top level categories")
