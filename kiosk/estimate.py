"""How long a new ticket will wait.

The hub makes the one estimate (its queue feed's `estimates`: per service, the people ahead
of a ticket issued now and the minutes, by the same rule as the phone page). Only while the
hub is out of reach does the kiosk guess from its own recent tickets, and the figure is
then marked approximate.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kiosk.tickets import TicketStore
from mfc_edge.catalog import Service

# Without the hub, tickets older than this are taken as served: the standard is a 15-minute wait.
RECENT = timedelta(minutes=15)


@dataclass(frozen=True)
class Estimate:
    people_ahead: int
    minutes: int
    approximate: bool


class Estimator:
    def __init__(self, store: TicketStore, windows: int, feed: Callable[[], dict[str, Any] | None] = lambda: None):
        self.store = store
        self.windows = max(1, windows)
        self.feed = feed

    def estimate(self, service: Service) -> Estimate:
        feed = self.feed()
        hub_estimate = _from_feed(feed, service.id) if feed is not None else None
        if hub_estimate is not None:
            return hub_estimate
        ahead = self.store.count_issued_since(service.id, self.store.now() - RECENT)
        return Estimate(ahead, math.ceil(ahead * service.avg_minutes / self.windows), approximate=True)


def _from_feed(feed: dict[str, Any], service_id: str) -> Estimate | None:
    """The hub's estimate for the service; a service it lists nobody for has nobody waiting.
    None when the feed has no estimates at all (a feed this kiosk cannot read)."""
    estimates = feed.get("estimates")
    if not isinstance(estimates, dict):
        return None
    found = estimates.get(service_id) or {}
    try:
        return Estimate(max(0, int(found.get("ahead", 0))), max(0, int(found.get("minutes", 0))), approximate=False)
    except (TypeError, ValueError, AttributeError):
        return None
