"""The visitor's phone page in headless Chromium against a real hub on 127.0.0.1: it follows the
line without reloading, says «Вы следующий», shows the window with a sound and a vibration
when called, and gives the ticket up after a confirmation."""
from __future__ import annotations

from datetime import UTC

import pytest

from hardware.clock import ManualClock
from hub.api import Hub
from hub.server import HubThread
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.day import at
from tests.helpers.line import token, waiting_line

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# What the page asks of the phone, recorded: the vibrations and the tones it plays.
RECORD = """
window.recorded = {vibrations: [], tones: 0};
navigator.vibrate = (pattern) => { window.recorded.vibrations.push(pattern); return true; };
const makeTone = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.recorded.tones += 1; return makeTone.call(this); };
"""


@pytest.fixture
def center(tmp_path):
    hub = Hub(tmp_path / "hub", clock=ManualClock(at(7, tz=UTC)))
    waiting_line(hub, 4)
    hub.queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
    with HubThread(hub) as server:
        yield hub, server.url
    hub.close()


@pytest.fixture
def phone():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True)
        page.refused = []  # what the hub's Content-Security-Policy stopped: nothing the page needs
        page.on("console", lambda message: page.refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.add_init_script(RECORD)
        yield page
        browser.close()


def serve_next(hub: Hub) -> str:
    """The operator at window 5 finishes the visitor at the window, if any, and calls the next."""
    if hub.queue.current("strogino", "5"):
        hub.queue.finish("strogino", "5")
    return hub.queue.call_next("strogino", "5", ["passport-rf"])["number"]


def test_the_page_follows_the_line_and_rings_when_called(center, phone):
    hub, url = center
    phone.goto(f"{url}/t/{token(3)}")
    phone.wait_for_selector("#headline:has-text('Перед вами 2 человека')")
    phone.evaluate("window.sameDocument = true")  # gone if the page reloads
    phone.wait_for_selector("#footer:has-text('как только очередь сдвинется')")  # the script runs
    phone.click("#sound")  # the visitor's first touch: browsers allow sound only after one
    phone.wait_for_selector("#sound:has-text('Звук включён')")
    tones_before_call = phone.evaluate("window.recorded.tones")

    assert serve_next(hub) == "П001"
    phone.wait_for_selector("#headline:has-text('Перед вами 1 человек')")
    assert serve_next(hub) == "П002"
    phone.wait_for_selector("main.next #headline:has-text('Вы следующий')")
    assert phone.evaluate("window.recorded.vibrations") == []  # nothing rang yet
    assert phone.evaluate("getComputedStyle(document.querySelector('#headline')).backgroundColor") \
        == "rgb(255, 210, 74)"  # highlighted

    assert serve_next(hub) == "П003"
    phone.wait_for_selector("main.called #headline:has-text('Пройдите к окну 5')")
    phone.wait_for_selector("body[data-rang='1']")
    assert phone.evaluate("window.recorded.vibrations") == [[400, 200, 400, 200, 400]]
    assert phone.evaluate("window.recorded.tones") - tones_before_call == 3
    assert not phone.is_visible("#cancel-ticket")  # a called ticket is the window's now
    hub.queue.recall("strogino", "5")
    phone.wait_for_selector("body[data-rang='2']")  # called again: it rings again
    assert phone.evaluate("window.sameDocument") is True  # all of it without a reload
    assert phone.refused == []


def test_the_visitor_cancels_after_confirming_and_is_never_called(center, phone):
    hub, url = center
    phone.goto(f"{url}/t/{token(2)}?lang=en")
    phone.wait_for_selector("#headline:has-text('1 person ahead of you')")
    phone.click("#cancel-ticket")
    phone.wait_for_selector("text=Cancel ticket П002? You will not be called")
    phone.click("#keep-ticket")  # changed their mind: still in line
    phone.wait_for_selector("#cancel-ticket")
    assert hub.queue.ticket_by_token(token(2))["state"] == "waiting"
    phone.click("#cancel-ticket")
    phone.click("#confirm-cancel")
    phone.wait_for_selector("main.over #headline:has-text('You have cancelled this ticket. It will not be called.')")
    assert hub.queue.ticket_by_token(token(2))["state"] == "cancelled"
    assert not phone.is_visible("#cancel-ticket") and not phone.is_visible("#sound")  # nothing more to come
    assert [serve_next(hub) for _ in range(3)] == ["П001", "П003", "П004"]
    assert hub.queue.ticket_by_token(token(2))["state"] == "cancelled"
    assert phone.refused == []
