"""The estimate printed on a ticket travels with its ticket.issued event and is kept by the hub
with the ticket, so that its accuracy can be measured; a spoiled one gets the event refused."""
from __future__ import annotations

import uuid
from datetime import UTC

import pytest

from hub.api import Hub
from kiosk.desk import TicketDesk
from kiosk.estimate import Estimator
from mfc_edge import protocol
from tests.helpers.day import TEST_DAY, at

AT = at(10, tz=UTC)


def desk(kiosk, feed):
    return TicketDesk(kiosk.device, kiosk.catalog, kiosk.store, None,
                      Estimator(kiosk.store, windows=2, feed=lambda: feed))


def issued_body(kiosk) -> dict:
    return [e for e in kiosk.store.outbox() if e["type"] == protocol.TICKET_ISSUED][-1]["body"]


def test_the_kiosk_sends_what_it_printed_the_hubs_figure_or_its_own_guess(kiosk):
    with_hub = desk(kiosk, {"estimates": {"passport-rf": {"ahead": 7, "minutes": 23}}})
    try:
        issued = with_hub.issue("passport-rf")
        assert issued_body(kiosk)["estimate"] == {"minutes": 23, "ahead": 7, "source": "hub"}
        assert protocol.event_problem(kiosk.store.outbox()[0]) is None
    finally:
        with_hub.close()
    offline = desk(kiosk, None)
    try:
        guess = offline.issue("passport-rf").estimate
        assert guess.approximate and guess.people_ahead == 1  # the ticket issued just before
        assert issued_body(kiosk)["estimate"] == {"minutes": guess.minutes, "ahead": 1, "source": "kiosk"}
    finally:
        offline.close()
    assert issued.estimate.minutes == 23


def test_a_wild_figure_is_held_within_what_the_hub_accepts(kiosk):
    wild = desk(kiosk, {"estimates": {"passport-rf": {"ahead": 10**9, "minutes": 10**9}}})
    try:
        wild.issue("passport-rf")
    finally:
        wild.close()
    assert issued_body(kiosk)["estimate"] == {"minutes": protocol.MAX_ESTIMATE_MINUTES,
                                              "ahead": protocol.MAX_ESTIMATE_AHEAD, "source": "hub"}


def ticket_event(estimate: object = None) -> dict:
    body = {"ticket": uuid.uuid4().hex, "number": "П001", "service": "passport-rf", "day": TEST_DAY.isoformat(),
            "priority": False, "issued_at": AT.isoformat(), "lang": "ru", "status_token": uuid.uuid4().hex}
    if estimate is not None:
        body["estimate"] = estimate
    return protocol.make_event(protocol.TICKET_ISSUED, "strogino", "kiosk-1", AT, body)


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path / "hub")
    device, _ = h.identity.enroll(h.identity.create_code("strogino", "kiosk"), "kiosk-1")
    yield h, device
    h.close()


def stored_estimate(h: Hub, event: dict) -> tuple:
    row = h.db.db["tickets"].get(event["body"]["ticket"])
    return row["estimate_minutes"], row["estimate_ahead"], row["estimate_source"]


def test_the_hub_keeps_the_printed_estimate_with_the_ticket(hub):
    h, device = hub
    printed, old_kiosk = ticket_event({"minutes": 12, "ahead": 3, "source": "hub"}), ticket_event()
    guessed = ticket_event({"minutes": 40, "ahead": 8, "source": "kiosk"})
    outcomes = h.events.ingest(device, [printed, old_kiosk, guessed])
    assert [o.status for o in outcomes] == ["stored"] * 3
    assert stored_estimate(h, printed) == (12, 3, "hub")
    assert stored_estimate(h, guessed) == (40, 8, "kiosk")
    assert stored_estimate(h, old_kiosk) == (None, None, "")  # a kiosk from before sends none
    # The same event again changes nothing, whatever it says now.
    resent = {**printed, "body": {**printed["body"], "estimate": {"minutes": 1, "ahead": 0, "source": "hub"}}}
    assert h.events.ingest(device, [resent])[0].status == "duplicate"
    assert stored_estimate(h, printed) == (12, 3, "hub")


@pytest.mark.parametrize("estimate", [
    {"minutes": -1, "ahead": 3, "source": "hub"},
    {"minutes": 12.5, "ahead": 3, "source": "hub"},
    {"minutes": True, "ahead": 3, "source": "hub"},
    {"minutes": 12, "ahead": "3", "source": "hub"},
    {"minutes": 12, "ahead": 3, "source": "phone"},
    {"minutes": 12, "ahead": 3},
    {"minutes": 12, "ahead": 3, "source": "hub", "extra": 1},
    {"minutes": 24 * 60 + 1, "ahead": 3, "source": "hub"},
    [12, 3, "hub"],
    "12 minutes",
])
def test_a_spoiled_estimate_gets_the_event_refused_like_any_bad_field(hub, estimate):
    h, device = hub
    event = ticket_event(estimate)
    outcome = h.events.ingest(device, [event])[0]
    assert outcome.status == "rejected" and "body.estimate" in outcome.reason
    assert h.db.db["tickets"].count == 0
