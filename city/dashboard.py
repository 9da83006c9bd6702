"""What the city dashboard shows: every center's figures now with the totals of each district
and of the city, and a center's drill-down.

The figures are city/figures.py's, the same the public waiting times give. A silent center (its
hub not heard from for SILENT_AFTER_S, or never) is shown with its figures unknown (null), not
as zeros or as the last ones heard: its line may have grown since. The totals add up the
centers heard from and say how many were silent.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row

from city.city import City
from city.figures import center_figures
from city.services import service_name

# Figures a silent center does not have; its name, district, hub and last contact it keeps.
LIVE = ("waiting", "longest_wait_s", "windows_open", "windows_paused", "within_15_share", "issued_today",
        "called_today", "ratings_today", "happy_share", "devices_offline")
SUMMED = ("waiting", "windows_open", "windows_paused", "issued_today", "called_today", "ratings_today",
          "devices_offline")


def shown(figures: dict[str, Any]) -> dict[str, Any]:
    if not figures["silent"]:
        return figures
    return {**figures, **dict.fromkeys(LIVE)}


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The sums of the centers heard from; the longest wait of them all; happy share over all
    their ratings (each center's share weighted by its ratings)."""
    heard = [r for r in rows if not r["silent"]]
    found: dict[str, Any] = {key: sum(r[key] for r in heard) for key in SUMMED}
    waits = [r["longest_wait_s"] for r in heard if r["longest_wait_s"] is not None]
    found["longest_wait_s"] = max(waits) if waits else None
    rated = found["ratings_today"]
    found["happy_share"] = round(sum(r["happy_share"] * r["ratings_today"] for r in heard if r["ratings_today"])
                                 / rated, 3) if rated else None
    found["centers"], found["silent"] = len(rows), len(rows) - len(heard)
    return found


def overview(city: City) -> dict[str, Any]:
    now = city.now()
    with city.db.connection() as conn:
        rows = center_figures(conn, now)
    districts: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        districts.setdefault(row["district"], []).append(row)
    return {"made_at": now, "centers": [shown(r) for r in rows],
            "districts": [{"district": name, **totals(members)} for name, members in sorted(districts.items())],
            "total": totals(rows)}


WINDOWS = ('SELECT "window", open_since, paused_since, pause_reason, operator, services FROM windows '
           "WHERE center = %s ORDER BY open_since IS NULL, length(\"window\"), \"window\"")
OFFLINE = ("SELECT id, role, since FROM devices WHERE center = %s AND online IS FALSE AND NOT revoked "
           "ORDER BY since NULLS FIRST, id")
# Today's line by service: how many wait and since when the longest of them (its wait begins at
# its slot for a booked visitor, as in city/figures.py).
BY_SERVICE = ("SELECT service, count(*) AS waiting, "
              "min(CASE WHEN slot_at > issued_at THEN slot_at ELSE issued_at END) "
              "FILTER (WHERE NOT walk_in AND NOT awaiting_event) AS began "
              "FROM tickets WHERE center = %s AND day = %s AND state = 'waiting' GROUP BY service ORDER BY service")
# Today hour by hour in the center's time zone: tickets issued in the hour, visits finished
# served (the hub's 'done') in it.
HOURLY = ("SELECT h AS hour, "
          "count(*) FILTER (WHERE extract(hour FROM issued_at AT TIME ZONE %(tz)s) = h) AS issued, "
          "count(*) FILTER (WHERE state = 'done' AND extract(hour FROM finished_at AT TIME ZONE %(tz)s) = h) "
          "AS served "
          "FROM generate_series(0, 23) AS h LEFT JOIN tickets ON center = %(center)s AND day = %(day)s "
          "GROUP BY h ORDER BY h")


def drill_down(city: City, center: str) -> dict[str, Any] | None:
    """The center's figures, its windows, its devices offline, today's line by service and
    today's hours; None when the city has no such center."""
    now = city.now()
    with city.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        found = center_figures(conn, now, [center])
        if not found:
            return None
        figures = found[0]
        windows = list(cur.execute(WINDOWS, [center]))
        offline = list(cur.execute(OFFLINE, [center]))
        by_service = list(cur.execute(BY_SERVICE, [center, figures["today"]]))
        hours = list(cur.execute(HOURLY, {"tz": figures["timezone"], "center": center, "day": figures["today"]}))
    return {"made_at": now, "center": shown(figures), "silent": figures["silent"],
            "windows": [_window(w) for w in windows if w["open_since"] is not None],
            "windows_closed": [w["window"] for w in windows if w["open_since"] is None],
            "devices_offline": offline,
            "waiting_by_service": [_line(s, now) for s in by_service],
            "hours": [{"hour": h["hour"], "issued": h["issued"], "served": h["served"]} for h in hours]}


def _line(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    name_ru, name_en = service_name(row["service"])
    return {"service": row["service"], "name_ru": name_ru, "name_en": name_en, "waiting": row["waiting"],
            "longest_wait_s": _seconds(now, row["began"])}


def _window(w: dict[str, Any]) -> dict[str, Any]:
    return {"window": w["window"], "open_since": w["open_since"], "paused": w["paused_since"] is not None,
            "paused_since": w["paused_since"], "pause_reason": w["pause_reason"], "operator": w["operator"],
            "services": list(w["services"]), "service_names": [service_name(s)[0] for s in w["services"]]}


def _seconds(now: datetime, began: datetime | None) -> int | None:
    return None if began is None else max(0, int((now - began) / timedelta(seconds=1)))
