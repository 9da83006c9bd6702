"""How long a new ticket will wait.

With the hub's queue feed at hand: the people waiting for the service × the recent mean
service time ÷ the windows open for it. Without it (hub out of reach), the kiosk counts
its own recent tickets for the service, and the estimate is marked approximate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from mfc_edge.catalog import Service
from kiosk.tickets import TicketStore

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
        if feed is not None:
            ahead = int(feed.get("waiting", {}).get(service.id, 0))
            windows = max(1, int(feed.get("open_windows", {}).get(service.id, 0)))
            minutes = math.ceil(ahead * float(feed.get("mean_service_minutes", service.avg_minutes)) / windows)
            return Estimate(ahead, minutes, approximate=False)
        ahead = self.store.count_issued_since(service.id, self.store.now() - RECENT)
        return Estimate(ahead, math.ceil(ahead * service.avg_minutes / self.windows), approximate=True)
