"""The city dashboard in Chromium: sign in, see the centers (the silent one marked), filter a
district, sort, drill down to a center; and the picture of it the demo takes."""
from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from city.accounts import Accounts
from city.city import City
from city.server import CityThread
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_city_dashboard import NOW, PASSWORD, history

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def url(city_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from argon2 import PasswordHasher

    monkeypatch.setattr("city.accounts._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with psycopg.connect(city_dsn) as conn:
        history(conn)
    city = City(city_dsn, lambda: NOW, pool_size=2)
    Accounts(city).add("petrova", "Петрова", PASSWORD, "viewer")
    Accounts(city).add("chief", "Начальник", PASSWORD, "admin")
    try:
        with CityThread(city) as server:
            yield server.url
    finally:
        city.close()


def test_sign_in_filter_a_district_and_drill_down(url: str) -> None:
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.city_dashboard_commands import signed_in_dashboard

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="ru-RU")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # A script's error fails the test; a 401 while signed out is the page working as meant.
            page.on("console", lambda m: errors.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
            page.goto(f"{url}/dashboard")
            page.wait_for_url("**/dashboard/sign-in")  # signed out: sent to sign in
            page.fill("#login", "petrova")
            page.fill("#password", "wrong password")
            page.click("#sign-in")
            page.wait_for_selector("#error:has-text('Неверный логин')")

            signed_in_dashboard(page, url, "petrova", PASSWORD)
            page.wait_for_selector("#who:has-text('Петрова')")
            rows = page.locator("#centers tbody tr")
            assert rows.count() == 3
            assert page.locator("#centers tr[data-center='south']").get_attribute("class") == "silent"
            south = page.locator("#centers tr[data-center='south']").inner_text()
            assert "данные неизвестны" in south and "10 мин назад" in south  # on the city's clock, not the browser's
            arbat = page.locator("#centers tr[data-center='arbat'] td").all_inner_texts()
            assert arbat[2] == "3" and arbat[3] == "40 мин" and arbat[4] == "2 (1)"
            assert "Город" in page.locator("#totals").inner_text()
            assert page.locator("#accounts").is_hidden()  # a viewer manages no accounts

            page.select_option("#district", "ЦАО")
            assert [r.get_attribute("data-center") for r in rows.all()] == ["arbat", "tverskoy"]
            assert "ЦАО" in page.locator("#totals").inner_text()
            page.click("#centers th[data-sort='waiting']")
            page.click("#centers th[data-sort='waiting']")  # most waiting first
            assert [r.get_attribute("data-center") for r in rows.all()] == ["arbat", "tverskoy"]
            page.click("#centers th[data-sort='waiting']")
            assert [r.get_attribute("data-center") for r in rows.all()] == ["tverskoy", "arbat"]

            page.click("#centers tr[data-center='arbat'] .center-name")
            page.wait_for_selector("#detail:not(.hidden)[data-center='arbat']")
            assert page.locator("#detail-title").inner_text() == "МФЦ Арбат (ЦАО)"
            assert page.locator("#detail-windows tbody tr").count() == 2
            assert "обед" in page.locator("#detail-windows").inner_text()
            assert "kiosk-1" in page.locator("#detail-devices").inner_text()
            assert page.locator("#detail-services tbody tr").count() == 2
            assert page.locator("#detail-hours .hour").count() == 15

            page.click("#report-show")
            page.wait_for_selector("#report-table tbody tr")
            assert "всего / total" in page.locator("#report-table tbody tr").last.inner_text()
            assert errors == []
        finally:
            browser.close()


def test_an_admin_adds_and_disables_accounts(url: str) -> None:
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.city_dashboard_commands import signed_in_dashboard

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="ru-RU")
            signed_in_dashboard(page, url, "chief", PASSWORD)
            page.wait_for_selector("#accounts:not(.hidden) tr[data-login='petrova']")
            page.fill("#account-login", "sidorov")
            page.fill("#account-name", "Сидоров <b>")
            page.select_option("#account-role", "editor")
            page.fill("#account-password", "short")
            page.click("#account-add")
            page.wait_for_selector("#account-error:has-text('at least 8')")
            page.fill("#account-password", PASSWORD)
            page.click("#account-add")
            row = page.locator("#accounts-table tr[data-login='sidorov']")
            row.wait_for()
            assert row.locator("td").all_inner_texts()[:3] == ["sidorov", "Сидоров <b>", "editor"]  # text, not markup
            page.locator("#accounts-table tr[data-login='petrova'] button").click()
            page.wait_for_selector("#accounts-table tr[data-login='petrova']:has-text('отключена')")
        finally:
            browser.close()


def test_the_dashboards_picture_for_the_demo(url: str, tmp_path) -> None:
    from PIL import Image

    from mfc_edge.cli.city_dashboard_commands import dashboard_png

    out = dashboard_png(url, "petrova", PASSWORD, tmp_path / "city.png", center="arbat")
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width == 1366 and image.height >= 900
