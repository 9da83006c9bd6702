"""The feed and a webhook from a real hub linked to the city: what the hub did to its tickets,
forwarded by its triggers and outbox, comes out as the back office's events, each once."""
from __future__ import annotations

from datetime import datetime

import pytest
import requests

from city.integration import IntegrationTokens, Scope
from city.server import CityThread
from city.webhooks import SIGNATURE_HEADER, Webhooks, verify
from mfc_edge.city_protocol import FEED_PATH
from tests.helpers.center import CENTER, InProcessCenter
from tests.helpers.city import forward_now
from tests.helpers.city_feed import Receiver, until


def a_morning(center: InProcessCenter) -> None:
    kiosk = center.add_kiosk("kiosk-1", (1, 99))
    for _ in range(3):
        kiosk.issue()
    assert kiosk.sync_now()
    center.advance(minutes=7)
    queue = center.hub.queue
    queue.open_window(CENTER, "5", ["passport-rf"], "ivanova")
    queue.call_next(CENTER, "5", ["passport-rf"])
    center.advance(minutes=2)
    queue.start(CENTER, "5")
    center.advance(minutes=6)
    queue.finish(CENTER, "5")
    queue.call_next(CENTER, "5", ["passport-rf"])


@pytest.mark.slow
def test_a_hubs_morning_comes_out_as_events_in_the_feed_and_to_a_webhook(linked_center: InProcessCenter,
                                                                         city_server: CityThread) -> None:
    city = city_server.city
    _, token = IntegrationTokens(city).issue("АИС МФЦ", Scope(centers=(CENTER,)))
    with Receiver() as receiver:
        webhooks = Webhooks(city, retry_first_s=0.05)
        _, secret = webhooks.add(receiver.url, ["ticket.served"])
        a_morning(linked_center)
        forward_now(linked_center.hub)
        forward_now(linked_center.hub)  # again: nothing new, nothing twice
        reply = requests.get(city_server.url + FEED_PATH, headers={"Authorization": f"Bearer {token}"},
                             params={"limit": 1000}, timeout=10)
        assert reply.status_code == 200
        events = reply.json()["events"]
        until(lambda: len(receiver.received) == 1, webhooks.run_once)

    tickets = {t["id"]: t for t in linked_center.tickets()}
    assert sorted(e["ticket"] for e in events if e["type"] == "ticket.issued") == sorted(tickets)
    served = [e for e in events if e["type"] == "ticket.served"]
    assert len(served) == 1
    ticket = tickets[served[0]["ticket"]]
    assert ticket["state"] == "done" and served[0]["number"] == ticket["number"]
    assert served[0]["service_s"] == 360 and served[0]["window"] == "5"
    assert served[0]["wait_s"] == round((datetime.fromisoformat(ticket["called_at"])
                                         - datetime.fromisoformat(ticket["issued_at"])).total_seconds())
    per_ticket = {t: [e["type"] for e in events if e["ticket"] == t] for t in tickets}
    assert per_ticket[served[0]["ticket"]] == ["ticket.issued", "ticket.called", "ticket.started", "ticket.served"]
    assert sorted(map(len, per_ticket.values())) == [1, 2, 4]  # one waits, one called, one served

    [(headers, body)] = receiver.received
    assert verify(secret, headers[SIGNATURE_HEADER], body)
    assert receiver.events() == served
