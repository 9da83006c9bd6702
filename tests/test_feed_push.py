"""The push of calls to the hall: a device's long poll of the feed (hub/routes/devices.py) and
the FeedPoller that uses it, falling back to the plain ETag poll when it does not work; the
window console's display, which follows its window's state pushed the same way."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.api import Hub
from hub.server import HubThread
from mfc_edge.protocol import FEED_PATH, FEED_WAIT_HEADER
from offline_cache import feed as feed_module
from offline_cache.feed import FeedPoller
from offline_cache.hub_client import HubClient
from tests.helpers.faultproxy import FaultProxy
from tests.helpers.hubprocess import HubProcess, free_port, hub_today
from tests.helpers.screenshots import PASSWORD

CENTER, WINDOW = "strogino", "5"


def prepare(data_dir: Path, tickets: int, devices: int = 1) -> list[str]:
    """A hub's file with `tickets` waiting today, a signed-up operator and enrolled screens;
    the screens' tokens."""
    hub = Hub(data_dir)
    try:
        hub.operators.add(CENTER, "ivanova", "Иванова Мария", PASSWORD)
        issued = hub_today()
        with hub.db.transaction() as d:
            for n in range(1, tickets + 1):
                d["tickets"].insert({"id": f"t{n}", "center": CENTER, "device": "kiosk-1", "number": f"П{n:03d}",
                                     "service": "passport-rf", "day": issued.date().isoformat(), "priority": 0,
                                     "issued_at": issued.replace(second=n % 60).isoformat(),
                                     "status_token": f"token-{n:04d}-abcdefghijklmnop", "state": "waiting"})
            hub.db.bump_feed(d, CENTER)
        return [hub.identity.enroll(hub.identity.create_code(CENTER, "signage"), f"screen-{i}")[1]
                for i in range(devices)]
    finally:
        hub.close()


class Console:
    """An operator at window 5 of the web console, over HTTP as the browser does it."""

    def __init__(self, url: str):
        self.url, self.http = url, requests.Session()
        self.http.trust_env = False
        self.post("sign-in", center=CENTER, login="ivanova", password=PASSWORD)
        self.post("open-window", window=WINDOW, services=["passport-rf"])

    def post(self, action: str, **body: Any) -> dict[str, Any]:
        reply = self.http.post(f"{self.url}/console/api/{action}", json=body, timeout=10)
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result

    def call_next(self) -> str:
        number: str = self.post("call-next", window=WINDOW)["ticket"]["number"]
        self.post("start", window=WINDOW)
        self.post("finish", window=WINDOW)  # the next call is then of the next visitor
        return number


def wait_for(condition: Any, what: str, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.01)
    return time.monotonic() - started


def called(poller: FeedPoller) -> list[str]:
    data = poller.latest() or {}
    return [c["number"] for c in data.get("calls", []) if not c["recall"]]


@pytest.fixture
def hub_thread(tmp_path):
    tokens = prepare(tmp_path / "hub", tickets=20, devices=8)
    hub = Hub(tmp_path / "hub")
    with HubThread(hub) as server:
        yield server, tokens
    hub.close()


@pytest.mark.slow
def test_a_screen_gets_a_call_pushed_by_a_real_hub_without_polling(tmp_path):
    [token] = prepare(tmp_path / "hub", tickets=3)
    with HubProcess(tmp_path / "hub") as hub:
        console = Console(hub.url)
        poller = FeedPoller(HubClient(hub.url, token), interval=60).start()  # a plain poll would take a minute
        try:
            wait_for(lambda: poller.pushed, "the first long poll answered")
            time.sleep(0.5)  # the screen's request now waits on the hub
            number = console.call_next()
            took = wait_for(lambda: number in called(poller), f"{number} on the screen")
            assert took < 3.0 and poller.pushed
        finally:
            poller.stop()


def test_a_long_poll_waits_for_a_change_and_answers_at_once_when_behind(hub_thread):
    server, tokens = hub_thread
    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"Bearer {tokens[0]}"
    first = http.get(server.url + FEED_PATH, timeout=10)
    assert first.status_code == 200 and first.headers[FEED_WAIT_HEADER] == "25"
    etag = first.headers["ETag"]
    started = time.monotonic()
    held = http.get(server.url + FEED_PATH, params={"wait": 1}, headers={"If-None-Match": etag}, timeout=10)
    assert held.status_code == 304 and time.monotonic() - started >= 0.9  # nothing changed: held for the wait
    assert http.get(server.url + FEED_PATH, params={"wait": 20}, headers={"If-None-Match": '"strogino-0"'},
                    timeout=5).status_code == 200  # behind: answered at once
    assert http.get(server.url + FEED_PATH, params={"wait": 26}, timeout=5).status_code == 422


def test_the_push_cut_falls_back_to_the_plain_poll_and_nothing_is_missed_or_doubled(hub_thread, monkeypatch):
    server, tokens = hub_thread
    monkeypatch.setattr(feed_module, "BACKOFF_FIRST_S", 30.0)  # the push stays down for 15 s or more once cut
    port = int(server.url.rsplit(":", 1)[1])
    console = Console(server.url)
    seen: list[list[str]] = []
    with FaultProxy(upstream=("127.0.0.1", port)) as proxy:
        poller = FeedPoller(HubClient(proxy.url("http"), tokens[0]), interval=0.3,
                            on_change=lambda data: seen.append([c["number"] for c in data["calls"]])).start()
        try:
            wait_for(lambda: poller.pushed, "the push works")
            pushed = [console.call_next() for _ in range(2)]
            wait_for(lambda: set(pushed) <= set(called(poller)), "the pushed calls")
            time.sleep(0.3)  # the next long poll waits on the hub
            proxy.cut_all()  # the push channel is cut mid-day
            wait_for(lambda: not poller.pushed and poller.last_status is not None, "the plain poll took over")
            polled = [console.call_next() for _ in range(3)]
            wait_for(lambda: set(polled) <= set(called(poller)), "the calls made while the push was down")
            assert not poller.pushed  # they came by the plain poll
        finally:
            poller.stop()
    made = pushed + polled
    final = called(poller)
    assert sorted(final) == sorted(made) and len(set(final)) == len(final)  # every call once
    assert all(len(set(snapshot)) == len(snapshot) for snapshot in seen)


def test_devices_reconnecting_at_once_are_bounded_and_honour_retry_after(hub_thread):
    server, tokens = hub_thread
    server.app.state.feed_watch.limit = 3  # room for three waiting devices in all
    pollers = [FeedPoller(HubClient(server.url, token), interval=0.5).start() for token in tokens]
    try:
        wait_for(lambda: sum(p.last_status == 503 for p in pollers) >= len(pollers) - 3, "the others refused")
        assert server.app.state.feed_watch.waiting <= 3
        refused = [p for p in pollers if not p.pushed]
        assert len(refused) >= len(pollers) - 3
        now = time.monotonic()
        # Told to come back in FEED_BUSY_RETRY_S (5 s) at the least, with jitter: not all at once.
        retries = [p._retry_push_at - now for p in refused]
        assert all(retry > 2.5 for retry in retries) and len({round(r, 3) for r in retries}) == len(retries)
        wait_for(lambda: all(p.latest() is not None for p in pollers), "every screen has the feed")  # by plain polls
    finally:
        for poller in pollers:
            poller.stop()


def test_the_back_off_grows_with_jitter_and_has_a_ceiling(monkeypatch):
    poller = FeedPoller(HubClient(f"http://127.0.0.1:{free_port()}", "token"), timeout=0.5)  # nothing listens
    delays = []
    for _ in range(9):
        before = time.monotonic()
        assert not poller.long_poll_once()
        delays.append(poller._retry_push_at - before)
    ceilings = [min(feed_module.BACKOFF_MAX_S, feed_module.BACKOFF_FIRST_S * 2 ** n) for n in range(9)]
    assert all(ceiling / 2 <= delay <= ceiling + 0.6 for delay, ceiling in zip(delays, ceilings, strict=True))
    assert not poller.pushed


# --- the window console: its display follows the window's state, pushed the same way --------------

class Shown:
    """A keypad display that remembers every text it was given."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def show(self, text: str) -> None:
        self.texts.append(text)


@pytest.mark.slow
def test_the_window_console_shows_a_call_made_on_the_web_console_without_polling(tmp_path, monkeypatch):
    from gpiozero.pins.mock import MockFactory

    from mfc_edge.config import load_config
    from offline_cache.outbox import DeviceStore
    from tests.helpers.window import Center, write_console_config
    from tests.test_window_console import operator
    from window_device.window_console import WindowConsole
    from window_device.window_link import WindowLink

    monkeypatch.setattr(feed_module, "BACKOFF_FIRST_S", 60.0)  # once cut, the push stays down for the test
    center = Center(tmp_path / "hub")
    proxy = FaultProxy(upstream=("127.0.0.1", int(center.url.rsplit(":", 1)[1]))).start()
    store = DeviceStore(tmp_path / "console.sqlite", center_id=CENTER, device_id="console-5", clock=center.clock)
    link = WindowLink(HubClient(proxy.url("http"), center.token))
    shown = Shown()
    console = WindowConsole(load_config(write_console_config(tmp_path, proxy.url("http"))), store, link,
                            pin_factory=MockFactory(), display=shown)
    state = console.state
    assert state is not None
    state.interval = 60.0  # a plain poll would take a minute
    ivanova = operator(center)
    try:
        console.start()
        wait_for(lambda: state.pushed and shown.texts == ["—"], "the first answer, pushed")
        time.sleep(0.3)  # the console's request now waits on the hub
        assert ivanova.act("open-window", window="5", services=["passport-rf"]).status_code == 200
        assert ivanova.act("open-window", window="6", services=["passport-rf"]).status_code == 200
        assert ivanova.act("call-next", window="6").json()["ticket"]["number"] == "П001"  # another window's
        assert ivanova.act("call-next", window="5").json()["ticket"]["number"] == "П002"
        wait_for(lambda: shown.texts[-1:] == ["П002"], "П002 on the keypad's display")
        assert ivanova.act("finish", window="5").status_code == 200
        wait_for(lambda: shown.texts[-1:] == ["—"] and console.served_ticket() == "ticket-0002", "the finish")
        assert state.pushed

        state.interval = 0.3
        proxy.cut_all()  # the push channel is cut
        wait_for(lambda: not state.pushed and state.last_status is not None, "the plain poll took over")
        assert ivanova.act("call-next", window="5").json()["ticket"]["number"] == "П003"
        wait_for(lambda: shown.texts[-1:] == ["П003"], "П003 by the plain poll")
        assert not state.pushed and console.served_ticket() == "ticket-0003"
        assert shown.texts == ["—", "П002", "—", "П003"]  # each change once, another window's none
    finally:
        console.close()
        link.hub.close()
        store.close()
        proxy.stop()
        center.close()


@pytest.mark.slow
def test_a_window_long_poll_waits_for_its_own_window_and_for_the_served_visitor_to_lapse(tmp_path):
    from hub.ratings import SERVED_RECENTLY
    from tests.helpers.window import Center
    from tests.test_window_console import operator

    center = Center(tmp_path / "hub")
    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"Bearer {center.token}"
    url = f"{center.url}/api/v1/windows/5"
    ivanova = operator(center)
    try:
        for window in ("5", "6"):
            ivanova.act("open-window", window=window, services=["passport-rf"])
        first = http.get(url, timeout=10)
        assert first.status_code == 200 and first.headers[FEED_WAIT_HEADER] == "25"
        assert first.json()["current"] is None
        etag = first.headers["ETag"]
        assert http.get(url, headers={"If-None-Match": etag}, timeout=10).status_code == 304

        def held(wait: int, then: Any) -> tuple[requests.Response, float]:
            """A long poll of window 5 with `then()` done on the hub while it waits."""
            replies: list[requests.Response] = []
            asking = threading.Thread(target=lambda: replies.append(http.get(
                url, params={"wait": wait}, headers={"If-None-Match": etag}, timeout=wait + 10)))
            started = time.monotonic()
            asking.start()
            time.sleep(0.5)
            then()
            asking.join()
            return replies[0], time.monotonic() - started

        # Another window's call moves the center's feed on, not this window: still held.
        reply, took = held(2, lambda: ivanova.act("call-next", window="6"))
        assert reply.status_code == 304 and took >= 1.9
        reply, _ = held(20, lambda: ivanova.act("call-next", window="5"))
        assert reply.status_code == 200 and reply.json()["current"] == {"number": "П002", "state": "called"}
        ivanova.act("finish", window="5")
        done = http.get(url, timeout=10)
        assert done.json()["served"] == {"ticket": "ticket-0002", "number": "П002"} and not done.json()["current"]
        etag = done.headers["ETag"]
        # The served visitor lapses by time alone: the hub answers then, though nothing was bumped.
        center.clock.advance(seconds=SERVED_RECENTLY.total_seconds() - 1)
        reply, _ = held(20, lambda: center.clock.advance(seconds=2))
        assert reply.status_code == 200 and reply.json()["served"] is None
    finally:
        http.close()
        center.close()


def test_a_change_made_by_the_hub_wakes_the_waiting_at_once_not_at_the_next_tick(tmp_path):
    """The watch looks at the versions once a minute here; a call made in the hub's own process
    nudges it, so the waiting request answers long before that minute (or its own 30 s)."""
    import asyncio

    from hub.feed_watch import FeedWatch

    hub = Hub(tmp_path / "hub")
    watch = FeedWatch(hub.db.feed_version, every=60.0)
    hub.db.on_feed_bump(watch.nudge)

    def call_soon() -> None:
        time.sleep(0.3)
        with hub.db.transaction() as d:
            hub.db.bump_feed(d, CENTER)

    async def wait_for_the_call() -> float:
        seen = hub.db.feed_version(CENTER)
        await asyncio.sleep(0.2)  # the watch's first look is done: the next is a minute away
        threading.Thread(target=call_soon).start()
        started = time.monotonic()
        await watch.wait(CENTER, "screen-1", seen, timeout=30.0)
        return time.monotonic() - started

    try:
        assert asyncio.run(wait_for_the_call()) < 20.0
    finally:
        hub.close()
