"""Device-side clients of the screens' endpoints against a real hub on 127.0.0.1: the
ETag poller with its cache file, and the screenshot uploader."""
from __future__ import annotations

import json
import time

import pytest
import requests

from hub.api import Hub
from hub.server import HubThread
from mfc_edge.protocol import LOAD_PATH, RATINGS_PATH, SCREENSHOT, SCREENSHOT_SENT
from offline_cache.feed import FeedPoller
from offline_cache.hub_client import HubClient
from offline_cache.hub_poller import HubPoller
from offline_cache.screenshots import FAILED, IDLE, NO_IMAGE, REFUSED, UNREACHABLE, UPLOADED, ScreenshotUploader
from tests.helpers.hubprocess import HubProcess, free_port, make_test_ca
from tests.helpers.screenshots import PASSWORD, make_png

NOWHERE = f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture
def center(tmp_path):
    hub = Hub(tmp_path / "hub")
    hub.operators.add("strogino", "smirnova", "Смирнова Анна", PASSWORD, "supervisor")
    code = hub.identity.create_code("strogino", "signage")
    with HubThread(hub) as server:
        token = requests.post(f"{server.url}/api/v1/enroll", json={"code": code, "device_id": "screen-1"},
                              timeout=10).json()["token"]
        yield hub, server.url, token
    hub.close()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_poller_follows_any_endpoint_with_an_etag(center):
    hub, url, token = center
    load = HubPoller(HubClient(url, token), LOAD_PATH)
    assert load.latest() is None and load.age() is None and load.last_known() is None
    assert load.poll_once() and load.last_status == 200
    assert load.latest()["center"] == "strogino" and len(load.latest()["hours"]["mon"]) == 24
    assert 0 <= load.age() < 60
    assert load.poll_once() and load.last_status == 304  # unchanged: the hub sent nothing
    ratings = HubPoller(HubClient(url, token), RATINGS_PATH)
    assert ratings.poll_once() and ratings.latest()["total"]["count"] == 0
    feed = FeedPoller(HubClient(url, token))
    assert feed.poll_once() and feed.latest()["center"] == "strogino" and feed.path == "/api/v1/feed"
    refused = HubPoller(HubClient(url, "wrong-token"), LOAD_PATH)
    assert not refused.poll_once() and refused.last_status == 401 and refused.latest() is None
    with pytest.raises(ValueError):
        HubPoller(HubClient(url, token), "api/v1/load")
    for poller in (load, ratings, feed, refused):
        poller.stop()


def test_poller_goes_stale_without_the_hub(center):
    _, url, token = center
    poller = HubPoller(HubClient(url, token), LOAD_PATH, stale_after=3600)
    assert poller.poll_once()
    poller.hub = HubClient(NOWHERE, token)  # the hub is gone
    assert not poller.poll_once() and poller.last_status is None
    assert poller.latest() is not None  # within stale_after
    poller.stale_after = 0
    assert poller.latest() is None and poller.last_known()["center"] == "strogino"
    poller.stop()


def test_cache_file_keeps_the_last_answer_across_a_restart_without_the_hub(center, tmp_path):
    _, url, token = center
    cache = tmp_path / "screen" / "load.json"
    changes = []
    first = HubPoller(HubClient(url, token), LOAD_PATH, cache_file=cache, on_change=changes.append)
    assert first.poll_once() and first.poll_once()
    assert len(changes) == 1 and changes[0]["center"] == "strogino"  # the 304 was no change
    first.stop()
    saved = json.loads(cache.read_text(encoding="utf-8"))
    assert saved["path"] == LOAD_PATH and saved["data"] == first.last_known()
    assert [p.name for p in cache.parent.iterdir()] == ["load.json"]

    offline = HubPoller(HubClient(NOWHERE, token), LOAD_PATH, cache_file=cache, stale_after=float("inf"))
    assert not offline.poll_once()
    assert offline.last_known() == saved["data"] and offline.latest() == saved["data"]
    assert offline.age() is not None and offline.age() < 3600
    offline.stop()

    # With the hub back, the saved ETag makes the first question after a restart cost a 304.
    back = HubPoller(HubClient(url, token), LOAD_PATH, cache_file=cache)
    assert back.poll_once() and back.last_status == 304 and back.latest() == saved["data"]
    back.stop()


def test_unusable_cache_files_are_ignored(center, tmp_path):
    _, url, token = center
    cache = tmp_path / "load.json"
    for text in ("{not json", json.dumps({"path": "/api/v1/feed", "saved_at": time.time(), "data": {"a": 1}}),
                 json.dumps([1, 2])):
        cache.write_text(text, encoding="utf-8")
        poller = HubPoller(HubClient(NOWHERE, token), LOAD_PATH, cache_file=cache)
        assert poller.last_known() is None and poller.age() is None
        assert cache.read_text(encoding="utf-8") == text  # left for a technician to look at
    # Saved "in the future": the clock was set back after a restart, so the age is unknown.
    cache.write_text(json.dumps({"path": LOAD_PATH, "saved_at": time.time() + 86400, "data": {"center": "x"}}))
    future = HubPoller(HubClient(NOWHERE, token), LOAD_PATH, cache_file=cache, stale_after=float("inf"))
    assert future.age() is None and future.latest() is None and future.last_known() == {"center": "x"}


def test_uploader_sends_periodically_and_answers_a_supervisors_request(center):
    hub, url, token = center
    shots = []

    def capture() -> bytes:
        shots.append(make_png(64 + len(shots), 36))
        return shots[-1]

    clock = FakeMonotonic()
    uploader = ScreenshotUploader(HubClient(url, token), capture, every_minutes=10, monotonic=clock)
    assert uploader.run_once() == UPLOADED and len(shots) == 1  # the first one at start
    assert uploader.last_upload["width"] == 64
    assert uploader.run_once() == IDLE and len(shots) == 1
    clock.now += 10 * 60
    assert uploader.run_once() == UPLOADED and hub.screens.latest("strogino", "screen-1")["width"] == 65
    assert uploader.run_once() == IDLE
    supervisor = requests.Session()
    supervisor.post(f"{url}/console/api/sign-in", json={"center": "strogino", "login": "smirnova",
                                                         "password": PASSWORD}, timeout=10)
    assert supervisor.post(f"{url}/console/api/devices/screen-1/screenshot", timeout=10).status_code == 200
    clock.now += 10 * 60
    assert uploader.run_once() == UPLOADED and len(shots) == 3
    # The periodic picture is newer than the request: the screen is not asked for another.
    assert hub.remote.deliver("strogino", "screen-1") == []
    assert [(c["kind"], c["result"]) for c in hub.remote.latest("strogino")] == [(SCREENSHOT, SCREENSHOT_SENT)]
    image = supervisor.get(f"{url}/console/screens/screen-1.png", timeout=10)
    assert image.content == shots[-1]
    uploader.stop()


def test_without_the_hub_a_failed_upload_is_tried_at_the_next_check(center):
    hub, url, token = center
    calls = []
    capture = lambda: calls.append(1) or make_png(20, 20)  # noqa: E731
    away = ScreenshotUploader(HubClient(NOWHERE, token), capture, every_minutes=10)
    assert away.run_once() == UNREACHABLE and away.run_once() == UNREACHABLE and calls == [1, 1]
    revoked = ScreenshotUploader(HubClient(url, "not-a-token"), capture, every_minutes=10)
    assert revoked.run_once() == FAILED and len(calls) == 3  # a 401 is not the image's fault: tried again
    never = ScreenshotUploader(HubClient(url, token), capture, every_minutes=0, check_every=0.01).start()
    time.sleep(0.1)
    assert never.run_once() == IDLE and len(calls) == 3 and never._every is None  # no thread without a period
    assert hub.screens.latest("strogino", "screen-1") is None
    for uploader in (away, revoked, never):
        uploader.stop()


def test_bad_captures_never_stop_the_uploader(center):
    hub, url, token = center
    replies = iter([RuntimeError("the UI thread is busy"), None, b"not a png", make_png(30, 30)])

    def capture():
        reply = next(replies)
        if isinstance(reply, Exception):
            raise reply
        return reply

    clock = FakeMonotonic()
    uploader = ScreenshotUploader(HubClient(url, token), capture, every_minutes=5, monotonic=clock)
    assert uploader.run_once() == NO_IMAGE
    assert uploader.run_once() == NO_IMAGE
    assert uploader.run_once() == REFUSED  # the hub said why; the same image is not sent again at once
    assert uploader.run_once() == IDLE
    clock.now += 5 * 60
    assert uploader.run_once() == UPLOADED and hub.screens.latest("strogino", "screen-1")["width"] == 30


def test_oversized_screenshots_are_shrunk_to_fit(center):
    hub, url, token = center
    big = make_png(400, 300, noise=True)  # about 360 KB
    uploader = ScreenshotUploader(HubClient(url, token), lambda: big, every_minutes=1, max_bytes=100_000)
    assert uploader.run_once() == UPLOADED
    stored = hub.screens.latest("strogino", "screen-1")
    assert stored["width"] < 400 and stored["width"] * 3 == stored["height"] * 4 and stored["bytes"] <= 100_000


def test_background_thread_uploads_and_stops(center):
    hub, url, token = center
    uploader = ScreenshotUploader(HubClient(url, token), lambda: make_png(50, 50), every_minutes=1, check_every=0.05).start()
    try:
        deadline = time.monotonic() + 20
        while hub.screens.latest("strogino", "screen-1") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.screens.latest("strogino", "screen-1")["width"] == 50
    finally:
        uploader.stop()
    assert not uploader._every._thread.is_alive()


@pytest.mark.slow
def test_clients_verify_tls_with_the_ca_file(tmp_path):
    cert, key, ca = make_test_ca(tmp_path / "tls")
    with HubProcess(tmp_path / "hub", tls=(cert, key, ca)) as hub:
        code = hub.enroll_code(role="signage")
        token = requests.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device_id": "screen-1"},
                              timeout=10, verify=str(ca)).json()["token"]
        trusting = HubPoller(HubClient(hub.url, token, ca_file=str(ca)), LOAD_PATH)
        assert trusting.poll_once()
        assert not HubPoller(HubClient(hub.url, token), LOAD_PATH).poll_once()  # the system's CAs do not know this hub
        png = make_png(10, 10)
        assert ScreenshotUploader(HubClient(hub.url, token, ca_file=str(ca)), lambda: png, 1).run_once() == UPLOADED
        assert ScreenshotUploader(HubClient(hub.url, token), lambda: png, 1).run_once() == UNREACHABLE
