"""The window console against a real hub on 127.0.0.1: ratings, help requests and the keypad,
driven by presses on gpiozero's MockFactory pins; events go through the outbox and the real
sync agent, pushed by hand so every step is deterministic."""
from __future__ import annotations

import pytest
import requests
from gpiozero.pins.mock import MockFactory

from hardware.buttons import BLINK, OFF, ON
from hub.api import Hub
from hub.identity import EnrollmentError
from mfc_edge import protocol
from mfc_edge.config import load_config
from offline_cache.hub_client import HubClient
from offline_cache.outbox import DeviceStore
from offline_cache.sync import SyncAgent, SyncError
from tests.helpers.day import TEST_DAY
from tests.helpers.window import PASSWORD, START, Center, Ticks, write_console_config
from window_device.window_console import WindowConsole
from window_device.window_link import WindowLink


@pytest.fixture
def center(tmp_path):
    running = Center(tmp_path / "hub")
    yield running
    running.close()


class Rig:
    """A console device wired to the center's hub, with its pins, clock, store and sync agent."""

    def __init__(self, folder, center: Center):
        self.center, self.factory, self.ticks = center, MockFactory(), Ticks()
        self.device = load_config(write_console_config(folder, center.url))
        self.store = DeviceStore(folder / "console.sqlite", center_id="strogino", device_id="console-5",
                                clock=center.clock)
        self.link = WindowLink(HubClient(center.url, center.token))
        self.sync = SyncAgent(self.store, HubClient(center.url, center.token))
        self.console = WindowConsole(self.device, self.store, self.link, pin_factory=self.factory, clock=self.ticks)

    def press(self, name: str) -> None:
        pin = self.factory.pin(self.console.buttons[name].pin)
        pin.drive_low()
        self.ticks.advance(0.1)
        pin.drive_high()
        self.ticks.advance(0.1)

    def events(self, event_type: str) -> list[dict]:
        return [e["body"] for e in self.store.outbox() if e["type"] == event_type]

    def close(self) -> None:
        self.console.close()
        self.link.hub.close()
        self.store.close()


@pytest.fixture
def rig(tmp_path, center):
    made = Rig(tmp_path, center)
    yield made
    made.close()


def operator(center: Center) -> requests.Session:
    session = requests.Session()
    assert session.post(f"{center.url}/console/api/sign-in", timeout=10, json={
        "center": "strogino", "login": "ivanova", "password": PASSWORD}).status_code == 200
    session.act = lambda action, **body: session.post(f"{center.url}/console/api/{action}", json=body, timeout=10)
    return session


def serve_first_visitor(center: Center) -> None:
    ivanova = operator(center)
    assert ivanova.act("open-window", window="5", services=["passport-rf"]).status_code == 200
    assert ivanova.act("call-next", window="5").json()["ticket"]["number"] == "П001"
    center.clock.advance(minutes=8)
    assert ivanova.act("finish", window="5").status_code == 200


def test_a_rating_belongs_to_the_ticket_just_served_and_counts_once(rig, center):
    serve_first_visitor(center)
    rig.console.poll_hub()
    assert rig.console.served_ticket() == "ticket-0001"
    rig.press("rating-5")
    rig.press("rating-1")  # the same visitor hammering: dropped
    assert rig.events("rating.given") == [{"window": "5", "ticket": "ticket-0001", "score": 5, "scale": 5,
                                           "day": TEST_DAY.isoformat()}]
    assert rig.console.leds["rating-5"].is_lit and rig.console.buzzer.beeps == 1
    rig.ticks.advance(60)
    rig.console.poll_hub()
    rig.press("rating-2")  # a minute later, still the same served ticket: one rating per ticket
    assert len(rig.events("rating.given")) == 1

    batch = rig.store.outbox()
    rig.sync.drain()
    # The acknowledgement was lost and the device sends the same events again: stored once.
    again = requests.post(f"{center.url}/api/v1/events", json={"events": batch}, timeout=10,
                          headers={"Authorization": f"Bearer {center.token}"}).json()["results"]
    assert {r["status"] for r in again} == {"duplicate"}
    assert center.hub.ratings.for_ticket("strogino", "ticket-0001")["score"] == 5
    shown = operator(center).get(f"{center.url}/console/api/ratings", timeout=10).json()
    assert shown["total"] == {"count": 1, "happy": 1, "happy_share": 1.0}
    assert shown["windows"]["5"]["count"] == 1


def test_ratings_made_offline_arrive_later_attached_by_time(tmp_path, center):
    serve_first_visitor(center)
    rig = Rig(tmp_path, center)
    try:
        rig.console.link = None  # the hub is out of reach: the device never learns the ticket
        rig.press("rating-4")
        assert rig.events("rating.given")[0]["ticket"] is None
        dead = SyncAgent(rig.store, HubClient("http://127.0.0.1:9", center.token), timeout=1)
        with pytest.raises(SyncError):
            dead.drain()
        assert rig.store.outbox_size() == 1
        rig.sync.drain()
        assert rig.store.outbox_size() == 0
        assert center.hub.ratings.for_ticket("strogino", "ticket-0001")["score"] == 4
    finally:
        rig.close()


def test_the_hub_refuses_a_rating_outside_its_scale(rig, center):
    rig.store.record_event("rating.given", {"window": "5", "ticket": None, "score": 5, "scale": 3,
                                            "day": TEST_DAY.isoformat()})
    rig.sync.drain()
    assert "score" in rig.store.rejected_events()[0]["reason"]


def test_the_help_request_lives_from_press_to_closed(rig, center):
    led = rig.console.leds["help"]
    rig.press("help")
    assert led.mode == BLINK and len(rig.events("help.requested")) == 1
    rig.press("help")  # pressed again while waiting: still one request
    assert len(rig.events("help.requested")) == 1
    rig.console.poll_hub()  # the hub has not got it yet
    assert led.mode == BLINK

    rig.sync.drain()
    ivanova = operator(center)
    shown = ivanova.get(f"{center.url}/console/api/help", timeout=10).json()["requests"]
    assert [(r["point"], r["state"]) for r in shown] == [("Окно 5, доступное", "open")]
    rig.console.poll_hub()
    assert led.mode == BLINK

    assert ivanova.act("help/acknowledge", request=shown[0]["id"]).json()["state"] == "acknowledged"
    assert ivanova.act("help/acknowledge", request=shown[0]["id"]).status_code == 409
    rig.console.poll_hub()
    assert led.mode == ON and led.is_lit

    assert ivanova.act("help/close", request=shown[0]["id"]).status_code == 200
    rig.console.poll_hub()
    assert led.mode == OFF and not led.is_lit
    assert ivanova.get(f"{center.url}/console/api/help", timeout=10).json()["requests"] == []
    rig.ticks.advance(1)
    rig.press("help")  # a new visitor needs help: a new request (the first left the outbox with the sync)
    fresh = rig.events("help.requested")
    assert len(fresh) == 1 and fresh[0]["request"] != shown[0]["id"] and led.mode == BLINK


def test_a_help_request_under_way_outlives_a_restart_of_the_device(rig, center, tmp_path):
    rig.press("help")
    request = rig.events("help.requested")[0]["request"]
    rig.sync.drain()
    rig.console.close()  # the power goes; the visitor still waits
    again = WindowConsole(rig.device, rig.store, rig.link, pin_factory=MockFactory(), clock=rig.ticks)
    try:
        led = again.leds["help"]
        assert again.help.request == request and led.mode == BLINK
        ivanova = operator(center)
        ivanova.act("help/acknowledge", request=request)
        again.poll_hub()
        assert led.mode == ON
        ivanova.act("help/close", request=request)
        again.poll_hub()
        assert led.mode == OFF and rig.store.remembered("help_request") is None
    finally:
        again.close()
    after = WindowConsole(rig.device, rig.store, rig.link, pin_factory=MockFactory(), clock=rig.ticks)
    try:  # once closed, a restart shows nothing under way
        assert after.help.request is None and after.leds["help"].mode == OFF
    finally:
        after.close()


def test_a_stuck_button_is_reported_once_and_again_when_it_works(rig, center):
    pin = rig.factory.pin(rig.console.buttons["rating-3"].pin)
    pin.drive_low()
    for _ in range(300):
        rig.ticks.advance(0.1)
        rig.console.tick()
    assert len(rig.events("rating.given")) == 1
    assert rig.events("button.stuck") == [{"button": "rating-3", "pin": 13}]
    rig.sync.drain()
    devices = {d["id"]: d for d in center.hub.device_health.devices("strogino")}
    assert devices["console-5"]["parts"]["button rating-3"]["status"] == "stuck"
    center.clock.advance(seconds=60)  # a technician frees the cap a minute later
    pin.drive_high()
    assert rig.events("button.released") == [{"button": "rating-3", "pin": 13}]
    rig.sync.drain()
    devices = {d["id"]: d for d in center.hub.device_health.devices("strogino")}
    assert devices["console-5"]["parts"]["button rating-3"]["status"] == "ok"


KEYS = ["call_next", "recall", "done", "call_next", "no_show", "call_next", "done"]
CONSOLE_ACTIONS = {"call_next": "call-next", "recall": "recall", "done": "finish", "no_show": "no-show"}


def queue_snapshot(hub: Hub) -> list:
    tickets = list(hub.db.db.query("SELECT id, state, window, called_at, started_at, finished_at FROM tickets "
                                   "ORDER BY id"))
    history = list(hub.db.db.query("SELECT ticket, state, at, window FROM ticket_history ORDER BY id"))
    calls = list(hub.db.db.query("SELECT ticket, window, at, recall FROM calls ORDER BY id"))
    return [tickets, history, calls]


def test_keypad_keys_leave_the_queue_as_the_console_buttons_do(tmp_path, rig, center):
    twin = Center(tmp_path / "twin")
    try:
        for hub_center in (center, twin):
            assert operator(hub_center).act("open-window", window="5", services=["passport-rf"]).status_code == 200
        shown = []
        by_console = operator(twin)
        for key in KEYS:
            shown.append(rig.console.keypad.press(key).result(timeout=10))
            by_console.act(CONSOLE_ACTIONS[key], window="5")
            for hub_center in (center, twin):
                hub_center.clock.advance(minutes=3)
        assert queue_snapshot(center.hub) == queue_snapshot(twin.hub)
        assert shown == ["П001", "П001", "—", "П002", "—", "П003", "—"]
        # A key at the wrong moment gets the console's own message on the display.
        assert "no visitor" in rig.console.keypad.press("recall").result(timeout=10)
    finally:
        twin.close()


def test_keypad_key_presses_on_pins_and_a_kiosk_token_cannot_act(rig, center):
    operator(center).act("open-window", window="5", services=["passport-rf"])
    rig.press("call_next")
    rig.console.keypad.close()  # waits for the action under way
    assert center.hub.queue.current("strogino", "5")["number"] == "П001"
    _, kiosk_token = center.hub.identity.enroll(center.hub.identity.create_code("strogino", "kiosk"), "kiosk-9")
    reply = requests.post(f"{center.url}/api/v1/windows/5/recall", timeout=10,
                          headers={"Authorization": f"Bearer {kiosk_token}"})
    assert reply.status_code == 403


def test_a_console_acts_and_rates_only_at_the_window_it_was_enrolled_for(center):
    hub = center.hub
    for window in ("5", "6"):
        operator(center).act("open-window", window=window, services=["passport-rf"])
    auth = {"Authorization": f"Bearer {center.token}"}
    elsewhere = requests.post(f"{center.url}/api/v1/windows/6/call-next", headers=auth, timeout=10)
    assert elsewhere.status_code == 403 and "belongs to window 5, not 6" in elsewhere.json()["detail"]
    assert hub.queue.current("strogino", "6") is None
    assert requests.post(f"{center.url}/api/v1/windows/5/call-next", headers=auth, timeout=10).status_code == 200
    # A console enrolled without a window (a code made before consoles were bound) may not act at all.
    _, loose = hub.identity.enroll(hub.identity.create_code("strogino", "console"), "console-x")
    unbound = requests.post(f"{center.url}/api/v1/windows/6/call-next", timeout=10,
                            headers={"Authorization": f"Bearer {loose}"})
    assert unbound.status_code == 403 and "--window N" in unbound.json()["detail"]
    loose_rating = protocol.make_event(protocol.RATING_GIVEN, "strogino", "console-x", START,
                                       {"ticket": None, "score": 5, "scale": 5, "day": TEST_DAY.isoformat(),
                                        "window": "6"})
    refused = requests.post(f"{center.url}/api/v1/events", json={"events": [loose_rating]}, timeout=10,
                            headers={"Authorization": f"Bearer {loose}"}).json()["results"][0]
    assert refused["status"] == "rejected" and "not assigned to a window" in refused["reason"]
    # Its ratings count at its own window only: one for another window is refused with the reason.
    rating = {"ticket": None, "score": 5, "scale": 5, "day": TEST_DAY.isoformat()}
    events = [protocol.make_event(protocol.RATING_GIVEN, "strogino", "console-5", START, {**rating, "window": w})
              for w in ("5", "6")]
    reply = requests.post(f"{center.url}/api/v1/events", json={"events": events}, headers=auth, timeout=10).json()
    assert [r["status"] for r in reply["results"]] == ["stored", "rejected"]
    assert reply["results"][1]["reason"] == "a rating for window 6 from the console of window 5"
    listed = {d["id"]: d["window"] for d in hub.device_health.devices("strogino")}
    assert listed["console-5"] == "5" and listed["console-x"] is None
    with pytest.raises(EnrollmentError, match="only a console stands at a window"):
        hub.identity.create_code("strogino", "kiosk", window="5")
    with pytest.raises(EnrollmentError, match="expected up to 8 letters"):
        hub.identity.create_code("strogino", "console", window="окно 5")


def test_enrolling_a_console_with_a_code_for_another_window_is_refused_on_the_spot(center, tmp_path, capsys):
    from mfc_edge.cli import main as cli
    from offline_cache.hub_client import load_token

    config = write_console_config(tmp_path, center.url)  # [console] window = "5"
    data_dir = load_config(config).data_dir
    assert cli(["enroll", "--config", str(config), "--code", center.hub.identity.create_code(
        "strogino", "console", window="6", replace="console-5")]) == 1  # the center's console-5 is enrolled
    assert "made for window 6, this console is at window 5" in capsys.readouterr().err
    assert load_token(data_dir) is None
    assert cli(["enroll", "--config", str(config), "--code", center.hub.identity.create_code(
        "strogino", "console", window="5", replace="console-5")]) == 0
    assert load_token(data_dir)
