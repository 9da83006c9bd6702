"""SLA reports across the city's centers: the figures of a center's own report (hub/reports.py,
one definition each, read there) for a range of service days, per center, district or service,
for the whole range or as a series of days, weeks or months, over every center or one district.

They are summed in PostgreSQL over the projection of the hubs' records, reading the period's
tickets down the tickets' (center, day) index, so a district's month is one pass over its
tickets whatever the city's history holds (benchmarks/RESULTS.md). GROUPING SETS gives the
groups, each period's total in a series and the whole total in the same pass.

Where the city's copy of a ticket is thinner than the hub's, the figure is left out rather than
guessed: the visits put on hold and the outcomes of the services (the hub's "held" and
"services done / documents missing / refused / consultation") are not in the records a hub
forwards. A ticket never called that expired waited until its hub closed it (its finish when the
record carries one, else the end of its service day in the center's time zone). A ticket's rating
is looked for among the ratings of the range's days: a visitor rates the visit the day it ends.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from psycopg.rows import dict_row

from city.city import City
from mfc_edge.report_periods import (
    ESTIMATE_CLOSE_MINUTES,
    OVER_MINUTES,
    PERIODS,
    ReportError,
    check_range,
    period,
)

GROUPS = ("center", "district", "service")
FIGURES = ("issued", "walk_in", "served", "no_show", "cancelled", "waiting", "expired", "awaiting_event",
           "mean_wait_minutes", "p90_wait_minutes", "over_15_share", "mean_service_minutes", "estimated",
           "estimate_error_minutes", "estimate_within_5_share", "rated", "happy_share")
NO_DISTRICT = "без района / no district"

__all__ = ["GROUPS", "PERIODS", "ReportError", "make_report"]

# {key} and {start} are filled from fixed texts below, never from what a caller sent.
QUERY = """
WITH t AS (
    SELECT t.center, c.district, t.service, t.state, t.walk_in, t.awaiting_event, t.estimate_minutes,
           {start} AS start,
           NOT t.walk_in AND NOT t.awaiting_event AS in_line,
           t.first_called_at IS NOT NULL AS called,
           greatest(0, extract(epoch FROM
               CASE WHEN t.first_called_at IS NOT NULL THEN t.first_called_at
                    WHEN t.state IN ('cancelled', 'expired') AND t.finished_at IS NOT NULL THEN t.finished_at
                    WHEN t.state = 'expired' THEN (t.day + 1)::timestamp AT TIME ZONE c.timezone
                    ELSE %(made_at)s::timestamptz END
               - CASE WHEN t.slot_at > t.issued_at THEN t.slot_at ELSE t.issued_at END) / 60.0) AS wait,
           CASE WHEN t.state = 'done' AND t.started_at IS NOT NULL AND t.finished_at IS NOT NULL
                THEN greatest(0, extract(epoch FROM t.finished_at - t.started_at) / 60.0) END AS service_minutes,
           r.score, r.scale
    FROM tickets t
    JOIN centers c ON c.id = t.center
    LEFT JOIN ratings r ON r.center = t.center AND r.ticket = t.id
                       AND r.center = ANY(%(centers)s) AND r.day BETWEEN %(first)s AND %(last)s
    WHERE t.center = ANY(%(centers)s) AND t.day BETWEEN %(first)s AND %(last)s
), v AS (
    SELECT *, in_line AND called AND estimate_minutes IS NOT NULL AS estimated,
           abs(estimate_minutes - wait) AS estimate_error
    FROM t
)
SELECT start, {key} AS key, GROUPING({key}) AS all_groups, GROUPING(start) AS all_periods,
       count(*) AS issued,
       count(*) FILTER (WHERE walk_in) AS walk_in,
       count(*) FILTER (WHERE state = 'done') AS served,
       count(*) FILTER (WHERE state = 'no_show') AS no_show,
       count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE state = 'waiting') AS waiting,
       count(*) FILTER (WHERE state = 'expired') AS expired,
       count(*) FILTER (WHERE awaiting_event) AS awaiting_event,
       avg(wait) FILTER (WHERE in_line AND called) AS mean_wait,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY wait) FILTER (WHERE in_line AND called) AS p90_wait,
       count(*) FILTER (WHERE in_line) AS in_line,
       count(*) FILTER (WHERE in_line AND wait > %(over)s) AS over,
       avg(service_minutes) AS mean_service,
       count(*) FILTER (WHERE estimated) AS estimated,
       avg(estimate_error) FILTER (WHERE estimated) AS estimate_error,
       count(*) FILTER (WHERE estimated AND estimate_error <= %(close)s) AS estimate_close,
       count(score) AS rated,
       count(*) FILTER (WHERE score * 3 > scale * 2) AS happy
FROM v
GROUP BY GROUPING SETS ((start, {key}), (start), ())
"""
KEYS = {"center": "center", "district": "district", "service": "service"}
STARTS = {None: "NULL::date", "day": "t.day", "week": "date_trunc('week', t.day)::date",
          "month": "date_trunc('month', t.day)::date"}


def _mean(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def figures(row: dict[str, Any]) -> dict[str, Any]:
    """One row of the query as the hub's report gives its figures (hub/reports.Tally.figures)."""
    return {"issued": row["issued"], "walk_in": row["walk_in"], "served": row["served"], "no_show": row["no_show"],
            "cancelled": row["cancelled"], "waiting": row["waiting"], "expired": row["expired"],
            "awaiting_event": row["awaiting_event"],
            "mean_wait_minutes": _mean(row["mean_wait"]), "p90_wait_minutes": _mean(row["p90_wait"]),
            "over_15_share": _share(row["over"], row["in_line"]),
            "mean_service_minutes": _mean(row["mean_service"]),
            "estimated": row["estimated"], "estimate_error_minutes": _mean(row["estimate_error"]),
            "estimate_within_5_share": _share(row["estimate_close"], row["estimated"]),
            "rated": row["rated"], "happy_share": _share(row["happy"], row["rated"])}


def make_report(city: City, first: date, last: date, by: str = "center", every: str | None = None,
           district: str | None = None) -> dict[str, Any]:
    """The figures of the centers' service days `first`..`last` (of one district's centers when
    `district` is given) per `by`, per period of `every` when given, and in total."""
    check_range(first, last, by, GROUPS, every)
    made_at = city.now()
    sql = QUERY.format(key=KEYS[by], start=STARTS[every])
    with city.reports_db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        names = {r["id"]: r["name"] for r in cur.execute(
            "SELECT id, name FROM centers WHERE %(district)s::text IS NULL OR district = %(district)s::text",
            {"district": district})}
        # The centers named, not a join on their district: the planner then reads each center's
        # days down the (center, day) index rather than the whole city's tickets of the range.
        params = {"centers": list(names), "first": first, "last": last, "made_at": made_at,
                  "over": OVER_MINUTES, "close": ESTIMATE_CLOSE_MINUTES}
        # A report is one long statement: compiling it (JIT) costs more than it saves, and its
        # sorts for the percentiles stay in memory with a little more room than the default.
        cur.execute("SET LOCAL jit = off")
        cur.execute("SET LOCAL work_mem = '64MB'")
        found = list(cur.execute(sql.encode(), params))

    def span(start: date | None) -> tuple[str, str]:
        begins, ends = period(every, start) if every and start else (first, last)
        return max(begins, first).isoformat(), min(ends, last).isoformat()

    rows, periods, total = [], [], figures(_empty())
    for row in found:
        if row["all_periods"]:
            total = figures(row)
        elif row["all_groups"]:
            periods.append({"from": span(row["start"])[0], "to": span(row["start"])[1], **figures(row)})
        else:
            shown: dict[str, Any] = {"from": span(row["start"])[0], "to": span(row["start"])[1]} if every else {}
            key = row["key"]
            shown[by] = (key or NO_DISTRICT) if by == "district" else key
            if by == "center":
                shown["name"] = names.get(key) or key
            rows.append({**shown, **figures(row)})
    rows.sort(key=lambda r: (r.get("from", ""), r[by]))
    result: dict[str, Any] = {"district": district, "from": first.isoformat(), "to": last.isoformat(), "by": by,
                              "every": every, "made_at": made_at.isoformat(), "rows": rows, "total": total}
    if every:
        result["periods"] = sorted(periods, key=lambda p: p["from"])
    return result


def _empty() -> dict[str, Any]:
    """The figures of no tickets at all: the total when the range holds none."""
    zero = ("issued", "walk_in", "served", "no_show", "cancelled", "waiting", "expired", "awaiting_event", "in_line",
            "over", "estimated", "estimate_close", "rated", "happy")
    return {**dict.fromkeys(zero, 0), "mean_wait": None, "p90_wait": None, "mean_service": None,
            "estimate_error": None}
