"""A real hub linked to a real city: after a hand-made morning, the public waiting times the city
gives for the center equal the hub's own figures (people waiting, longest wait, and the wait the
hub's SIMPLE rule tells a new ticket)."""
from __future__ import annotations

import math
from datetime import datetime

import requests

from hub.estimates import SIMPLE, Estimates
from mfc_edge.city_protocol import PUBLIC_WAITS_PATH
from tests.helpers.center import CENTER, InProcessCenter
from tests.helpers.city import CityClock, forward_now

SERVICE = "passport-rf"


def test_the_public_figures_equal_the_hubs_own(linked_center: InProcessCenter, city_server, city_clock: CityClock):
    center, queue = linked_center, linked_center.hub.queue
    kiosk = center.add_kiosk("kiosk-1", (1, 99))
    for _ in range(7):
        kiosk.issue(SERVICE)
        center.advance(minutes=3)
    assert kiosk.sync_now()
    queue.open_window(CENTER, "5", [SERVICE], "ivanova")
    queue.open_window(CENTER, "6", [SERVICE, "pension"], "petrova")
    for window, minutes in (("5", 7), ("6", 12)):  # two visits of 7 and 12 minutes
        queue.call_next(CENTER, window, [SERVICE])
        queue.start(CENTER, window)
        center.advance(minutes=minutes)
        queue.finish(CENTER, window)
    center.advance(minutes=2)
    city_clock.now = center.clock.now()  # the city's clock agrees with the hub's
    forward_now(center.hub)

    reply = requests.get(f"{city_server.url}{PUBLIC_WAITS_PATH}/{CENTER}", timeout=30)
    assert reply.status_code == 200
    public = reply.json()["center"]

    hub_now = center.clock.now()
    waiting = center.tickets("state = 'waiting'")
    assert public["state"] == "open"
    assert public["waiting"] == center.hub.hall.today(CENTER)["total"]["waiting"] == len(waiting) == 5
    oldest = min(datetime.fromisoformat(t["issued_at"]) for t in waiting)
    assert public["longest_wait_minutes"] == math.ceil((hub_now - oldest).total_seconds() / 60)
    told = Estimates(center.hub.db, rule=SIMPLE).simple_for_new_tickets(CENTER, [SERVICE])[SERVICE]
    assert (told.ahead, told.minutes) == (5, 24)  # 5 ahead × 9.5 minutes a visit / 2 windows, rounded up
    passports = next(g for g in public["groups"] if g["id"] == "passports")
    assert public["wait_minutes"] == passports["wait_minutes"] == told.minutes
    assert passports["waiting"] == 5
