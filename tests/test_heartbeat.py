"""Heartbeats and alerts (offline_cache/heartbeat.py, hub/heartbeats.py, hub/alerts.py): what a
device reports, offline after three missed beats by the hub's clock, back online, and a webhook
called once per change, also across a hub restart, without holding up ingest."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hardware import board
from hardware.clock import ManualClock
from hub.api import Hub, create_app
from hub.server import HubThread
from mfc_edge import protocol
from mfc_edge.cli import main
from offline_cache.heartbeat import Heartbeat
from offline_cache.hub_client import HubClient
from offline_cache.outbox import DeviceStore
from offline_cache.sync import SyncAgent
from tests.helpers.center import CENTER, AppTransport, AsgiCaller, InProcessCenter
from tests.helpers.day import at

START = at(10)


class Webhook:
    """A webhook receiver on 127.0.0.1: keeps each JSON body; `delay` makes it slow, `down` answers 503."""

    def __init__(self, delay: float = 0.0):
        self.received: list[dict[str, Any]] = []
        self.delay, self.down, self.started = delay, False, 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.started += 1
                time.sleep(receiver.delay)
                if receiver.down:
                    self.send_response(503)
                else:
                    receiver.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture
def center(tmp_path):
    found = InProcessCenter(tmp_path, START)
    yield found
    found.close()


def beating(center: InProcessCenter, device_id: str = "kiosk-1", every: float = 60.0,
            printer: str | None = "ok") -> Heartbeat:
    kiosk = center.add_kiosk(device_id, (1, 99))
    return Heartbeat(kiosk.store, kiosk.hub, center.folder, interval=every, printer=lambda: printer)


def listed(hub: Hub, device_id: str = "kiosk-1") -> dict[str, Any]:
    return next(d for d in hub.device_health.devices(CENTER) if d["id"] == device_id)


# --- what a device reports -------------------------------------------------------------------

def test_a_beat_tells_the_device_s_state_from_its_real_store(tmp_path, center):
    heart = beating(center)
    kiosk = center.kiosks[0]
    kiosk.issue()
    kiosk.issue()
    kiosk.clock.jump(seconds=-30)  # the device's wall clock is 30 s behind the hub's
    kiosk.hub.get(protocol.FEED_PATH)
    beat = heart.beat()
    assert beat["center"] == CENTER and beat["device"] == "kiosk-1" and beat["every_s"] == 60.0
    assert beat["outbox"] == kiosk.store.outbox_size() == 2
    assert beat["clock_offset_s"] == pytest.approx(30.0, abs=0.5)
    assert beat["printer"] == "ok"
    assert beat["disk"]["total_bytes"] >= beat["disk"]["free_bytes"] > 0
    assert beat["uptime_s"] > 0 and beat["system_uptime_s"] >= beat["uptime_s"]
    # Absent on this PC or container, as on any machine that is not a Pi: null, never made up.
    assert beat["cpu_temp_c"] == board.cpu_temperature_c()
    assert beat["throttling"] is None and board.throttling() is None
    kiosk.sync_now()
    assert heart.beat()["outbox"] == 0


def test_the_pi_s_readings_are_decoded(tmp_path):
    (tmp_path / "temp").write_text("48312\n")
    assert board.cpu_temperature_c(tmp_path / "temp") == pytest.approx(48.312)
    fake = tmp_path / "vcgencmd"
    fake.write_text("#!/bin/sh\necho throttled=0x50005\n")
    fake.chmod(0o755)
    assert board.throttling((str(fake),)) == {"raw": "0x50005", "now": ["under-voltage", "throttled"],
                                              "since_boot": ["under-voltage", "throttled"]}
    for name, status, dpms in (("card1-HDMI-A-1", "disconnected", "Off"), ("card1-HDMI-A-2", "connected", "On")):
        (tmp_path / "drm" / name).mkdir(parents=True)
        (tmp_path / "drm" / name / "status").write_text(status + "\n")
        (tmp_path / "drm" / name / "dpms").write_text(dpms + "\n")
    assert board.display_state(tmp_path / "drm") == {"connector": "HDMI-A-2", "status": "connected", "power": "On"}
    assert board.display_state(tmp_path / "nothing") is None


def test_a_failed_beat_is_not_queued_but_the_next_one_says_it_all(center):
    heart = beating(center)
    kiosk = center.kiosks[0]
    kiosk.transport.down = True
    assert heart.send_once() is False
    assert kiosk.store.outbox_size() == 0  # a beat is state, not an event
    assert listed(center.hub)["beat"] is None
    kiosk.transport.down = False
    assert heart.send_once() is True
    assert listed(center.hub)["beat"]["printer"] == "ok"


# --- online and offline by the hub's clock ------------------------------------------------------

def test_offline_after_three_missed_beats_by_the_hub_s_clock_and_back_online(center):
    heart = beating(center)
    assert heart.send_once()
    first = listed(center.hub)
    assert first["online"] and first["last_beat"] == first["heard_at"]
    center.clock.advance(seconds=179)
    assert listed(center.hub)["online"]
    center.clock.advance(seconds=2)  # three intervals of 60 s and a second without a word
    assert not listed(center.hub)["online"]
    assert listed(center.hub)["heard_at"] == first["last_beat"]
    assert heart.send_once()
    assert listed(center.hub)["online"]


def test_the_device_s_own_clock_does_not_decide(center):
    heart = beating(center)
    kiosk = center.kiosks[0]
    kiosk.clock.advance(days=3)  # a device whose clock is days ahead still counts by the hub's
    assert heart.send_once()
    center.clock.advance(seconds=200)
    assert not listed(center.hub)["online"]


def test_each_beat_s_interval_sets_its_own_deadline(center):
    assert beating(center, every=5.0).send_once()
    center.clock.advance(seconds=14)
    assert listed(center.hub)["online"]
    center.clock.advance(seconds=2)
    assert not listed(center.hub)["online"]


# --- who may beat ---------------------------------------------------------------------------------

def test_a_revoked_token_or_another_center_s_device_is_refused(center, tmp_path):
    heart = beating(center)
    other_code = center.hub.identity.create_code("khimki", "kiosk")
    _, other_token = center.hub.identity.enroll(other_code, "kiosk-9")
    other = HubClient("https://hub.test", other_token, transport=AppTransport(center.call))
    body = heart.beat()  # names kiosk-1 of strogino
    reply = other.post(protocol.HEARTBEAT_PATH, json=body)
    assert reply.status_code == 403 and "kiosk-9 of center khimki" in reply.json()["detail"]
    center.hub.identity.revoke(CENTER, "kiosk-1")
    assert heart.hub.post(protocol.HEARTBEAT_PATH, json=body).status_code == 401
    assert listed(center.hub)["beat"] is None and not listed(center.hub)["online"]


@pytest.mark.parametrize("change", [
    {"outbox": -1}, {"every_s": 0}, {"printer": "<script>"}, {"version": "x" * 100}, {"outbox": "many"},
    {"disk": {"free_bytes": 1}}, {"throttling": {"raw": "0x1", "now": ["a"] * 50, "since_boot": []}},
])
def test_a_bad_beat_is_refused_with_a_422(center, change):
    heart = beating(center)
    reply = heart.hub.post(protocol.HEARTBEAT_PATH, json={**heart.beat(), **change})
    assert reply.status_code == 422
    assert listed(center.hub)["beat"] is None


def test_an_oversized_or_broken_body_is_refused_in_one_line(center):
    heart = beating(center)
    big = heart.hub.post(protocol.HEARTBEAT_PATH, json={**heart.beat(), "padding": "x" * 20_000})
    assert big.status_code == 413 and big.json() == {"detail": f"request body over {protocol.MAX_HEARTBEAT_BYTES} bytes"}
    broken = heart.hub.post(protocol.HEARTBEAT_PATH, data=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    not_a_number = json.dumps({**heart.beat(), "clock_offset_s": float("nan")})  # Python's JSON writes NaN
    assert heart.hub.post(protocol.HEARTBEAT_PATH, data=not_a_number,
                          headers={"Content-Type": "application/json"}).status_code == 422
    assert listed(center.hub)["beat"] is None


# --- alerts ------------------------------------------------------------------------------------------

def test_the_webhook_is_called_once_per_change_and_not_again_after_a_restart(center, webhook, tmp_path):
    center.hub.alerts.set_webhook(CENTER, webhook.url)
    heart = beating(center)
    assert heart.send_once()
    center.hub.alerts.run_once()
    assert webhook.received == []  # a device first seen online is no news
    center.clock.advance(minutes=4)
    center.hub.alerts.run_once()
    center.hub.alerts.run_once()
    [offline] = webhook.received
    assert offline["center"] == CENTER and offline["device"] == "kiosk-1" and offline["role"] == "kiosk"
    assert (offline["subject"], offline["state"], offline["previous"]) == ("online", "offline", "online")
    assert offline["since"] == listed(center.hub)["heard_at"]
    assert offline["text"] == "kiosk-1 (киоск): нет связи с 10:00 · kiosk-1 (kiosk): offline since 10:00"

    # The hub restarts: what it announced is not announced again.
    center.hub.close()
    center.hub = Hub(tmp_path / "hub", clock=center.clock)
    center.hub.alerts.run_once()
    assert len(webhook.received) == 1
    center.call.close()
    center.call = AsgiCaller(create_app(center.hub))
    center.kiosks[0].transport.call = center.call
    assert heart.send_once()
    center.hub.alerts.run_once()
    center.hub.alerts.run_once()
    assert [(a["state"], a["previous"]) for a in webhook.received] == [("offline", "online"), ("online", "offline")]
    assert "снова на связи" in webhook.received[1]["text"] and "back online" in webhook.received[1]["text"]


def test_printer_and_button_troubles_are_alerted(center, webhook):
    center.hub.alerts.set_webhook(CENTER, webhook.url)
    heart = beating(center)
    kiosk = center.kiosks[0]
    assert heart.send_once()
    _, token = center.hub.identity.enroll(center.hub.identity.create_code(CENTER, "console", window="3"), "console-3")
    console = DeviceStore(center.folder / "console.sqlite", center_id=CENTER, device_id="console-3", clock=center.clock)
    console_sync = SyncAgent(console, HubClient("https://hub.test", token, transport=AppTransport(center.call)))
    kiosk.store.record_event(protocol.PRINTER_STATUS, {"status": "paper_out", "previous": "ok"})
    console.record_event(protocol.BUTTON_STUCK, {"button": "rating-3", "pin": 17})
    assert kiosk.sync_now()
    console_sync.drain()
    center.hub.alerts.run_once()
    got = {a["subject"]: a for a in webhook.received}
    assert got["printer"]["state"] == "paper_out" and "в принтере нет бумаги" in got["printer"]["text"]
    assert got["button rating-3"]["window"] == "3"
    assert got["button rating-3"]["text"] == ("console-3 (пульт, окно 3): залипла кнопка rating-3 с 10:00 · "
                                              "console-3 (console, window 3): button rating-3 stuck since 10:00")
    kiosk.store.record_event(protocol.PRINTER_STATUS, {"status": "paper_near_end", "previous": "paper_out"})
    assert kiosk.sync_now()
    center.hub.alerts.run_once()
    assert [(a["subject"], a["state"]) for a in webhook.received[2:]] == [("printer", "ok")]  # prints again
    console_sync.hub.close()
    console.close()


def test_a_webhook_that_is_down_gets_the_alerts_later_in_order(center, webhook):
    center.hub.alerts.set_webhook(CENTER, webhook.url)
    heart = beating(center)
    assert heart.send_once()
    webhook.down = True
    center.clock.advance(minutes=4)
    center.hub.alerts.run_once()
    assert heart.send_once()
    center.hub.alerts.run_once()  # back online: queued behind the offline alert that did not go
    assert webhook.received == []
    assert [a["attempts"] for a in center.hub.alerts.pending(CENTER)] == [1, 0]
    webhook.down = False
    center.hub.alerts.run_once()
    assert webhook.received == []  # not before its retry is due
    center.clock.advance(seconds=31)
    center.hub.alerts.run_once()
    assert [a["state"] for a in webhook.received] == ["offline", "online"]
    assert center.hub.alerts.pending(CENTER) == []


def test_a_webhook_turned_off_drops_what_it_did_not_deliver(center, webhook):
    center.hub.alerts.set_webhook(CENTER, webhook.url)
    webhook.down = True
    assert beating(center).send_once()
    center.clock.advance(minutes=4)
    center.hub.alerts.run_once()
    assert len(center.hub.alerts.pending(CENTER)) == 1
    center.hub.alerts.set_webhook(CENTER, None)
    assert center.hub.alerts.pending(CENTER) == [] and center.hub.alerts.webhook(CENTER) is None


def test_without_a_webhook_changes_are_recorded_but_nothing_is_queued(center):
    assert beating(center).send_once()
    center.clock.advance(minutes=4)
    [change] = center.hub.alerts.sweep()
    assert change.state == "offline" and center.hub.alerts.pending(CENTER) == []


def test_a_slow_webhook_does_not_delay_ingest(tmp_path):
    slow = Webhook(delay=2.0)
    clock = ManualClock(START)
    hub = Hub(tmp_path / "hub", clock=clock)
    try:
        code = hub.identity.create_code(CENTER, "kiosk")
        _, token = hub.identity.enroll(code, "kiosk-1")
        hub.alerts.set_webhook(CENTER, slow.url)
        with HubThread(hub, alerts_every=0.2) as server:
            store = DeviceStore(tmp_path / "kiosk.sqlite", center_id=CENTER, device_id="kiosk-1", clock=clock)
            client = HubClient(server.url, token)
            heart = Heartbeat(store, client, tmp_path)
            assert heart.send_once()
            clock.advance(minutes=4)
            deadline = time.monotonic() + 5
            while not slow.started and time.monotonic() < deadline:
                time.sleep(0.02)
            started = time.monotonic()  # the sweep is now waiting on the slow webhook
            for _ in range(10):
                assert heart.send_once()
                store.record_event(protocol.PRINTER_STATUS, {"status": "ok", "previous": None})
                assert client.post(protocol.EVENTS_PATH, json={"events": store.outbox()}).status_code == 200
            assert time.monotonic() - started < 2.0
            assert slow.started == 1 and slow.received == []  # still answering the one alert
            while hub.alerts.pending(CENTER) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [a["state"] for a in slow.received] == ["offline"]
            client.close()
            store.close()
    finally:
        hub.close()
        slow.close()


def test_the_hub_closes_only_once_a_sweep_under_way_is_done(tmp_path):
    """The sweep runs on a worker thread that outlives the server at shutdown; closing the hub
    under it closed the database it was reading (a crash of the whole process)."""
    answering, answered = threading.Event(), []
    clock = ManualClock(START)
    hub = Hub(tmp_path / "hub", clock=clock)

    def slow_webhook(url: str, payload: dict[str, Any]) -> None:
        answering.set()
        time.sleep(0.5)
        answered.append(payload["state"])

    hub.alerts.send = slow_webhook
    code = hub.identity.create_code(CENTER, "kiosk")
    hub.identity.enroll(code, "kiosk-1")
    hub.alerts.set_webhook(CENTER, "http://127.0.0.1:9/alerts")
    hub.alerts.run_once()  # the kiosk's first state, noted without an alert
    clock.advance(minutes=10)  # never heard from since: offline
    failed: list[BaseException] = []

    def sweep() -> None:
        try:
            hub.alerts.run_once()
        except BaseException as exc:
            failed.append(exc)

    worker = threading.Thread(target=sweep)
    worker.start()
    assert answering.wait(5)
    hub.close()  # waits for the webhook's answer and the sweep's last write
    assert answered == ["offline"]
    worker.join(5)
    assert failed == []
    hub.alerts.run_once()  # after close: nothing, not a read of a closed database


def test_a_webhook_must_be_an_http_address(center):
    with pytest.raises(ValueError, match="http:// or https://"):
        center.hub.alerts.set_webhook(CENTER, "file:///etc/passwd")


# --- the command line ---------------------------------------------------------------------------------

def test_hub_devices_shows_offline_with_the_last_beat(center, capsys):
    heart = beating(center)
    assert heart.send_once()
    center.clock.advance(minutes=5)
    center.hub.close()
    # The command reads the data folder on the real clock, long after this test's morning.
    assert main(["hub", "devices", "--data", str(center.folder / "hub"), "--center", CENTER]) == 0
    out = capsys.readouterr().out
    assert "kiosk-1" in out and "OFFLINE" in out and "printer ok" in out and "outbox 0" in out
    center.hub = Hub(center.folder / "hub", clock=center.clock)


def test_set_webhook_command(tmp_path, capsys):
    data = tmp_path / "hub"
    assert main(["hub", "set-webhook", "--data", str(data), "--center", CENTER, "https://chat.example/hook"]) == 0
    hub = Hub(data)
    assert hub.alerts.webhook(CENTER) == "https://chat.example/hook"
    hub.close()
    assert main(["hub", "set-webhook", "--data", str(data), "--center", CENTER, "ftp://x"]) == 2
    assert "http:// or https://" in capsys.readouterr().err
    assert main(["hub", "set-webhook", "--data", str(data), "--center", CENTER, "--off"]) == 0
    hub = Hub(data)
    assert hub.alerts.webhook(CENTER) is None
    hub.close()


def test_a_beat_is_committed_without_an_fsync_and_the_hub_s_other_writes_keep_theirs(center):
    full = 2  # PRAGMA synchronous: FULL
    assert beating(center).send_once()
    center.hub.heartbeats.record(center.hub.identity.authenticate(center.kiosks[0].token), {"every_s": 60})
    assert center.hub.db.db.execute("PRAGMA synchronous").fetchone()[0] == full


def test_an_enrolled_window_console_beats_from_its_wiring(tmp_path):
    from gpiozero.pins.mock import MockFactory

    from mfc_edge.config import load_config
    from offline_cache.hub_client import save_token
    from tests.helpers.window import Center, write_console_config
    from window_device.wiring import open_window_device

    hub_center = Center(tmp_path / "hub")
    try:
        device = load_config(write_console_config(tmp_path, hub_center.url))
        save_token(device.data_dir, hub_center.token)
        console = open_window_device(device, hub_center.clock, pin_factory=MockFactory())
        try:
            deadline = time.monotonic() + 10
            while (found := listed(hub_center.hub, "console-5"))["beat"] is None and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            console.close()
        assert found["online"] and found["beat"]["printer"] is None and found["beat"]["display"] is None
    finally:
        hub_center.close()
