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
    def __init__(self, dsn: str, clock: Clock | None = None, *, pool_size: int = 10, reports_dsn: str | None = None):
        """`reports_dsn`: a read replica for the SLA reports, which read months of tickets; the
        primary (`dsn`) then serves ingest, the dashboard's figures now and everything else."""
        self.db = CityDB(dsn, max_size=pool_size)
        try:
            self.reports_db = CityDB(reports_dsn, max_size=pool_size, replica=True) if reports_dsn else self.db
        except Exception:
            self.db.close()
            raise
        self.now: Clock = clock or system_clock

    def close(self) -> None:
        if self.reports_db is not self.db:
            self.reports_db.close()
        self.db.close()
