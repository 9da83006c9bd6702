"""The one hub client: token, TLS and environment policy, the swappable transport, tokens on
disk, `connect` and enrollment as a library function."""
from __future__ import annotations

import base64
import json
import logging
import os
import random
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

from mfc_edge.config import load_config
from offline_cache.enrollment import EnrollmentError, enroll
from offline_cache.hub_client import HubClient, connect, load_token, save_token
from tests.helpers.devices import write_config

FIRST, SECOND = "Zr8Qm1xk2Pq7Lw3vN9s0Tg-first_token", "Hx4Vb7Nq2Mw9Kt3Rp6Ls1Dz-second_token"


class CannedTransport(BaseAdapter):
    """Answers every request with one canned reply and keeps what was sent."""

    def __init__(self, status: int = 200, body: object = None, content_type: str = "application/json"):
        super().__init__()
        self.status, self.body, self.content_type = status, body, content_type
        self.sent: list[PreparedRequest] = []

    def send(self, request: PreparedRequest, **kwargs) -> Response:  # type: ignore[override]
        self.sent.append(request)
        reply = Response()
        reply.status_code, reply.request, reply.url = self.status, request, request.url
        reply.headers["Content-Type"] = self.content_type
        reply._content = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        return reply

    def close(self) -> None:
        pass


def test_requests_carry_the_token_to_the_path_through_the_given_transport():
    transport = CannedTransport(body={"ok": True})
    hub = HubClient("https://hub.example.org/", "secret", transport=transport)
    assert hub.get("/api/v1/feed", headers={"If-None-Match": '"1"'}).json() == {"ok": True}
    sent = transport.sent[0]
    assert sent.url == "https://hub.example.org/api/v1/feed"
    assert sent.headers["Authorization"] == "Bearer secret" and sent.headers["If-None-Match"] == '"1"'
    with pytest.raises(ValueError):
        hub.get("api/v1/feed")
    hub.close()


def test_tls_is_verified_and_the_environment_changes_nothing(monkeypatch, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not used here")
    assert HubClient("https://hub").session().verify is True
    assert HubClient("https://hub", ca_file=str(ca)).session().verify == str(ca)
    # A proxy in the environment would send the request to a closed port; the client goes direct.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/healthz", timeout=5)  # what trusting the environment would do
        hub = HubClient(url, timeout=5)
        assert hub.get("/healthz").text == "hello"
        hub.close()
    finally:
        server.shutdown()
        server.server_close()


def test_each_thread_has_its_own_session_and_close_ends_them_all():
    hub = HubClient("https://hub", "t", transport=CannedTransport())
    mine = hub.session()
    theirs: list[requests.Session] = []
    worker = threading.Thread(target=lambda: theirs.append(hub.session()))
    worker.start()
    worker.join()
    assert mine is hub.session() and theirs[0] is not mine
    hub.close()
    assert hub.session() is not mine  # a fresh one after close


def test_the_token_is_private_on_disk_and_replaced_whole(tmp_path):
    path = save_token(tmp_path / "data", FIRST)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and load_token(tmp_path / "data") == FIRST
    save_token(tmp_path / "data", SECOND)
    assert load_token(tmp_path / "data") == SECOND
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["device-token"]  # no temporary left behind
    (tmp_path / "data" / "device-token").write_text("\n")
    assert load_token(tmp_path / "data") is None


def test_connect_gives_a_client_only_to_an_enrolled_device(tmp_path, caplog):
    device = load_config(write_config(tmp_path))
    with caplog.at_level(logging.WARNING):
        assert connect(device) is None
    assert "not enrolled with the hub at https://hub.example.org" in caplog.text
    save_token(device.data_dir, FIRST)
    assert connect(device, enabled=False) is None
    hub = connect(device)
    assert hub is not None and hub.url == "https://hub.example.org" and hub.token == FIRST
    alone = load_config(write_config(tmp_path, (tmp_path / "kiosk.toml").read_text().replace(
        '[hub]\nurl = "https://hub.example.org"\n', "")))
    assert alone.hub_url is None and connect(alone) is None


def test_enroll_keeps_the_token_and_pins_the_bundle_key(tmp_path):
    device = load_config(write_config(tmp_path))
    key = base64.b64encode(bytes(range(32))).decode()
    transport = CannedTransport(body={"center": "strogino", "device_id": "kiosk-1", "role": "kiosk",
                                      "window": None, "token": SECOND, "bundle_key": key})
    found = enroll(device, "K7QF-9M2X", transport=transport)
    assert json.loads(transport.sent[0].body) == {"code": "K7QF-9M2X", "device_id": "kiosk-1"}
    assert transport.sent[0].url == "https://hub.example.org/api/v1/enroll"
    assert found.role == "kiosk" and load_token(device.data_dir) == SECOND
    assert found.bundle_key_file is not None and found.bundle_key_file.read_text().strip() == key


@pytest.mark.parametrize("status, body, content_type, message", [
    (403, {"detail": "code expired"}, "application/json", "the hub refused the code: code expired"),
    (502, b"<html>bad gateway</html>", "text/html", "the hub refused the code: <html>bad gateway</html>"),
    (200, {"center": "other", "role": "kiosk", "token": "x"}, "application/json",
     "the code is for center 'other', this device is configured for 'strogino'"),
    (200, b"not json", "application/json", "answered something that is not an enrollment"),
    (200, ["a", "list"], "application/json", "answered something that is not an enrollment"),
])
def test_enroll_refuses_what_it_cannot_use_and_keeps_no_token(tmp_path, status, body, content_type, message):
    device = load_config(write_config(tmp_path))
    with pytest.raises(EnrollmentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        enroll(device, "CODE", transport=CannedTransport(status, body, content_type))
    assert load_token(device.data_dir) is None


def test_enroll_without_a_hub_says_so_in_one_line(tmp_path):
    device = load_config(write_config(tmp_path))
    with pytest.raises(EnrollmentError, match="cannot reach the hub at http://127.0.0.1:9"):
        enroll(device, "CODE", hub_url="http://127.0.0.1:9")


def test_listeners_hear_every_answer_until_they_leave():
    transport = CannedTransport(body={"ok": True})
    hub = HubClient("https://hub.example.org", FIRST, transport=transport)
    heard: list[int] = []
    hub.on_answer(lambda reply: heard.append(reply.status_code))
    hub.on_answer(lambda reply: 1 / 0)  # a failing listener costs nobody their answer
    assert hub.get("/api/v1/feed").json() == {"ok": True}
    threading.Thread(target=lambda: hub.get("/api/v1/load")).start()  # another thread's session too
    for _ in range(100):
        if len(heard) == 2:
            break
        time.sleep(0.01)
    assert heard == [200, 200]


class _AtMost(random.Random):
    """Back-offs at their longest, so a test can tell waking from waiting."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_sync_agent_pushes_as_soon_as_another_part_hears_the_hub_again(tmp_path):
    """Once the agent slept up to a minute after an outage while the feed poller already had the hub."""
    from hardware.clock import ManualClock
    from hub.api import Hub
    from hub.server import HubThread
    from mfc_edge import protocol
    from offline_cache.hub_poller import HubPoller
    from offline_cache.outbox import DeviceStore
    from offline_cache.sync import SyncAgent
    from tests.helpers.day import MONDAY_10AM
    from tests.helpers.hubprocess import free_port

    hub = Hub(tmp_path / "hub")
    _, token = hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-1")
    port = free_port()
    client = HubClient(f"http://127.0.0.1:{port}", token)
    store = DeviceStore(tmp_path / "kiosk.sqlite", center_id="strogino", device_id="kiosk-1",
                        clock=ManualClock(MONDAY_10AM))
    store.record_event(protocol.PRINTER_STATUS, {"status": "paper_out", "previous": "ok"})
    agent = SyncAgent(store, client, timeout=2, backoff_base=60, backoff_cap=60, rng=_AtMost()).start()
    try:
        for _ in range(500):
            if agent.failures:
                break
            time.sleep(0.01)
        assert agent.failures == 1 and store.outbox_size() == 1  # the hub is away: a minute's wait begins
        with HubThread(hub, port=port):
            assert HubPoller(client, protocol.FEED_PATH).poll_once()  # the feed poller reaches the hub
            for _ in range(500):
                if store.outbox_size() == 0:
                    break
                time.sleep(0.01)
            assert store.outbox_size() == 0 and hub.events.count("strogino") == 1
    finally:
        agent.stop()
        client.close()
        store.close()
        hub.close()


@pytest.mark.parametrize("status, wakes", [(200, True), (304, True), (404, True), (429, False), (503, False)])
def test_only_an_answer_of_a_hub_at_work_ends_an_outage_wait(tmp_path, status, wakes):
    from hardware.clock import ManualClock
    from offline_cache.outbox import DeviceStore
    from offline_cache.sync import SyncAgent
    from tests.helpers.day import MONDAY_10AM

    store = DeviceStore(tmp_path / "kiosk.sqlite", center_id="strogino", device_id="kiosk-1",
                        clock=ManualClock(MONDAY_10AM))
    agent = SyncAgent(store, HubClient("http://127.0.0.1:9", FIRST, timeout=1))
    try:
        store.record_event("printer.status", {"status": "ok", "previous": None})
        with pytest.raises(Exception, match="hub unreachable"):
            agent.push_once()
        reply = Response()
        reply.status_code = status
        agent.hub_answered(reply)
        assert agent._wake.is_set() == wakes
    finally:
        store.close()
