"""The visitor's phone page over a real hub on 127.0.0.1: its state answer (a long poll that
returns when the line moves), cancelling a ticket, and the page itself without scripts."""
from __future__ import annotations

import socket
import threading
import time
from datetime import UTC
from typing import Any

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.routes import status
from hub.server import HubThread
from tests.helpers.day import at
from tests.helpers.line import token, waiting_line

START = at(7, tz=UTC)  # 10:00 in Moscow


@pytest.fixture
def center(tmp_path):
    hub = Hub(tmp_path / "hub", clock=ManualClock(START))
    waiting_line(hub, 3)
    hub.queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
    with HubThread(hub) as server:
        yield hub, server
    hub.close()


def state(url: str, n: int, **params: Any) -> requests.Response:
    return requests.get(f"{url}/t/{token(n)}/state", params=params, timeout=60)


class Poll(threading.Thread):
    """A phone's long poll, run aside so that the test can change the line meanwhile."""

    def __init__(self, url: str, n: int, after: int, **params: Any):
        super().__init__(daemon=True)
        self.url, self.n, self.params = url, n, {"after": after, **params}
        self.reply: requests.Response | None = None
        self.start()

    def run(self) -> None:
        self.reply = state(self.url, self.n, **self.params)


def wait_for(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.02)


def test_the_state_tells_the_place_in_line_and_answers_at_once_when_the_page_is_behind(center):
    hub, server = center
    first, third = state(server.url, 1).json(), state(server.url, 3, lang="en").json()
    assert (first["state"], first["kind"], first["headline"]) == ("waiting", "next", "Вы следующий")
    assert first["title"] == "Талон П001" and first["cancellable"] and not first["final"]
    assert (third["kind"], third["headline"]) == ("waiting", "2 people ahead of you")
    assert third["version"] == first["version"] == hub.db.feed_version("strogino")
    behind = state(server.url, 1, after=first["version"] - 1)  # the page shows an older line: no wait
    assert behind.status_code == 200 and behind.json()["version"] == first["version"]
    assert behind.headers["Cache-Control"] == "no-store"


def test_a_waiting_poll_returns_with_the_call_and_the_window(center):
    hub, server = center
    seen = state(server.url, 1).json()
    poll = Poll(server.url, 1, seen["version"])
    wait_for(lambda: server.app.state.feed_watch.waiting == 1, "the poll to wait")
    assert poll.reply is None  # nothing changed: still waiting
    hub.queue.call_next("strogino", "5", ["passport-rf"])
    poll.join(timeout=20)
    called = poll.reply.json()
    assert (called["state"], called["kind"], called["window"], called["calls"]) == ("called", "called", "5", 1)
    assert called["headline"] == "Пройдите к окну 5" and not called["cancellable"]
    assert called["version"] > seen["version"]
    # A recall rings the phone again: the number of calls grows while the state stays the same.
    again = Poll(server.url, 1, called["version"])
    wait_for(lambda: server.app.state.feed_watch.waiting == 1, "the poll to wait")
    hub.queue.recall("strogino", "5")
    again.join(timeout=20)
    assert (again.reply.json()["state"], again.reply.json()["calls"]) == ("called", 2)


def test_the_next_in_line_is_told_so_when_the_one_ahead_is_called(center):
    hub, server = center
    seen = state(server.url, 2).json()
    assert seen["headline"] == "Перед вами 1 человек"
    poll = Poll(server.url, 2, seen["version"])
    wait_for(lambda: server.app.state.feed_watch.waiting == 1, "the poll to wait")
    hub.queue.call_next("strogino", "5", ["passport-rf"])
    poll.join(timeout=20)
    assert (poll.reply.json()["kind"], poll.reply.json()["headline"]) == ("next", "Вы следующий")


def test_an_unchanged_line_is_answered_after_the_long_poll_with_the_same_view(center, monkeypatch):
    _, server = center
    monkeypatch.setattr(status, "LONG_POLL_S", 0.5)
    seen = state(server.url, 1).json()
    reply = state(server.url, 1, after=seen["version"])
    assert reply.status_code == 200 and reply.json() == seen
    assert server.app.state.feed_watch.waiting == 0


def test_the_number_of_waiting_phones_is_bounded(center):
    _, server = center
    server.app.state.feed_watch.limit = 1
    seen = state(server.url, 1).json()
    first = Poll(server.url, 1, seen["version"])
    wait_for(lambda: server.app.state.feed_watch.waiting == 1, "the first poll to wait")
    busy = state(server.url, 2, after=seen["version"])
    assert busy.status_code == 503 and busy.headers["Retry-After"] == str(status.BUSY_RETRY_S)
    assert first.is_alive()


def test_one_ticket_cannot_take_every_place_among_the_waiting(center):
    _, server = center
    version = state(server.url, 1).json()["version"]
    polls = [Poll(server.url, 1, version) for _ in range(4)]  # a visitor with four tabs open
    wait_for(lambda: server.app.state.feed_watch.waiting == 4, "the four polls to wait")
    fifth = state(server.url, 1, after=version)
    assert fifth.status_code == 503 and fifth.headers["Retry-After"] == str(status.BUSY_RETRY_S)
    other = Poll(server.url, 2, version)  # another ticket still gets its place
    wait_for(lambda: server.app.state.feed_watch.waiting == 5, "another ticket's poll to wait")
    assert all(poll.is_alive() for poll in (*polls, other))


def test_a_phone_that_goes_away_stops_waiting(center):
    _, server = center
    version = state(server.url, 1).json()["version"]
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as phone:
        phone.sendall(f"GET /t/{token(1)}/state?after={version} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        wait_for(lambda: server.app.state.feed_watch.waiting == 1, "the poll to wait")
    wait_for(lambda: server.app.state.feed_watch.waiting == 0, "the closed connection to end its wait")


def test_a_stopping_hub_answers_the_waiting_phones_at_once(tmp_path):
    hub = Hub(tmp_path / "hub", clock=ManualClock(START))
    waiting_line(hub, 1)
    server = HubThread(hub).start()
    try:
        poll = Poll(server.url, 1, state(server.url, 1).json()["version"])
        wait_for(lambda: server.app.state.feed_watch.waiting == 1, "the poll to wait")
    finally:
        server.stop()
        hub.close()
    # Answered, long before the 25 s the poll would have waited: the shutdown was not held up.
    poll.join(timeout=5)
    assert poll.reply is not None and poll.reply.json()["state"] == "waiting"


def test_unknown_tickets_are_404_everywhere(center):
    _, server = center
    for path in ("/t/no-such-ticket", "/t/no-such-ticket/state", f"/t/{'x' * 65}", f"/t/{'x' * 65}/state"):
        assert requests.get(server.url + path, timeout=10).status_code == 404, path
    assert requests.post(f"{server.url}/t/no-such-ticket/cancel", timeout=10).status_code == 404
    page = requests.get(f"{server.url}/t/no-such-ticket", timeout=10)
    assert "Талон не найден" in page.text and 'data-final="1"' in page.text  # nothing for the script to follow


def test_cancel_only_a_waiting_ticket_idempotently_and_it_is_never_called(center):
    hub, server = center
    cancel = f"{server.url}/t/{token(2)}/cancel"
    first = requests.post(cancel, params={"lang": "en"}, allow_redirects=False, timeout=10)
    assert first.status_code == 303 and first.headers["Location"] == f"/t/{token(2)}?lang=en"
    again = requests.post(cancel, allow_redirects=False, timeout=10)
    assert again.status_code == 303  # a second tap or a resent form: the same answer
    assert [h["state"] for h in hub.queue.history("t2")] == ["cancelled"]
    view = state(server.url, 2).json()
    assert (view["state"], view["kind"], view["final"], view["cancellable"]) == ("cancelled", "over", True, False)
    assert view["headline"] == "Вы отказались от этого талона. Его не вызовут."
    assert state(server.url, 3).json()["headline"] == "Перед вами 1 человек"  # П002 no longer counts ahead
    called = [hub.queue.call_next("strogino", "5", ["passport-rf"])["number"]]
    refused = requests.post(f"{server.url}/t/{token(1)}/cancel", allow_redirects=False, timeout=10)
    assert refused.status_code == 409 and "От этого талона уже нельзя отказаться." in refused.text
    hub.queue.finish("strogino", "5")
    called.append(hub.queue.call_next("strogino", "5", ["passport-rf"])["number"])
    hub.queue.finish("strogino", "5")
    assert called == ["П001", "П003"] and hub.queue.call_next("strogino", "5", ["passport-rf"]) is None


def test_cancel_is_refused_from_another_site(center):
    hub, server = center
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "https://evil.example"}):
        reply = requests.post(f"{server.url}/t/{token(1)}/cancel", headers=headers, allow_redirects=False, timeout=10)
        assert reply.status_code == 403, headers
    assert hub.queue.ticket_by_token(token(1))["state"] == "waiting"
    own = requests.post(f"{server.url}/t/{token(1)}/cancel", headers={"Sec-Fetch-Site": "same-origin",
                                                                    "Origin": "null"},
                        allow_redirects=False, timeout=10)
    assert own.status_code == 303


def test_the_page_works_without_scripts_and_asks_before_cancelling(center):
    _, server = center
    page = requests.get(f"{server.url}/t/{token(1)}", timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.text
    assert '<noscript><meta http-equiv="refresh" content="15"></noscript>' in text
    assert '<script src="/static/status.js" defer></script>' in text
    assert "Вы следующий" in text and 'class="next"' in text
    assert f'href="/t/{token(1)}?lang=ru&amp;cancel=1">Отказаться от талона</a>' in text
    assert "<form" not in text  # the form comes only with the confirmation step
    confirm = requests.get(f"{server.url}/t/{token(1)}", params={"lang": "en", "cancel": "1"}, timeout=10).text
    assert "Cancel ticket П001? You will not be called" in confirm
    assert f'<form method="post" action="/t/{token(1)}/cancel?lang=en">' in confirm
    assert "No, stay in line" in confirm and 'lang="en"' in confirm
    assert requests.get(f"{server.url}/static/status.js", timeout=10).headers["Content-Type"].startswith(
        "text/javascript")
