"""The figures of each center right now, one definition for the city's dashboard and its public
waiting times, so the two never disagree (README, "A city of centers").

They are read from the projection of the hubs' records (city/ingest.py) and match the hub's own
definitions (hub/reports.py, hub/hall.py, hub/ratings.py):

* **today** — the center's current service day: the city's clock in the center's time zone.
* **waiting** — tickets of today still in line (state 'waiting'); a ticket at a window, on hold
  or finished is not waiting.
* **longest_wait_s** — seconds from when the longest of them began to wait until now; a wait
  begins at the ticket's issue, for a booked visitor at their slot, or at check-in if later
  (hub/reports.wait_began). None when nobody waits.
* **windows_open** — windows open now (paused or not); **windows_paused**, those of them paused.
* **within_15_share** — 1 less the hub's "waited over 15 minutes" share (hub/reports.py) over
  today's tickets that stood in the line (not walk-ins, not awaiting their kiosk's event): a
  ticket's wait ends at its first call, or, never called, when it was cancelled or expired (its
  finish) or now if it still waits. None before the day's first ticket in line.
* **issued_today** — today's tickets, walk-ins included; **called_today** — those of them in
  the line that were called to a window at least once.
* **ratings_today** and **happy_share** — ratings of today attached to a ticket (a rating the hub
  could not attach to a ticket is left out, as in the hub's reports), and the share rated at the
  top of the scale (score·3 > scale·2: 4 or 5 of 5, 3 of 3). happy_share None without ratings.
* **devices_offline** — the center's devices its hub judges offline (not revoked ones).
* **last_contact** — when the city last heard from the center's hub (any post, a beat too);
  **silent** — never, or longer ago than SILENT_AFTER_S, or no hub: the center's figures are
  then not known now and are shown as unknown, not as zero.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from mfc_edge.city_protocol import SILENT_AFTER_S

OVER_SECONDS = 15 * 60

# One statement for every center: each LATERAL part reads down an index of its own table
# (tickets and ratings by (center, day)); today's tickets are read once for all their figures.
QUERY = """
WITH c AS (
    SELECT id, name, district, timezone, hub, (%(now)s::timestamptz AT TIME ZONE timezone)::date AS today
    FROM centers WHERE %(ids)s::text[] IS NULL OR id = ANY(%(ids)s::text[])
)
SELECT c.id, c.name, c.district, c.timezone, c.hub, c.today, h.last_contact,
       t.waiting, t.began, win.windows_open, win.windows_paused,
       t.issued, t.in_line, t.over, t.called, r.rated, r.happy, d.offline
FROM c
LEFT JOIN hubs h ON h.id = c.hub
CROSS JOIN LATERAL (
    SELECT count(*) AS windows_open, count(*) FILTER (WHERE paused_since IS NOT NULL) AS windows_paused
    FROM windows WHERE center = c.id AND open_since IS NOT NULL
) win
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE state = 'waiting') AS waiting,
           min(CASE WHEN slot_at > issued_at THEN slot_at ELSE issued_at END)
               FILTER (WHERE state = 'waiting' AND NOT walk_in AND NOT awaiting_event) AS began,
           count(*) AS issued,
           count(*) FILTER (WHERE NOT walk_in AND NOT awaiting_event) AS in_line,
           count(*) FILTER (WHERE NOT walk_in AND NOT awaiting_event AND
               CASE WHEN first_called_at IS NOT NULL THEN first_called_at
                    WHEN state IN ('cancelled', 'expired') AND finished_at IS NOT NULL THEN finished_at
                    ELSE %(now)s::timestamptz END
               - CASE WHEN slot_at > issued_at THEN slot_at ELSE issued_at END
               > make_interval(secs => %(over)s)) AS over,
           count(*) FILTER (WHERE NOT walk_in AND NOT awaiting_event AND first_called_at IS NOT NULL) AS called
    FROM tickets WHERE center = c.id AND day = c.today
) t
CROSS JOIN LATERAL (
    SELECT count(*) AS rated, count(*) FILTER (WHERE score * 3 > scale * 2) AS happy
    FROM ratings WHERE center = c.id AND day = c.today AND ticket IS NOT NULL
) r
CROSS JOIN LATERAL (
    SELECT count(*) AS offline FROM devices WHERE center = c.id AND online IS FALSE AND NOT revoked
) d
ORDER BY c.id
"""


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def center_figures(conn: psycopg.Connection, now: datetime,
                   centers: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The figures of every center (or of the ids in `centers`) at `now` (UTC-aware), by id.

    Each dict: id, name, district, timezone, hub, today (date), waiting, longest_wait_s (int or
    None), windows_open, windows_paused, within_15_share (or None), issued_today, called_today,
    ratings_today, happy_share (or None), devices_offline, last_contact (datetime or None),
    silent (bool). `conn` may have any row factory."""
    ids = None if centers is None else list(centers)
    params = {"now": now, "ids": ids, "over": OVER_SECONDS}
    silent_before = now - timedelta(seconds=SILENT_AFTER_S)
    result = []
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        # The planner's cost of the per-center look-ups is far above what they take; compiling
        # them (JIT) would cost more than running them.
        cur.execute("SET LOCAL jit = off")
        for r in cur.execute(QUERY, params).fetchall():
            began = r["began"]
            result.append({
                "id": r["id"], "name": r["name"], "district": r["district"], "timezone": r["timezone"],
                "hub": r["hub"], "today": r["today"],
                "waiting": r["waiting"],
                "longest_wait_s": None if began is None else max(0, int((now - began).total_seconds())),
                "windows_open": r["windows_open"], "windows_paused": r["windows_paused"],
                "within_15_share": None if not r["in_line"] else round(1 - r["over"] / r["in_line"], 3),
                "issued_today": r["issued"], "called_today": r["called"],
                "ratings_today": r["rated"], "happy_share": _share(r["happy"], r["rated"]),
                "devices_offline": r["offline"],
                "last_contact": r["last_contact"],
                "silent": r["last_contact"] is None or r["last_contact"] < silent_before,
            })
    return result
