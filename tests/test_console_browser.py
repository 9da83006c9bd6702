"""The operator console in headless Chromium against a real hub; the phone status page follows."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
import requests

from hardware.clock import ManualClock
from kiosk.tickets import TicketStore
from mfc_edge import protocol
from offline_cache.hub_client import HubClient
from offline_cache.sync import SyncAgent
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.helpers.day import MSK
from tests.helpers.hubprocess import HubProcess, hub_today

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # headless Chromium against a real hub process

@pytest.fixture
def hub_with_tickets(tmp_path):
    with HubProcess(tmp_path / "hub") as hub:
        for login, name, role in (("ivanova", "Иванова Мария", "operator"), ("smirnova", "Смирнова Анна", "supervisor")):
            added = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "add-operator", "--data",
                                    str(hub.data_dir), "--center", "strogino", "--login", login, "--name", name,
                                    "--role", role], input="correct horse 42\n", capture_output=True, text=True)
            assert added.returncode == 0, added.stderr
        token = requests.post(f"{hub.url}/api/v1/enroll", json={"code": hub.enroll_code(), "device_id": "kiosk-1"},
                              timeout=10).json()["token"]
        store = TicketStore(tmp_path / "kiosk.sqlite", center_id="strogino", device_id="kiosk-1", timezone=MSK,
                           ticket_range=(1, 499), clock=ManualClock(hub_today()))
        tickets = [store.issue_ticket(service_id="passport-rf", letter="П"),
                   store.issue_ticket(service_id="passport-rf", letter="П")]
        SyncAgent(store, HubClient(hub.url, token)).drain()
        yield hub, tickets
        store.close()


def test_sign_in_call_no_show_call_transfer_finish(hub_with_tickets, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    hub, (first, second) = hub_with_tickets
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        refused = []  # what the hub's Content-Security-Policy stopped: nothing the pages need
        page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
                else None)
        page.goto(f"{hub.url}/console")
        assert page.evaluate("getComputedStyle(document.querySelector('header')).display") == "flex"  # console.css
        page.fill("#center", "strogino")
        page.fill("#login", "ivanova")
        page.fill("#password", "wrong password")
        page.click("#sign-in")
        page.wait_for_selector("#sign-in-message:has-text('wrong center, login or password')")
        page.fill("#password", "correct horse 42")
        page.click("#sign-in")
        page.wait_for_selector("#who:has-text('Иванова Мария')")
        assert not page.is_visible("#hall")  # the hall is for supervisors

        page.fill("#window", "5")
        page.check("#services input[value='passport-rf']")
        page.check("#services input[value='adult-snils']")
        page.click("#open-window")

        page.click("#call-next")
        page.wait_for_selector(f"#current:has-text('{first.number}')")
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
                 else None)
        phone.goto(f"{hub.url}/t/{first.status_token}")
        assert "Пройдите к окну 5" in phone.content()
        assert phone.evaluate("getComputedStyle(document.querySelector('header a')).color") == "rgb(255, 255, 255)"

        page.click("#no-show")
        page.wait_for_selector("#current:has-text('—')")
        page.click("#call-next")
        page.wait_for_selector(f"#current:has-text('{second.number}')")
        phone.goto(f"{hub.url}/t/{second.status_token}?lang=en")
        assert "Please go to window 5" in phone.content()

        page.select_option("#transfer-to", "adult-snils")
        page.click("#transfer")
        page.wait_for_selector("#current:has-text('—')")
        phone.reload()
        assert "You are next" in phone.content() and "SNILS" in phone.content()

        page.click("#call-next")  # the window serves SNILS too: the transferred visitor comes back
        page.wait_for_selector(f"#current:has-text('{second.number}')")
        page.click("#finish")
        page.wait_for_selector("#current:has-text('—')")
        page.screenshot(path=str(tmp_path / "console.png"))
        phone.reload()
        assert "You have been served" in phone.content()
        page.click("#call-next")
        page.wait_for_selector("#message:has-text('Никто не ждёт')")
        browser.close()
    assert refused == []

    history = requests.get(f"{hub.url}/t/{first.status_token}", timeout=5)
    assert "больше не в очереди" in history.text
    assert requests.get(f"{hub.url}/t/not-a-real-token", timeout=5).status_code == 404


def test_console_api_refuses_without_a_session(hub_with_tickets):
    hub, _ = hub_with_tickets
    assert requests.get(f"{hub.url}/console/api/state", timeout=5).status_code == 401
    assert requests.post(f"{hub.url}/console/api/call-next", json={"window": "5"}, timeout=5).status_code == 401


def test_a_supervisor_sees_the_hall_and_closes_a_window(hub_with_tickets):
    playwright = pytest.importorskip("playwright.sync_api")
    hub, (first, _) = hub_with_tickets
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        operator = browser.new_page(viewport={"width": 1366, "height": 768})
        sign_in(operator, hub.url, "ivanova", "Иванова Мария")
        operator.fill("#window", "5")
        operator.check("#services input[value='passport-rf']")
        operator.click("#open-window")
        operator.click("#call-next")
        operator.wait_for_selector(f"#current:has-text('{first.number}')")

        supervisor = browser.new_page(viewport={"width": 1366, "height": 768})
        sign_in(supervisor, hub.url, "smirnova", "Смирнова Анна")
        row = "#hall-windows tr:has-text('Иванова Мария')"
        supervisor.wait_for_selector(f"{row}:has-text('{first.number}')")
        assert supervisor.is_disabled(f"{row} button")  # a visitor is still at the window
        assert "Всего" in supervisor.inner_text("#hall-services")

        operator.click("#no-show")
        operator.wait_for_selector("#current:has-text('—')")
        supervisor.wait_for_selector(f"{row} button:enabled")
        supervisor.click(f"{row} button")
        supervisor.wait_for_selector(row, state="detached")
        operator.wait_for_selector("#current-info:has-text('Откройте окно')")
        assert operator.is_disabled("#call-next")

        # The window's console: a stuck smiley shows under «Устройства» until it works again.
        code = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "enroll-code", "--data", str(hub.data_dir),
                               "--center", "strogino", "--role", "console", "--window", "5"],
                              capture_output=True, text=True, check=True).stdout.strip()
        token = requests.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device_id": "console-5"},
                              timeout=10).json()["token"]
        button = {"button": "rating-3", "pin": 13}
        for kind in (protocol.BUTTON_STUCK, protocol.BUTTON_RELEASED):
            event = protocol.make_event(kind, "strogino", "console-5", datetime.now(UTC), button)
            assert requests.post(f"{hub.url}/api/v1/events", json={"events": [event]}, timeout=10,
                                 headers={"Authorization": f"Bearer {token}"}).json()["results"][0]["status"] == "stored"
            console_row = "#device-rows tr:has-text('console-5')"
            supervisor.wait_for_selector(f"{console_row}:has-text('console · окно 5')")
            if kind == protocol.BUTTON_STUCK:
                supervisor.wait_for_selector(f"{console_row}:has-text('button rating-3: залипла')")
            else:
                supervisor.wait_for_selector(f"{console_row}:not(:has-text('залипла'))")
        browser.close()
