"""The kiosk shows the hub's wait estimate; only without the hub does it guess, and says so."""
from __future__ import annotations

from kiosk.estimate import Estimate, Estimator


def estimator(kiosk, feed):
    return Estimator(kiosk.store, windows=2, feed=lambda: feed)


def test_the_hubs_figures_are_shown_as_they_are(kiosk):
    passport = kiosk.catalog.service("passport-rf")
    feed = {"estimates": {"passport-rf": {"ahead": 7, "minutes": 23}}, "waiting": {"passport-rf": 99}}
    assert estimator(kiosk, feed).estimate(passport) == Estimate(7, 23, approximate=False)
    # A service the hub lists nobody for has nobody waiting.
    assert estimator(kiosk, {"estimates": {}}).estimate(passport) == Estimate(0, 0, approximate=False)


def test_without_the_hub_or_with_a_feed_it_cannot_read_the_kiosk_guesses_and_says_so(kiosk):
    passport = kiosk.catalog.service("passport-rf")
    for _ in range(3):
        kiosk.store.issue_ticket(service_id="passport-rf", letter="П")
    guess = Estimate(3, -(-3 * passport.avg_minutes // 2), approximate=True)
    assert estimator(kiosk, None).estimate(passport) == guess
    for unreadable in ({"waiting": {"passport-rf": 1}}, {"estimates": {"passport-rf": {"ahead": "many"}}},
                       {"estimates": ["passport-rf"]}):
        assert estimator(kiosk, unreadable).estimate(passport) == guess
