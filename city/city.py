"""The city's parts on one PostgreSQL database, shared by the HTTP API (city/app.py) and the
command line. City processes keep nothing of their own: any of them behind a load balancer
answers any request."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from city.db import CityDB

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class City:
    def __init__(self, dsn: str, clock: Clock | None = None, *, pool_size: int = 10):
        self.db = CityDB(dsn, max_size=pool_size)
        self.now: Clock = clock or system_clock

    def close(self) -> None:
        self.db.close()
