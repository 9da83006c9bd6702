"""The public /waits page in headless Chromium against a city on 127.0.0.1: each center's wait,
its groups and best time, "нет данных / no data" for a silent center, the switch to English, the
order by district or shortest wait first, and the screenshot the demo takes."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from city.city import City
from city.public import screenshot_page
from city.server import CityThread
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_city_public import NOW, hand_made_city

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def city_url(city_dsn: str) -> Iterator[str]:
    hand_made_city(city_dsn)
    city = City(city_dsn, clock=lambda: NOW, pool_size=4)
    try:
        with CityThread(city) as server:
            yield server.url
    finally:
        city.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_the_page_shows_each_center_and_switches_to_english(city_url: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, timezone_id="Europe/Moscow")
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{city_url}/waits")
    page.wait_for_selector("body[data-loaded='yes']")
    assert page.evaluate("document.documentElement.lang") == "ru"
    assert page.inner_text("h1") == "Очереди в центрах «Мои документы»"
    arbat = page.locator("#center-c1")
    assert arbat.locator("h2").inner_text() == "МФЦ Арбат"
    assert arbat.locator(".wait").inner_text() == "около 20 мин"
    assert arbat.locator(".waiting").inner_text() == "5 чел."
    assert "Паспорта и регистрация" in arbat.locator("table").inner_text()
    assert page.locator("#center-c2 .nodata").inner_text() == "нет данных / no data"
    assert page.locator("#center-c3 .badge").inner_text() == "закрыт"
    assert "Обновлено: 23 нояб., 12:30" in page.inner_text("#made")
    order = "[...document.querySelectorAll('article')].map((a) => a.id)"
    assert page.evaluate(order) == ["center-c2", "center-c1", "center-c3"]  # САО, ЦАО, ЮВАО
    page.click("#by-wait")
    page.wait_for_selector("body[data-loaded='yes']")
    # Open centers by their wait, then the closed one, and the one with no data last (not as a wait of 0).
    assert page.evaluate(order) == ["center-c1", "center-c3", "center-c2"]
    assert page.get_attribute("#by-wait", "aria-current") == "true"
    page.click("#lang")
    page.wait_for_selector("body[data-loaded='yes']")
    assert page.url.endswith("/waits?lang=en&sort=wait")
    assert page.evaluate(order) == ["center-c1", "center-c3", "center-c2"]
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("h1") == "Waiting times at «My Documents» centers"
    assert page.locator("#center-c1 .wait").inner_text() == "about 20 min"
    assert "Passports and registration" in page.locator("#center-c1 table").inner_text()
    assert page.locator("#center-c2 .badge").inner_text() == "no contact with the center"
    assert page.locator("#lang").inner_text() == "Русский"
    assert page.context.cookies() == []
    assert refused == []


def test_the_demo_screenshot(city_url: str, browser: Any, tmp_path: Path) -> None:
    shot = tmp_path / "waits.png"
    screenshot_page(browser, city_url, shot, lang="en")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
