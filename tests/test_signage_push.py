"""A waiting-area screen follows the hub's push: a call made on the hub is drawn and announced
when the feed arrives, not at the screen's next look (its timer set to ten minutes here), and
with the push channel cut the plain poll brings the rest; every call shown and announced once."""
from __future__ import annotations

import time
import uuid

import pytest

from hardware.audio import SimulatedOutput
from hardware.clock import ManualClock
from hardware.headless_display import HeadlessDisplay
from hub.api import Hub
from hub.identity import Device
from hub.server import HubThread
from mfc_edge import protocol
from mfc_edge.cli import main as cli
from mfc_edge.config import load_config
from offline_cache import feed as feed_module
from signage.app import SignageApp
from signage.wiring import open_screen
from tests.helpers.day import MONDAY_10AM
from tests.helpers.faultproxy import FaultProxy
from tests.helpers.signage import screen_config

CENTER, WINDOW, SERVICE = "strogino", "4", "passport-rf"
NEVER_S = 600.0  # the screen's own look at its feed: it cannot come within a test


def issue(hub: Hub, number: str) -> None:
    body = {"ticket": uuid.uuid4().hex, "number": number, "service": SERVICE, "day": MONDAY_10AM.date().isoformat(),
            "priority": False, "issued_at": MONDAY_10AM.isoformat(), "status_token": uuid.uuid4().hex}
    event = protocol.make_event(protocol.TICKET_ISSUED, CENTER, "kiosk-1", MONDAY_10AM, body)
    assert hub.events.ingest(Device(CENTER, "kiosk-1", "kiosk"), [event])[0].status == "stored"


def call_next(hub: Hub) -> str:
    if hub.queue.current(CENTER, WINDOW):
        hub.queue.finish(CENTER, WINDOW)
    number: str = hub.queue.call_next(CENTER, WINDOW, [SERVICE])["number"]
    return number


def wait(display: HeadlessDisplay, condition, what: str, timeout: float = 30.0) -> None:
    """Frames drawn until `condition`; far less than the screen's timer (NEVER_S)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        display.frames(1)
        time.sleep(0.01)


@pytest.mark.slow
def test_a_pushed_call_is_shown_and_announced_at_once_and_the_plain_poll_takes_over_when_cut(tmp_path, monkeypatch):
    monkeypatch.setattr(feed_module, "BACKOFF_FIRST_S", 60.0)  # once cut, the push stays down for the test
    clock = ManualClock(MONDAY_10AM)
    hub = Hub(tmp_path / "hub", clock=clock)
    for n in range(1, 6):
        issue(hub, f"П{n:03d}")
    hub.queue.open_window(CENTER, WINDOW, [SERVICE], "ivanova")
    before = call_next(hub)  # made before the screen starts: shown, not announced
    server = HubThread(hub).start()
    proxy = FaultProxy(upstream=("127.0.0.1", int(server.url.rsplit(":", 1)[1]))).start()
    folder = tmp_path / "screen"
    folder.mkdir()
    config = screen_config(folder, hub=proxy.url("http"))
    assert cli(["enroll", "--config", str(config), "--code", hub.identity.create_code(CENTER, "signage")]) == 0
    device = load_config(config)
    screen = open_screen(device, clock, audio=SimulatedOutput())
    feed = screen.feed
    assert feed is not None and screen.announcer is not None
    feed.interval = 0.3  # the plain poll's, once the push is cut
    app = SignageApp(device, screen, clock, new_calls=screen.calls_to_announce)
    app.follow_every = NEVER_S
    try:
        with HeadlessDisplay(app, (1920, 1080)) as d:
            rows = app.calls_panel.ids.rows

            def newest() -> str | None:
                return rows.children[-1].number if rows.children and rows.children[-1].newest else None

            wait(d, lambda: feed.pushed and newest() == before, "the first feed, pushed")
            pushed = call_next(hub)
            wait(d, lambda: newest() == pushed, f"{pushed} on the screen")
            clock.advance(seconds=20)
            hub.queue.recall(CENTER, WINDOW)  # a recall is a call of its own: announced again
            wait(d, lambda: len(screen.announcer.announced) == 2, "the call and its recall announced")
            assert feed.pushed

            proxy.cut_all()  # the push channel is cut mid-day
            wait(d, lambda: not feed.pushed and feed.last_status is not None, "the plain poll took over")
            polled = [call_next(hub), call_next(hub)]
            wait(d, lambda: newest() == polled[-1], "the calls made while the push was down")
            assert not feed.pushed
            assert screen.announcer.wait_idle(30)
            d.frames(3)
            announced = [(a.call["number"], a.call["recall"]) for a in screen.announcer.announced]
            assert announced == [(pushed, False), (pushed, True), (polled[0], False), (polled[1], False)]
            assert [r.number for r in reversed(rows.children)][:4] == [polled[1], polled[0], pushed, before]
    finally:
        screen.close()
        proxy.stop()
        server.stop()
        hub.close()
