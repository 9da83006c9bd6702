"""Operators and supervisors over the console API of a real hub on 127.0.0.1.

An operator works at the window they opened; a supervisor sees the whole hall and may act
at any window: close one left open, finish or no-show a visitor left at it.
"""
from __future__ import annotations

from datetime import UTC

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.server import HubThread
from tests.helpers.day import TEST_DAY, at

START = at(7, tz=UTC)  # 10:00 in Moscow
PASSWORD = "correct horse 42"


@pytest.fixture
def hall(tmp_path):
    clock = ManualClock(START)
    hub = Hub(tmp_path / "hub", clock=clock)
    for login, name, role in (("ivanova", "Иванова Мария", "operator"), ("petrov", "Петров Олег", "operator"),
                              ("smirnova", "Смирнова Анна", "supervisor")):
        hub.operators.add("strogino", login, name, PASSWORD, role)
    with hub.db.transaction() as d:
        for n in range(1, 5):
            d["tickets"].insert({"id": f"t{n}", "center": "strogino", "device": "kiosk-1", "number": f"П{n:03d}",
                                 "service": "passport-rf", "day": TEST_DAY.isoformat(), "priority": 0,
                                 "issued_at": f"{TEST_DAY}T07:00:0{n}.000000+00:00",
                                 "status_token": f"token-{n:04d}-abcdefghijklmnop", "state": "waiting"})
    with HubThread(hub) as server:
        yield server.url, clock
    hub.close()


def console(url: str, login: str) -> requests.Session:
    session = requests.Session()
    reply = session.post(f"{url}/console/api/sign-in", json={"center": "strogino", "login": login,
                                                              "password": PASSWORD}, timeout=10)
    assert reply.status_code == 200, reply.text
    session.post_to = lambda action, **body: session.post(f"{url}/console/api/{action}", json=body, timeout=10)
    return session


def test_only_a_supervisor_sees_the_hall(hall):
    url, _ = hall
    assert console(url, "ivanova").get(f"{url}/console/api/hall", timeout=10).status_code == 403
    reply = console(url, "smirnova").get(f"{url}/console/api/hall", timeout=10)
    assert reply.status_code == 200
    assert reply.json()["today"]["total"]["waiting"] == 4
    assert requests.get(f"{url}/console/api/hall", timeout=10).status_code == 401


def test_an_operator_cannot_work_at_another_operators_window(hall):
    url, _ = hall
    ivanova, petrov = console(url, "ivanova"), console(url, "petrov")
    assert ivanova.post_to("open-window", window="5", services=["passport-rf"]).status_code == 200
    assert ivanova.post_to("call-next", window="5").json()["ticket"]["number"] == "П001"

    taken = petrov.post_to("open-window", window="5", services=["adult-snils"])
    assert taken.status_code == 409 and "another operator" in taken.json()["detail"]
    for action in ("call-next", "recall", "finish", "no-show", "close-window"):
        assert petrov.post_to(action, window="5").status_code == 409, action
    assert petrov.post_to("transfer", window="5", to_service="adult-snils").status_code == 409

    state = petrov.get(f"{url}/console/api/state", params={"window": "5"}, timeout=10).json()
    assert state["window"]["mine"] is False
    assert ivanova.get(f"{url}/console/api/state", params={"window": "5"}, timeout=10).json()["window"] == {
        "services": ["passport-rf"], "mine": True, "paused": None}


def test_a_supervisor_clears_a_window_left_open(hall):
    url, clock = hall
    ivanova, smirnova = console(url, "ivanova"), console(url, "smirnova")
    ivanova.post_to("open-window", window="5", services=["passport-rf"])
    clock.advance(minutes=20)
    ivanova.post_to("call-next", window="5")
    ivanova.post_to("sign-out")  # gone home with a visitor still called to window 5

    windows = smirnova.get(f"{url}/console/api/hall", timeout=10).json()["windows"]
    assert [(w["window"], w["operator_name"], w["current"]["number"]) for w in windows] == [
        ("5", "Иванова Мария", "П001")]
    busy = smirnova.post_to("close-window", window="5")
    assert busy.status_code == 409 and "current visitor" in busy.json()["detail"]
    assert smirnova.post_to("no-show", window="5").json()["ticket"]["state"] == "no_show"
    assert smirnova.post_to("close-window", window="5").status_code == 200
    assert smirnova.get(f"{url}/console/api/hall", timeout=10).json()["windows"] == []

    petrov = console(url, "petrov")  # the window is free for the next operator
    assert petrov.post_to("open-window", window="5", services=["passport-rf"]).status_code == 200


def test_the_days_figures(hall):
    url, clock = hall
    ivanova, smirnova = console(url, "ivanova"), console(url, "smirnova")
    ivanova.post_to("open-window", window="5", services=["passport-rf"])
    clock.advance(minutes=10)
    ivanova.post_to("call-next", window="5")   # П001 waited 10 min
    ivanova.post_to("finish", window="5")
    clock.advance(minutes=10)
    ivanova.post_to("call-next", window="5")   # П002 waited 20 min: over the 15-minute standard
    ivanova.post_to("no-show", window="5")
    # П004's visitor gives the ticket up on the phone page: cancelled, not a no-show
    assert requests.post(f"{url}/t/token-0004-abcdefghijklmnop/cancel", allow_redirects=False,
                         timeout=10).status_code == 303

    today = smirnova.get(f"{url}/console/api/hall", timeout=10).json()["today"]
    assert today["day"] == TEST_DAY.isoformat()
    assert today["services"]["passport-rf"] == today["total"] == {
        "issued": 4, "served": 1, "no_show": 1, "cancelled": 1, "waiting": 1, "held": 0, "mean_wait_minutes": 15.0,
        "within_standard": 0.5}
