"""The one wait estimate the hub gives: to kiosks for a new ticket (the queue feed's
`estimates`) and to phones for an issued one (the status page).

An estimate is the people called before the ticket times the recent mean service time,
shared by the windows open for its service.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from hub.db import HubDB, Row

DEFAULT_SERVICE_MINUTES = 10.0


@dataclass(frozen=True)
class WaitEstimate:
    """What a visitor is told: people served before them, and about how many minutes that takes."""
    ahead: int
    minutes: int


def wait_minutes(ahead: int, mean_service_minutes: float, open_windows: int) -> int:
    """The one wait formula of the hub, for new tickets (the queue feed) and issued ones (the
    phone page): the people ahead times the recent mean service time, shared by the windows
    open for the service (one, when none is), rounded up: told "about 10 minutes", a visitor
    minds waiting 11 far more than waiting 9."""
    # To a millionth first: 25 × 2.2 / 5 is 11.000000000000002 in floating point, 11 minutes and not 12.
    return math.ceil(round(ahead * mean_service_minutes / max(1, open_windows), 6))


class Estimates:
    def __init__(self, db: HubDB):
        self.db = db

    def people_ahead(self, ticket: Row) -> int:
        return self.db.db.execute(
            "SELECT count(*) FROM tickets WHERE center = ? AND service = ? AND state = 'waiting' AND id != ? "
            "AND (priority > ? OR (priority = ? AND issued_at < ?))",
            [ticket["center"], ticket["service"], ticket["id"], ticket["priority"], ticket["priority"],
             ticket["issued_at"]]).fetchone()[0]

    def mean_service_minutes(self, center: str) -> float:
        rows = list(self.db.db.query(
            "SELECT started_at, finished_at FROM tickets WHERE center = ? AND state = 'done' "
            "AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 30", [center]))
        if not rows:
            return DEFAULT_SERVICE_MINUTES
        minutes = [(datetime.fromisoformat(r["finished_at"]) - datetime.fromisoformat(r["started_at"])).total_seconds()
                   / 60 for r in rows]
        return max(1.0, sum(minutes) / len(minutes))

    def open_windows_by_service(self, center: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.db.db.query("SELECT services FROM windows WHERE center = ? AND open_since IS NOT NULL",
                                    [center]):
            for service in json.loads(row["services"] or "[]"):
                counts[service] = counts.get(service, 0) + 1
        return counts

    def _estimator(self, center: str) -> Callable[[str, int], WaitEstimate]:
        """(service, people ahead) -> the estimate, with the center's rates read once."""
        mean, windows = self.mean_service_minutes(center), self.open_windows_by_service(center)
        return lambda service, ahead: WaitEstimate(ahead, wait_minutes(ahead, mean, windows.get(service, 0)))

    def estimate(self, ticket: Row) -> WaitEstimate:
        """The wait of an issued ticket still in line: the people called before it, in call order."""
        return self._estimator(ticket["center"])(ticket["service"], self.people_ahead(ticket))

    def for_new_tickets(self, center: str, services: Iterable[str] = (),
                        waiting: Mapping[str, int] | None = None) -> dict[str, WaitEstimate]:
        """Per service, the wait of an ordinary ticket issued now: everyone waiting for the
        service is ahead of it. For `services` and every service someone waits for; `waiting`:
        the counts per service when the caller has just read them (the feed has)."""
        if waiting is None:
            waiting = {r[0]: r[1] for r in self.db.db.execute(
                "SELECT service, count(*) FROM tickets WHERE center = ? AND state = 'waiting' GROUP BY service",
                [center])}
        estimate = self._estimator(center)
        return {service: estimate(service, waiting.get(service, 0)) for service in sorted({*services, *waiting})}
