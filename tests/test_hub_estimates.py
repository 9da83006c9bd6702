"""One wait estimate, made by the hub's queue: what the feed gives kiosks for a new ticket is
what the visitor's phone page then says for that ticket, by the same rule and rounding: when a
window would call it, the line played forward through the open windows (hub/estimate_plan.py)."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, timedelta

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.estimates import wait_minutes
from hub.server import HubThread
from mfc_edge import protocol
from tests.helpers.day import TEST_DAY, at

START = at(7, tz=UTC)  # 10:00 in Moscow
PASSWORD = "correct horse 42"


def test_the_wait_is_rounded_up_and_spread_over_the_open_windows():
    assert wait_minutes(0, 10.0, 1) == 0
    assert wait_minutes(6, 7.5, 2) == 23  # 22.5: "about 22" would be a promise the hall breaks
    assert wait_minutes(3, 10.0, 0) == 30  # no window open yet: counted as one
    assert wait_minutes(25, 2.2, 5) == 11  # 11.000000000000002 in floating point is still 11


class Center:
    def __init__(self, hub: Hub, url: str, clock: ManualClock):
        self.hub, self.url, self.clock = hub, url, clock
        _, token = hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-1")
        self.kiosk = {"Authorization": f"Bearer {token}"}
        self.issued = 0
        self.consoles: dict[str, requests.Session] = {}
        for login in ("ivanova", "petrov"):
            hub.operators.add("strogino", login, login.title(), PASSWORD)
            session = requests.Session()
            session.post(f"{url}/console/api/sign-in", json={"center": "strogino", "login": login,
                                                             "password": PASSWORD}, timeout=10).raise_for_status()
            self.consoles[login] = session

    def issue(self, priority: bool = False, service: str = "passport-rf") -> str:
        self.issued += 1
        token, at = uuid.uuid4().hex, self.clock.now()
        event = protocol.make_event(protocol.TICKET_ISSUED, "strogino", "kiosk-1", at, {
            "ticket": uuid.uuid4().hex, "number": f"П{self.issued:03d}", "service": service,
            "day": TEST_DAY.isoformat(), "priority": priority, "issued_at": at.isoformat(), "lang": "ru",
            "status_token": token})
        reply = requests.post(f"{self.url}/api/v1/events", json={"events": [event]}, headers=self.kiosk, timeout=10)
        assert reply.json()["results"][0]["status"] == "stored"
        self.clock.advance(seconds=10)
        return token

    def act(self, login: str, action: str, **body: object) -> dict:
        reply = self.consoles[login].post(f"{self.url}/console/api/{action}", json=body, timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def feed(self) -> dict:
        return requests.get(f"{self.url}/api/v1/feed", headers=self.kiosk, timeout=10).json()

    def phone(self, token: str) -> tuple[int | None, int]:
        """(people ahead, None when "you are next"; minutes) as the phone page says them."""
        page = requests.get(f"{self.url}/t/{token}", timeout=10).text
        ahead = re.search(r"(\d+) (?:человек|person|people)", page)
        minutes = re.search(r"(\d+) мин", page)
        assert minutes, page
        return (int(ahead.group(1)) if ahead else None), int(minutes.group(1))


@pytest.fixture
def center(tmp_path):
    clock = ManualClock(START)
    hub = Hub(tmp_path / "hub", clock=clock)
    with HubThread(hub) as server:
        yield Center(hub, server.url, clock)
    hub.close()


def test_the_feeds_figure_for_a_new_ticket_is_the_phone_pages_for_it(center):
    # Two visitors served in 7 and 8 minutes: the mean service time is 7.5 minutes.
    center.issue(), center.issue()
    center.act("ivanova", "open-window", window="5", services=["passport-rf"])
    for minutes in (7, 8):
        center.act("ivanova", "call-next", window="5")
        center.clock.advance(minutes=minutes)
        center.act("ivanova", "finish", window="5")
    assert center.feed()["mean_service_minutes"] == 7.5

    ordinary = [center.issue() for _ in range(5)]
    priority = center.issue(priority=True)
    center.act("petrov", "open-window", window="6", services=["passport-rf", "adult-snils"])

    feed = center.feed()
    assert feed["waiting"]["passport-rf"] == 6 and feed["open_windows"]["passport-rf"] == 2
    promised = feed["estimates"]["passport-rf"]
    assert promised == {"ahead": 6, "minutes": 23}  # calls at 0, 7.5 and 15 minutes, two at a time: 22.5
    # Window 6 calls a new SNILS ticket only after the passport tickets issued before it: three
    # of them are its own calls before that one.
    assert feed["estimates"]["adult-snils"] == {"ahead": 3, "minutes": 23}
    assert feed["estimates"]["oms-policy"] == {"ahead": 0, "minutes": 0}  # every service of the catalog

    new = center.issue()  # the visitor the kiosk just told "6 ahead, about 23 minutes"
    assert center.phone(new) == (promised["ahead"], promised["minutes"])
    # Issued tickets count who is called before them: the priority ticket first, then by time.
    assert center.phone(priority) == (None, 1)  # next; "about 0 minutes" is not said
    # Called in the second round (at 7.5 minutes) after two earlier ones and the priority one.
    assert center.phone(ordinary[2]) == (3, 8)
    assert center.feed()["estimates"]["passport-rf"] == {"ahead": 7, "minutes": 23}  # the fourth round


def test_closing_a_window_lengthens_every_estimate_at_once(center):
    tokens = [center.issue() for _ in range(4)]
    center.act("ivanova", "open-window", window="5", services=["passport-rf"])
    center.act("petrov", "open-window", window="6", services=["passport-rf"])
    assert center.feed()["estimates"]["passport-rf"] == {"ahead": 4, "minutes": 20}
    assert center.phone(tokens[3]) == (3, 10)  # no history: 10 minutes a visit, the second round
    center.act("petrov", "close-window", window="6")
    assert center.feed()["estimates"]["passport-rf"] == {"ahead": 4, "minutes": 40}
    assert center.phone(tokens[3]) == (3, 30)


def test_a_ticket_issued_before_midnight_and_still_waiting_is_not_counted_ahead(center):
    token = center.issue()
    center.clock.set(START + timedelta(days=1))
    center.hub.queue.close_past_days("strogino")
    assert center.feed()["estimates"]["passport-rf"] == {"ahead": 0, "minutes": 0}
    assert "больше не в очереди" in requests.get(f"{center.url}/t/{token}", timeout=10).text
