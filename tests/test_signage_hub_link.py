"""A screen enrolled with a real hub on 127.0.0.1: its bundle, calls from the queue feed,
proof of play and screenshots reach the hub, and the hub lost and back."""
from __future__ import annotations

import json
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
from signage.app import SignageApp
from signage.wiring import open_screen
from tests.helpers.day import MONDAY_10AM
from tests.helpers.signage import png, screen_config

PLAYLIST = """\
[playlists.waiting-area]
[[playlists.waiting-area.items]]
type = "image"
asset = "media/poster.png"
duration = 0.5

[[playlists.waiting-area.items]]
type = "rules"
duration = 0.5
"""


def issue(hub: Hub, number: str, service: str = "passport-rf") -> None:
    """A ticket taken at a kiosk, as its event reaches the hub."""
    at = MONDAY_10AM
    body = {"ticket": uuid.uuid4().hex, "number": number, "service": service, "day": at.date().isoformat(),
            "priority": False, "issued_at": at.isoformat(), "status_token": uuid.uuid4().hex}
    event = protocol.make_event(protocol.TICKET_ISSUED, "strogino", "kiosk-1", at, body)
    assert hub.events.ingest(Device("strogino", "kiosk-1", "kiosk"), [event])[0].status == "stored"


def wait(condition, what: str, display=None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        display.frames(1) if display else time.sleep(0.05)


@pytest.fixture
def center(tmp_path):
    clock = ManualClock(MONDAY_10AM)
    hub = Hub(tmp_path / "hub", clock=clock)
    server = HubThread(hub).start()
    yield hub, server, clock
    server.stop()
    hub.close()


@pytest.mark.slow
def test_enrolled_screen_follows_the_hub_and_reports_to_it(center, tmp_path):
    hub, server, clock = center
    folder = tmp_path / "screen"
    folder.mkdir()
    config = screen_config(folder, hub=server.url)
    assert cli(["enroll", "--config", str(config), "--code", hub.identity.create_code("strogino", "signage")]) == 0
    media = tmp_path / "bundle"
    (media / "media").mkdir(parents=True)
    (media / "playlist.toml").write_text(PLAYLIST, encoding="utf-8")
    (media / "media" / "poster.png").write_bytes(png())
    version = hub.bundles.publish_folder(media, "strogino", "signage").version
    issue(hub, "П001")
    issue(hub, "П002")
    hub.queue.open_window("strogino", "4", ["passport-rf"], "ivanova")
    hub.queue.call_next("strogino", "4", ["passport-rf"])

    device = load_config(config)
    screen = open_screen(device, clock, audio=SimulatedOutput())
    screen.feed.stale_after = 1.0  # the configured minimum is 10 s: too long to wait for here
    app = SignageApp(device, screen, clock, new_calls=screen.calls_to_announce)
    try:
        with HeadlessDisplay(app, (1920, 1080)) as d:
            screen.start_screenshots(app.capture_png)
            wait(lambda: screen.bundles.last is not None, "the first bundle check", d)
            assert screen.bundles.last.status == "applied" and screen.bundles.last.version == version
            wait(lambda: app.player.version == version and app.player.current is not None
                 and app.player.current.item is not None, "the bundle's playlist", d)
            rows = app.calls_panel.ids.rows
            wait(lambda: [r.number for r in rows.children] == ["П001"], "the call made before the start", d)
            assert not screen.announcer.announced  # it was made before the screen started: not news

            hub.queue.finish("strogino", "4")
            hub.queue.call_next("strogino", "4", ["passport-rf"])
            wait(lambda: rows.children and rows.children[-1].number == "П002" and rows.children[-1].newest,
                 "the new call", d)
            wait(lambda: screen.announcer.wait_idle(0.05), "the announcement", d)
            assert [a.call["number"] for a in screen.announcer.announced] == ["П002"]
            assert screen.announcer.announced[0].phrases[1].startswith("Талон Пэ два, окно четыре")

            wait(lambda: hub.screens.latest("strogino", device.device_id) is not None, "a screenshot on the hub", d)
            shot = hub.screens.latest("strogino", device.device_id)
            assert (shot["width"], shot["height"]) == (1920, 1080)

            def played():
                return [json.loads(body) for (body,) in hub.db.db.execute(
                    "SELECT body FROM events WHERE device = ? AND type = ?", [device.device_id, protocol.SLIDE_PLAYED])]
            wait(lambda: {p["kind"] for p in played() if p["bundle"] == version} == {"image", "rules"},
                 "proof of play on the hub", d)
            assert all(p["kind"] == "fallback" and p["bundle"] is None for p in played() if p["bundle"] != version)

            port = int(server.url.rsplit(":", 1)[1])
            server.stop()  # the hub is lost: the screen says so rather than show old calls as current
            wait(lambda: "Нет связи" in app.calls_notice, "the lost-feed notice", d)
            assert not rows.children and app.player.current is not None  # the playlist plays on
            back = HubThread(hub, port=port).start()
            try:
                wait(lambda: app.calls_notice == "" and rows.children, "the feed back", d)
                assert rows.children[-1].number == "П002"
            finally:
                back.stop()
    finally:
        screen.close()
