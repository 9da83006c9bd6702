"""What the hub knows about each center besides its devices: its time zone and name.

The hub stores UTC times; anything that speaks of a center's day or hour (the load chart)
needs the center's time zone. A technician sets it with `mfc-edge hub set-center`; a center
without a row is taken to be in Moscow time, where most centers are.
"""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.db import HubDB, iso

DEFAULT_TIMEZONE = "Europe/Moscow"


class CenterError(ValueError):
    """A center setting that cannot be used; the message says why, for the technician."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or CenterError naming the bad value and what is expected."""
    try:
        if not name or name != name.strip():
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CenterError(f"time zone {name!r} is unknown: expected an IANA name like Europe/Moscow, "
                          "Asia/Yekaterinburg or UTC") from None


class Centers:
    def __init__(self, db: HubDB):
        self.db = db

    def set(self, center: str, timezone: str, name: str | None = None) -> dict[str, Any]:
        """Set a center's time zone (and name, when given; a name set before is kept otherwise)."""
        if not center or len(center) > 40:
            raise CenterError(f"center id {center!r}: expected 1 to 40 characters")
        zone(timezone)
        with self.db.transaction() as d:
            d.execute("INSERT INTO centers (id, timezone, name, updated_at) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT(id) DO UPDATE SET timezone = excluded.timezone, "
                      "name = coalesce(excluded.name, centers.name), updated_at = excluded.updated_at",
                      [center, timezone, name, iso(self.db.now())])
            return dict(d.table("centers").get(center))

    def get(self, center: str) -> dict[str, Any] | None:
        rows = list(self.db.db.query("SELECT * FROM centers WHERE id = ?", [center]))
        return rows[0] if rows else None

    def all(self) -> list[dict[str, Any]]:
        return list(self.db.db.query("SELECT * FROM centers ORDER BY id"))

    def timezone_name(self, center: str) -> str:
        found = self.get(center)
        return found["timezone"] if found else DEFAULT_TIMEZONE

    def timezone(self, center: str) -> ZoneInfo:
        return ZoneInfo(self.timezone_name(center))

    def today(self, center: str) -> tuple[str, str]:
        """The center's local date now, as the kiosks date its tickets (YYYY-MM-DD), and the
        moment that day began, in the hub's UTC spelling of times."""
        local = self.db.now().astimezone(self.timezone(center))
        began = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return local.date().isoformat(), iso(began)
