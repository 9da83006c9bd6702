"""An urgent notice end to end: a supervisor posts it on the console in Chromium against a real
hub process; a screen lays it over its slide and a kiosk's notice board has it within seconds,
for the services it concerns; both drop it at its expiry by their own clock; a kiosk offline
while it was posted shows it when it reconnects, only while it is valid by its clock, also
after a restart; «Снять» takes it down everywhere. A real kiosk enrolled with the hub shows it
on its start screen and on the page of the service it concerns, not on another's."""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from hardware.audio import SimulatedOutput
from hardware.clock import ManualClock
from hardware.headless_display import HeadlessDisplay
from mfc_edge.cli import main as cli
from mfc_edge.config import load_config
from offline_cache.hub_client import HubClient
from offline_cache.notices import NoticeBoard
from signage.app import SignageApp
from signage.wiring import open_screen
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.helpers.day import MONDAY_10AM
from tests.helpers.devices import BASE_CONFIG, write_config
from tests.helpers.faultproxy import FaultProxy
from tests.helpers.hubprocess import HubProcess
from tests.helpers.signage import screen_config
from tests.test_signage_notices import banner_texts

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # headless Chromium against a real hub process

TEXT = "Росреестр: приём документов на регистрацию недвижимости приостановлен до 14:00"
TEXT_EN = "Rosreestr: property registration documents are not accepted until 14:00"
SHOWN_WITHIN_S = 15.0  # the goal is 5 s (benchmarks/notice_bench.py); the margin is for a loaded machine


def wait_for(check: Callable[[], Any], timeout: float = SHOWN_WITHIN_S) -> Any:
    """`check()` once it is truthy, or its last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def ids(notices) -> list[str]:
    return [n.id for n in notices]


@pytest.fixture
def hub(tmp_path):
    with HubProcess(tmp_path / "hub") as hub:
        added = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "add-operator", "--data",
                                str(hub.data_dir), "--center", "strogino", "--login", "smirnova", "--name",
                                "Смирнова Анна", "--role", "supervisor"],
                               input="correct horse 42\n", capture_output=True, text=True)
        assert added.returncode == 0, added.stderr
        yield hub


def enrolled(hub: HubProcess, role: str, device: str, url: str | None = None) -> HubClient:
    token = requests.post(f"{hub.url}/api/v1/enroll", json={"code": hub.enroll_code(role=role), "device_id": device},
                          timeout=10).json()["token"]
    return HubClient(url or hub.url, token)


@pytest.fixture
def hall_screen(hub, tmp_path):
    """A waiting-area screen enrolled with the hub, on a clock of its own set to now."""
    folder = tmp_path / "screen"
    folder.mkdir()
    config = screen_config(folder, hub=hub.url)
    assert cli(["enroll", "--config", str(config), "--code", hub.enroll_code(role="signage")]) == 0
    device, clock = load_config(config), ManualClock(datetime.now(UTC))
    screen = open_screen(device, clock, audio=SimulatedOutput())
    yield SignageApp(device, screen, clock, new_calls=screen.calls_to_announce), clock
    screen.close()


def test_posted_on_the_console_shown_on_devices_offline_ones_on_reconnect_withdrawn(hub, hall_screen, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    app, screen_clock = hall_screen
    kiosk = NoticeBoard.polling(enrolled(hub, "kiosk", "kiosk-1"), cache_file=tmp_path / "kiosk-1.json").start()
    with FaultProxy(("127.0.0.1", hub.port)) as proxy, HeadlessDisplay(app, (1280, 720)) as screen:
        proxy.set(refuse=True)  # kiosk-2's network is down while the notice is posted
        away_cache = tmp_path / "kiosk-2.json"
        away = NoticeBoard.polling(enrolled(hub, "kiosk", "kiosk-2", proxy.url()), cache_file=away_cache,
                                   timeout=1.0).start()
        try:
            with playwright.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1366, "height": 900})
                refused = []  # what the hub's Content-Security-Policy stopped: nothing the page needs
                page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
                sign_in(page, hub.url, "smirnova", "Смирнова Анна")
                page.wait_for_selector("#notice-list:has-text('Нет действующих объявлений')")
                assert banner_texts(app) == []

                page.click("#notice-post")  # nothing written: the hub names the field
                page.wait_for_selector("#notice-message:has-text('напишите текст объявления')")
                assert page.evaluate("document.activeElement.id") == "notice-ru"
                post_notice(page, ["property-rights"])
                page.wait_for_selector("#notice-message:has-text('Опубликовано')")
                assert "опубликовал(а) Смирнова Анна" in page.inner_text("#notice-list")
                assert page.input_value("#notice-ru") == ""  # the form is ready for the next one

                # On the screen over its slide, Russian then English; on the kiosk for its service only.
                assert screen.wait_until(lambda: banner_texts(app) == [TEXT, TEXT_EN], SHOWN_WITHIN_S)
                assert wait_for(lambda: kiosk.current(datetime.now(UTC)))
                [notice] = kiosk.current(datetime.now(UTC), "property-rights")
                assert notice.text("ru") == TEXT and notice.text("en") == TEXT_EN
                assert kiosk.current(datetime.now(UTC), "passport-rf") == []
                # Gone at its expiry by each device's own clock.
                expired = notice.expires_at + timedelta(seconds=1)
                assert kiosk.current(expired) == []
                screen_clock.set(expired)
                assert screen.wait_until(lambda: banner_texts(app) == [], 5)
                screen_clock.set(datetime.now(UTC))
                assert screen.wait_until(lambda: banner_texts(app) == [TEXT, TEXT_EN], 5)

                # The offline kiosk knew nothing; back on the network it shows it, while valid only.
                assert away.all_known() == () and away.poller.last_status is None
                proxy.set(refuse=False)
                assert ids(wait_for(lambda: away.current(datetime.now(UTC)))) == [notice.id]
                assert away.current(expired) == []
                away.stop()
                # Restarted while the hub is away again: the saved list, by its clock only.
                proxy.set(refuse=True)
                restarted = NoticeBoard.polling(HubClient(proxy.url(), "t" * 32), cache_file=away_cache, timeout=1.0)
                assert not restarted.poller.poll_once()
                assert ids(restarted.current(datetime.now(UTC))) == [notice.id] and restarted.current(expired) == []

                page.on("dialog", lambda dialog: dialog.accept())
                page.click(f"#notice-list li:has-text('{TEXT}') button:has-text('Снять')")
                page.wait_for_selector("#notice-list:has-text('Нет действующих объявлений')")
                page.wait_for_selector(f"#notice-ended li:has-text('{TEXT}'):has-text('снял(а) Смирнова Анна')")
                assert screen.wait_until(lambda: banner_texts(app) == [], SHOWN_WITHIN_S)
                assert wait_for(lambda: not kiosk.current(datetime.now(UTC)))
                browser.close()
            assert refused == []
        finally:
            for board in (kiosk, away):
                board.stop()


def post_notice(page, services: list[str], expires: str = "30") -> None:
    page.fill("#notice-ru", TEXT)
    page.fill("#notice-en", TEXT_EN)
    for service in services:
        page.check(f"#notice-services input[value='{service}']")
    page.select_option("#notice-expires", expires)
    page.click("#notice-post")
    page.wait_for_selector(f"#notice-list li:has-text('{TEXT}')")


def test_posted_on_the_console_shown_on_a_kiosks_start_screen_and_the_service_page(hub, printer, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from kiosk.wiring import open_kiosk

    folder = tmp_path / "kiosk"
    folder.mkdir()
    config = write_config(folder, BASE_CONFIG.format(printer_uri=printer.uri).replace("https://hub.example.org",
                                                                                      hub.url))
    assert cli(["enroll", "--config", str(config), "--code", hub.enroll_code(role="kiosk")]) == 0
    clock = ManualClock(MONDAY_10AM)  # the kiosk's own clock, in opening hours
    kiosk = open_kiosk(load_config(config), clock)
    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, notices=kiosk.notices)
    try:
        with HeadlessKiosk(app, (1280, 800)) as k, playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            sign_in(page, hub.url, "smirnova", "Смирнова Анна")
            banner = k.find(tag="notice-banner")
            assert banner.text == ""
            post_notice(page, ["property-rights"])
            assert k.wait_until(lambda: TEXT in banner.text, SHOWN_WITHIN_S)  # the start screen: every notice
            assert banner.height > 0
            k.app.show_service("property-rights")
            k.frames(3)
            assert TEXT in k.find(tag="notice-banner").text  # before the ticket buttons
            k.app.go_home()
            k.app.show_service("passport-rf")
            k.frames(3)
            assert k.find(tag="notice-banner").text == ""  # not this service's concern
            k.app.go_home()
            k.frames(2)
            page.on("dialog", lambda dialog: dialog.accept())
            page.click(f"#notice-list li:has-text('{TEXT}') button:has-text('Снять')")
            assert k.wait_until(lambda: k.find(tag="notice-banner").text == "", SHOWN_WITHIN_S)
            browser.close()
    finally:
        kiosk.close()
