"""How long a new ticket will wait, from what this kiosk knows on its own.

Without the center's live queue the kiosk counts its own recent tickets for the service,
so the figure is always marked approximate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from mfc_edge.catalog import Service
from offline_cache.store import LocalStore

# Tickets older than this are taken as served: the center's standard is a 15-minute wait.
RECENT = timedelta(minutes=15)


@dataclass(frozen=True)
class Estimate:
    people_ahead: int
    minutes: int
    approximate: bool


class LocalEstimator:
    def __init__(self, store: LocalStore, windows: int):
        self.store = store
        self.windows = max(1, windows)

    def estimate(self, service: Service) -> Estimate:
        ahead = self.store.count_issued_since(service.id, self.store.now() - RECENT)
        minutes = math.ceil(ahead * service.avg_minutes / self.windows)
        return Estimate(ahead, minutes, approximate=True)
