"""The urgent notice's part of the demo: the supervisor posts «Росреестр: приём документов …
приостановлен» on the console (33-console-notice.png); the entrance's screen, a second hall
screen enrolled with the demo hub, lays it over its slide (32-screen-urgent-notice.png), and
the kiosk's start screen shows it above the ways in (31-kiosk-urgent-notice.png)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

NOTICE_RU = "Росреестр: приём документов на регистрацию недвижимости приостановлен до 14:00"
NOTICE_EN = "Rosreestr: property registration documents are not accepted until 14:00"


def post_on_console(center: Any, shots: Path) -> None:
    """The supervisor fills in «Срочное объявление» and posts it, for the whole center, for two hours."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo import _chromium, signed_in_console
    from mfc_edge.cli.demo_devices import SUPERVISOR

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = signed_in_console(browser, center.server.url, SUPERVISOR)
            page.fill("#notice-ru", NOTICE_RU)
            page.fill("#notice-en", NOTICE_EN)
            page.select_option("#notice-expires", "120")
            page.click("#notice-post")
            page.wait_for_selector(f"#notice-list li:has-text('{NOTICE_RU}')")
            page.locator("#notices").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "33-console-notice.png"))
        finally:
            browser.close()


def notices_scene(center: Any, out: Path, shots: Path) -> str:
    """Post the notice on the console; the entrance's screen shows it over its slide."""
    from hardware.audio import SimulatedOutput
    from hardware.headless_display import HeadlessDisplay
    from mfc_edge.cli.demo_screen import SCREEN_CONFIG, _wait
    from mfc_edge.config import load_config
    from offline_cache.enrollment import enroll
    from signage.app import SignageApp
    from signage.wiring import open_screen

    folder = out / "notice-screen"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = folder / "screen.toml"
    # The hall screen's settings, for a device of its own at the entrance.
    config.write_text(SCREEN_CONFIG.format(hub_url=center.server.url).replace('"screen-hall"', '"screen-entrance"'),
                      encoding="utf-8")
    device = load_config(config)
    enroll(device, center.hub.identity.create_code("strogino", "signage"))
    screen = open_screen(device, center.clock, audio=SimulatedOutput(keep_dir=folder / "heard"))
    try:
        result = screen.bundles.check() if screen.bundles else None
        if result is None or result.status not in ("applied", "unchanged"):
            raise RuntimeError(f"the entrance's screen did not apply the signage bundle: {result}")
        screen.content.refresh()
        for poller in (screen.load, screen.ratings, screen.feed):  # the screen starts with the hub's data
            if poller and not poller.poll_once():
                raise RuntimeError(f"the entrance's screen could not reach the hub for {poller.path}")
        post_on_console(center, shots)
        board = screen.notices
        assert board is not None and board.poller is not None
        if not board.poller.poll_once():
            raise RuntimeError("the entrance's screen could not reach the hub for its notices")
        app = SignageApp(device, screen, center.clock, new_calls=screen.calls_to_announce)
        with HeadlessDisplay(app, device.signage.size) as d:
            _wait(d, lambda: getattr(app.player.current, "item", None) is not None, "the screen's playlist")
            _wait(d, lambda: any(getattr(w, "text", "") == NOTICE_RU for w in app.notice_banner.walk()),
                  "the notice on the screen")
            d.frames(10)
            d.screenshot(shots / "32-screen-urgent-notice.png")
    finally:
        screen.close()
    kiosk_shows(center, shots)
    return (f"The supervisor posted «{NOTICE_RU}» on the console for two hours; the entrance's screen laid it "
            "over its slide, Russian and English, and the kiosk's start screen showed it.")


def kiosk_shows(center: Any, shots: Path) -> None:
    """The demo's kiosk, its board following the hub, shows the notice on its start screen."""
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk

    kiosk = center.kiosk
    if kiosk.notices is None or kiosk.notices.poller is None or not kiosk.notices.poller.poll_once():
        raise RuntimeError("the kiosk could not reach the hub for its notices")
    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, center.clock, kiosk.catalog_updates,
                   load_figures=kiosk.load_figures, kids_room=kiosk.kids_room, notices=kiosk.notices)
    with HeadlessKiosk(app, (1280, 800)) as k:
        if not k.wait_until(lambda: NOTICE_RU in k.find(tag="notice-banner").text, 10):
            raise RuntimeError("the demo waited in vain for the notice on the kiosk")
        k.frames(5)
        k.screenshot(shots / "31-kiosk-urgent-notice.png")
