"""A real hub process and real device sync agents over HTTP on 127.0.0.1."""
from __future__ import annotations

import json
import random
import stat
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from hardware.clock import ManualClock
from hub.db import HubDB
from hub.identity import Identity
from kiosk.estimate import Estimate
from kiosk.tickets import TicketStore
from mfc_edge import protocol
from offline_cache.hub_client import HubClient, load_token
from offline_cache.sync import SyncAgent, SyncError, retry_after_seconds
from tests.helpers.day import MSK
from tests.helpers.devices import write_config
from tests.helpers.hubprocess import HubProcess, hub_today

pytestmark = pytest.mark.slow  # all but one start a real hub process


@pytest.fixture
def hub(tmp_path):
    with HubProcess(tmp_path / "hub") as running:
        yield running


def enroll(hub: HubProcess, device_id: str = "kiosk-1", center: str = "strogino") -> str:
    reply = requests.post(f"{hub.url}/api/v1/enroll", json={"code": hub.enroll_code(center), "device_id": device_id},
                          timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["token"]


def kiosk_store(path, device_id="kiosk-1", ticket_range=(1, 499)) -> TicketStore:
    return TicketStore(path, center_id="strogino", device_id=device_id, timezone=MSK, ticket_range=ticket_range,
                      clock=ManualClock(hub_today()))


def hub_tickets(hub: HubProcess) -> list[dict]:
    db = HubDB(hub.data_dir)
    try:
        return list(db.db.query("SELECT * FROM tickets ORDER BY issued_at"))
    finally:
        db.close()


def test_enroll_command_saves_a_private_token_and_codes_work_once(hub, tmp_path):
    config = write_config(tmp_path)
    code = hub.enroll_code()
    run = lambda c: subprocess.run([sys.executable, "-m", "mfc_edge.cli", "enroll", "--config", str(config),  # noqa: E731
                                    "--hub", hub.url, "--code", c], capture_output=True, text=True)
    first = run(code)
    assert first.returncode == 0, first.stderr
    token_file = tmp_path / "data" / "device-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = load_token(tmp_path / "data")
    assert requests.get(f"{hub.url}/api/v1/feed", headers={"Authorization": f"Bearer {token}"}, timeout=5).ok
    again = run(code)
    assert again.returncode == 1
    assert "the hub refused the code: this enrollment code was already used" in again.stderr
    assert "unknown enrollment code" in run("AAAA-BBBB-CCCC-DDDD").stderr


def test_expired_code_is_refused(hub):
    identity = Identity(HubDB(hub.data_dir))
    code = identity.create_code("strogino", "kiosk", ttl=timedelta(seconds=-1))
    reply = requests.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device_id": "kiosk-9"}, timeout=5)
    assert reply.status_code == 403 and reply.json()["detail"] == "this enrollment code has expired"


def test_unauthenticated_and_revoked_devices_are_refused(hub):
    token = enroll(hub)
    batch = {"events": []}
    assert requests.post(f"{hub.url}/api/v1/events", json=batch, timeout=5).status_code == 401
    assert requests.post(f"{hub.url}/api/v1/events", json=batch, timeout=5,
                         headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.post(f"{hub.url}/api/v1/events", json=batch, headers=auth, timeout=5).status_code == 200
    revoked = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "revoke", "--data", str(hub.data_dir),
                              "--center", "strogino", "--device", "kiosk-1"], capture_output=True, text=True)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert requests.post(f"{hub.url}/api/v1/events", json=batch, headers=auth, timeout=5).status_code == 401


def test_agent_drains_the_outbox_and_the_hub_stores_each_ticket_once(hub, tmp_path):
    store = kiosk_store(tmp_path / "k1.sqlite")
    issued = [store.issue_ticket(service_id="passport-rf", letter="П", priority=i % 7 == 0) for i in range(120)]
    sent = store.outbox()
    token = enroll(hub)
    agent = SyncAgent(store, HubClient(hub.url, token), batch_size=50)
    assert agent.drain() == 120
    assert store.outbox() == []
    tickets = hub_tickets(hub)
    assert [t["number"] for t in tickets] == [t.number for t in issued]
    assert sum(t["priority"] for t in tickets) == len([t for t in issued if t.priority])
    # The same events again, as after a reply lost on the way back, change nothing.
    again = requests.post(f"{hub.url}/api/v1/events", json={"events": sent[:100]}, timeout=10,
                          headers={"Authorization": f"Bearer {token}"}).json()
    assert {r["status"] for r in again["results"]} == {"duplicate"}
    assert len(hub_tickets(hub)) == 120


def test_a_bad_event_is_refused_with_its_reason_and_kept_aside(hub, tmp_path):
    store = kiosk_store(tmp_path / "k1.sqlite")
    store.issue_ticket(service_id="passport-rf", letter="П")
    with store.transaction():
        bad = protocol.make_event("ticket.issued", "strogino", "kiosk-1", store.now(), {"ticket": "x"})
        store.db["outbox"].insert({"id": bad["id"], "type": bad["type"], "at": bad["at"],
                                   "event": json.dumps(bad)})
        alien = protocol.make_event("printer.status", "other-center", "kiosk-1", store.now(), {"status": "ok"})
        store.db["outbox"].insert({"id": alien["id"], "type": alien["type"], "at": alien["at"],
                                   "event": json.dumps(alien)})
    store.issue_ticket(service_id="passport-rf", letter="П")
    agent = SyncAgent(store, HubClient(hub.url, enroll(hub)))
    agent.drain()
    assert store.outbox() == []
    assert len(hub_tickets(hub)) == 2  # the good ones around the bad ones arrived
    aside = {r["id"]: r["reason"] for r in store.rejected_events()}
    assert aside[bad["id"]] == "body.number = None is not valid"
    assert aside[alien["id"]] == "event of other-center/kiosk-1 sent with the token of strogino/kiosk-1"


def test_oversized_and_malformed_batches_store_nothing(hub, tmp_path):
    auth = {"Authorization": f"Bearer {enroll(hub)}"}
    url = f"{hub.url}/api/v1/events"
    too_many = {"events": [{"id": str(i)} for i in range(protocol.MAX_BATCH_EVENTS + 1)]}
    assert requests.post(url, json=too_many, headers=auth, timeout=10).status_code == 422
    huge = b'{"events": ["' + b"x" * (protocol.MAX_BATCH_BYTES + 1) + b'"]}'
    assert requests.post(url, data=huge, headers={**auth, "Content-Type": "application/json"},
                         timeout=10).status_code == 413
    def chunked(body: bytes, size: int = 64 * 1024):  # a generator: sent without a Content-Length
        yield from (body[i:i + size] for i in range(0, len(body), size))
    assert requests.post(url, data=chunked(huge), headers={**auth, "Content-Type": "application/json"},
                         timeout=10).status_code == 413
    assert requests.post(url, data=chunked(b'{"events": []}'), headers={**auth, "Content-Type": "application/json"},
                         timeout=10).json() == {"results": []}
    assert requests.post(url, data=b"{not json", headers={**auth, "Content-Type": "application/json"},
                         timeout=5).status_code == 422
    assert requests.post(url, json={"events": "nope"}, headers=auth, timeout=5).status_code == 422
    db = HubDB(hub.data_dir)
    assert db.db["events"].count == 0
    db.close()


def test_feed_is_cheap_to_poll_with_an_etag(hub, tmp_path):
    store = kiosk_store(tmp_path / "k1.sqlite")
    agent = SyncAgent(store, HubClient(hub.url, enroll(hub)))
    auth = {"Authorization": f"Bearer {agent.hub.token}"}
    first = requests.get(f"{hub.url}/api/v1/feed", headers=auth, timeout=5)
    assert first.status_code == 200 and first.json()["waiting"] == {}
    etag = first.headers["ETag"]
    unchanged = requests.get(f"{hub.url}/api/v1/feed", headers={**auth, "If-None-Match": etag}, timeout=5)
    assert unchanged.status_code == 304 and unchanged.content == b""
    for _ in range(3):
        store.issue_ticket(service_id="passport-rf", letter="П")
    store.issue_ticket(service_id="adult-snils", letter="С")
    agent.drain()
    changed = requests.get(f"{hub.url}/api/v1/feed", headers={**auth, "If-None-Match": etag}, timeout=5)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["waiting"] == {"passport-rf": 3, "adult-snils": 1}


def test_tickets_that_arrive_late_take_their_place_by_time_of_issue(hub, tmp_path):
    early = kiosk_store(tmp_path / "k1.sqlite", "kiosk-1", (1, 499))
    late = kiosk_store(tmp_path / "k2.sqlite", "kiosk-2", (500, 999))
    a = early.issue_ticket(service_id="passport-rf", letter="П")
    late.clock.advance(seconds=30)
    b = late.issue_ticket(service_id="passport-rf", letter="П")  # offline: reaches the hub last
    early.clock.advance(seconds=60)
    c = early.issue_ticket(service_id="passport-rf", letter="П")
    SyncAgent(early, HubClient(hub.url, enroll(hub, "kiosk-1"))).drain()
    SyncAgent(late, HubClient(hub.url, enroll(hub, "kiosk-2"))).drain()
    assert [t["number"] for t in hub_tickets(hub)] == [a.number, b.number, c.number]


def test_hub_down_then_back_loses_nothing(tmp_path):
    store = kiosk_store(tmp_path / "k1.sqlite")
    with HubProcess(tmp_path / "hub") as hub:
        token = enroll(hub)
        port = hub.port
    for _ in range(10):
        store.issue_ticket(service_id="passport-rf", letter="П")
    agent = SyncAgent(store, HubClient(f"http://127.0.0.1:{port}", token), timeout=2)
    with pytest.raises(SyncError, match="hub unreachable"):
        agent.drain()
    assert len(store.outbox()) == 10  # nothing left the outbox without an answer
    with HubProcess(tmp_path / "hub", port=port) as hub:
        assert agent.drain() == 10
        assert len(hub_tickets(hub)) == 10


class _Busy(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(429)
        self.send_header("Retry-After", "7")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_retry_after_is_obeyed_and_backoff_has_full_jitter(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = kiosk_store(tmp_path / "k1.sqlite")
        store.issue_ticket(service_id="passport-rf", letter="П")
        agent = SyncAgent(store, HubClient(f"http://127.0.0.1:{server.server_address[1]}", "t"), rng=random.Random(1))
        with pytest.raises(SyncError) as caught:
            agent.push_once()
        assert caught.value.retry_after == 7
        assert len(store.outbox()) == 1
    finally:
        server.shutdown()
        server.server_close()
    waits = []
    for failures in range(12):
        agent.failures = failures
        waits.append(agent.backoff())
    assert all(0 <= w <= min(60, 0.5 * 2 ** i) for i, w in enumerate(waits))
    assert len(set(round(w, 6) for w in waits)) == len(waits)  # jittered, not a fixed ladder
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("garbage") is None
    assert 0 <= retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") <= 1  # a date in the past: now


def test_an_enrolled_kiosk_syncs_by_itself_and_estimates_from_the_hub(tmp_path, printer):
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config
    from offline_cache.hub_client import save_token

    clock = ManualClock(hub_today())
    with HubProcess(tmp_path / "hub") as hub:
        config = write_config(tmp_path, printer_uri=printer.uri)
        config.write_text(config.read_text().replace('url = "https://hub.example.org"', f'url = "{hub.url}"'))
        device = load_config(config)
        save_token(device.data_dir, enroll(hub))
        kiosk = open_kiosk(device, clock)
        try:
            assert kiosk.feed.poll_once()
            assert kiosk.load.poll_once() and kiosk.load_figures()["center"] == "strogino"  # the closed screen's hint
            first = kiosk.desk.issue("passport-rf")
            assert first.estimate == Estimate(0, 0, approximate=False)
            first.printed.result(timeout=10)
            deadline = time.monotonic() + 10
            while len(hub_tickets(hub)) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [t["number"] for t in hub_tickets(hub)] == [first.ticket.number]
            assert kiosk.feed.poll_once()
            kiosk.desk.next_visitor()
            second = kiosk.desk.issue("passport-rf")
            assert second.estimate.people_ahead == 1 and not second.estimate.approximate
        finally:
            kiosk.close()
    # The hub is gone: after the feed goes stale the kiosk estimates alone, and says so.
    kiosk = open_kiosk(device, clock)
    try:
        kiosk.feed.stale_after = 0
        kiosk.desk.next_visitor()
        third = kiosk.desk.issue("passport-rf")
        assert third.estimate.approximate and third.estimate.people_ahead == 2
        assert len(kiosk.store.outbox()) >= 1  # kept for when the hub is back
    finally:
        kiosk.close()


def test_tls_hub_is_verified_against_the_configured_ca(tmp_path):
    from tests.helpers.hubprocess import make_test_ca

    cert, key, ca = make_test_ca(tmp_path / "tls")
    store = kiosk_store(tmp_path / "k1.sqlite")
    store.issue_ticket(service_id="passport-rf", letter="П")
    with HubProcess(tmp_path / "hub", tls=(cert, key, ca)) as hub:
        assert hub.url.startswith("https://")
        token = requests.post(f"{hub.url}/api/v1/enroll", json={"code": hub.enroll_code(), "device_id": "kiosk-1"},
                              timeout=10, verify=str(ca)).json()["token"]
        # Verification is never off: without the CA, the hub's certificate is refused.
        with pytest.raises(SyncError, match="SSLError"):
            SyncAgent(store, HubClient(hub.url, token)).drain()
        assert len(store.outbox()) == 1
        assert SyncAgent(store, HubClient(hub.url, token, ca_file=str(ca))).drain() == 1
