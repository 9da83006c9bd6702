"""Reports of a center's service over a period: the figures a supervisor answers for, per
service, window or operator, for the whole range or as a series of days, weeks or months, and
exported as CSV or XLSX (hub/report_export.py).

A period is a range of the center's service days, first and last included (a day, a Monday-to-
Sunday week or a calendar month are ranges too: `period`). The tickets counted are those whose
service day (the hub's, hub/placement.py) lies in it. One ticket is one visit: a visitor
transferred to another service, window or operator, or put on hold and brought back, is one
visit, counted once.

The figures, one definition each:

* **issued** — tickets of the period, walk-ins included.
* **walk-ins** — visitors served without a ticket from the kiosk (the operator made one at the
  window): they are in issued, served and the service figures, but in none of the wait figures,
  as they never stood in the line (so they cannot make the line look shorter than it was).
* **served** — tickets whose visit ended served (`done`).
* **no-shows** — tickets called to a window whose visitor did not come (`no_show`).
* **cancelled** — tickets their visitors gave up from the phone page before being called.
* **waiting** — tickets still in line when the report is made (today's line). A ticket at a
  window right then (called, being served, on hold) is in none of these counts but in issued.
* **expired** — tickets the hub closed at the end of their service day: never called, or sent
  away on hold (to pay a fee, make a copy) and never brought back.
* **held** — visits put on hold at least once.
* **awaiting event** — tickets an operator called by their printed number before the kiosk's
  event reached the hub; their time of issue is not known yet, so they are in none of the wait
  figures until the event arrives (then they count like any ticket).
* **wait** — from when the visitor's wait begins until the FIRST call of their ticket to a
  window. It begins at the time of issue; for a booked visitor at their slot, or at their
  check-in if they came after the slot (as the queue and the hall count it: hub/queue_order.py,
  hub/hall.py): waiting for one's slot is not a wait the center owes. A booked visitor called
  before the slot waited 0. A visitor transferred or put on hold and called again waited until
  their first call: what follows is part of a visit already begun.
* **mean wait** and **90th-percentile wait** — over the visitors called (a visitor transferred
  counts once), walk-ins and tickets awaiting their event left out: the mean, and the smallest
  wait that 90 of 100 of them did not exceed (nearest rank: the ⌈0.9·n⌉-th shortest). Minutes.
* **waited over 15 minutes** — the share of ALL tickets that stood in the line (issued, less
  walk-ins and tickets awaiting their event) whose wait exceeded 15 minutes, called or not. A
  ticket never called waited until it left the line: until its visitor cancelled it, until the
  hub expired it at the end of its service day, or, still waiting, until the moment the report
  is made (`made_at`). So a line of visitors still waiting for 20 minutes lowers the figure now.
* **mean service time** — over the served tickets: from the start of service (the visitor's
  arrival at the window, or the call when the operator did not mark it) to the finish, at the
  window that finished the visit; for a visitor put on hold, the time away is part of it (the
  queue keeps the first start). In minutes.
* **services done / documents missing / refused / consultation** — the services of finished
  visits by their outcome (one visit may have several: a life situation is one visit); each
  counts in the row of its own service, and of the window and operator that finished the visit.
* **estimates**, **estimate's mean error** and **estimate within 5 min** — over the tickets
  called (not walk-ins) whose printed slip carried a wait estimate: how many, the mean of
  |printed minutes − wait| (the wait above), and the share where that difference is at most 5.
* **happy share** — of the rated served tickets of the group, those rated at the top of the
  scale (hub/ratings.py: 4 or 5 of 5, 3 of 3). A rating the hub could not attach to a ticket
  belongs to no ticket and is left out.

Groups: per **service**, the service a ticket ended in (after any transfers); per **window**, the
window that last called it; per **operator**, the operator who last called or served it (named
from the center's operators); tickets never called form the row "не вызван / not called".
The total row is the whole center. With `every`, each group has a row per day, week or month of
the range (clipped to it), and the totals are given per period too.

One query reads the period's tickets down the (center, day, number) index, each with its first
call, expiry and hold from the history (index on ticket) and its rating; another the outcomes of
their services; the figures are summed here. A busy center's month (~21,000 tickets) takes under
a second (benchmarks/RESULTS.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hub.centers import Centers
from hub.db import HubDB, Row, iso
from hub.ratings import is_happy
from mfc_edge.report_periods import ESTIMATE_CLOSE_MINUTES, OVER_MINUTES, period
from mfc_edge.report_periods import MAX_DAYS as MAX_DAYS
from mfc_edge.report_periods import PERIODS as PERIODS
from mfc_edge.report_periods import TOTAL as TOTAL
from mfc_edge.report_periods import ReportError as ReportError
from mfc_edge.report_periods import check_range as shared_check_range
from mfc_edge.report_periods import parse_day as parse_day

GROUPS = ("service", "window", "operator")
OUTCOMES = ("done", "documents_missing", "refused", "consultation")
NOT_CALLED = "не вызван / not called"
NO_OPERATOR = "не записан / not recorded"  # called before the hub kept who called


def check_range(first: date, last: date, by: str, every: str | None = None) -> None:
    shared_check_range(first, last, by, GROUPS, every)


def _minutes(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


def wait_began(ticket: Row) -> str:
    """Issue time; a booked visitor's slot, or check-in when later (hub/queue_order.due_at)."""
    return max(ticket["slot_at"], ticket["issued_at"]) if ticket["slot_at"] else ticket["issued_at"]


def wait_ended(ticket: Row, made_at: str) -> str:
    """The first call; for a ticket never called, when it left the line, or now if it has not."""
    if ticket["first_called"]:
        return str(ticket["first_called"])
    if ticket["state"] == "expired" and ticket["expired_at"]:
        return str(ticket["expired_at"])
    if ticket["state"] == "cancelled" and ticket["finished_at"]:
        return str(ticket["finished_at"])
    return made_at


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


@dataclass(slots=True)
class Visit:
    """What one ticket adds to every tally it is counted in, worked out once."""
    counted: tuple[str, ...]  # its state, and was_walk_in, was_held, was_awaiting_event when so
    in_line: bool  # neither a walk-in nor awaiting its event: in the wait figures
    wait: float  # minutes, when in line
    called: bool
    estimate_error: float | None
    service: float | None
    rating: bool | None  # happy or not; None when not rated


def visit(ticket: Row, made_at: str) -> Visit:
    # The flags are counted apart from the states: a ticket on hold right now is in state 'held' too.
    counted = (ticket["state"], *(f"was_{flag}" for flag in ("walk_in", "held", "awaiting_event") if ticket[flag]))
    in_line = not ticket["walk_in"] and not ticket["awaiting_event"]
    wait = max(0.0, _minutes(wait_began(ticket), wait_ended(ticket, made_at))) if in_line else 0.0
    called = bool(ticket["first_called"])
    error = abs(ticket["estimate_minutes"] - wait) if in_line and called and ticket["estimate_minutes"] is not None \
        else None
    service = max(0.0, _minutes(ticket["started_at"], ticket["finished_at"])) \
        if ticket["state"] == "done" and ticket["started_at"] and ticket["finished_at"] else None
    rating = None if ticket["score"] is None else bool(is_happy(ticket["score"], ticket["scale"]))
    return Visit(counted, in_line, wait, called, error, service, rating)


@dataclass
class Tally:
    issued: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    in_line: int = 0  # issued less walk-ins and tickets awaiting their event: the over-15 denominator
    waits: list[float] = field(default_factory=list)  # of the visitors called
    over: int = 0
    service_minutes: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    estimate_errors: list[float] = field(default_factory=list)
    rated: int = 0
    happy: int = 0

    def add(self, v: Visit) -> None:
        self.issued += 1
        for key in v.counted:
            self.counts[key] = self.counts.get(key, 0) + 1
        if v.in_line:
            self.in_line += 1
            self.over += v.wait > OVER_MINUTES
            if v.called:
                self.waits.append(v.wait)
        if v.estimate_error is not None:
            self.estimate_errors.append(v.estimate_error)
        if v.service is not None:
            self.service_minutes.append(v.service)
        if v.rating is not None:
            self.rated += 1
            self.happy += v.rating

    def add_outcome(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def figures(self) -> dict[str, Any]:
        close = sum(error <= ESTIMATE_CLOSE_MINUTES for error in self.estimate_errors)
        return {"issued": self.issued, "walk_in": self.counts.get("was_walk_in", 0),
                "served": self.counts.get("done", 0),
                "no_show": self.counts.get("no_show", 0), "cancelled": self.counts.get("cancelled", 0),
                "waiting": self.counts.get("waiting", 0), "expired": self.counts.get("expired", 0),
                "held": self.counts.get("was_held", 0), "awaiting_event": self.counts.get("was_awaiting_event", 0),
                "mean_wait_minutes": _mean(self.waits),
                "p90_wait_minutes": round(p90(self.waits), 1) if self.waits else None,
                "over_15_share": _share(self.over, self.in_line),
                "mean_service_minutes": _mean(self.service_minutes),
                **{f"outcome_{o}": self.outcomes.get(o, 0) for o in OUTCOMES},
                "estimated": len(self.estimate_errors),
                "estimate_error_minutes": _mean(self.estimate_errors),
                "estimate_within_5_share": _share(close, len(self.estimate_errors)),
                "rated": self.rated, "happy_share": _share(self.happy, self.rated)}


QUERY = (
    "SELECT t.day, t.service, t.window, t.operator, t.state, t.issued_at, t.slot_at, t.started_at, t.finished_at, "
    "t.walk_in, t.awaiting_event, t.estimate_minutes, "
    "(SELECT min(h.at) FROM ticket_history h WHERE h.ticket = t.id AND h.state = 'called') AS first_called, "
    "CASE WHEN t.state = 'expired' THEN "  # looked up for the few expired only
    "(SELECT min(h.at) FROM ticket_history h WHERE h.ticket = t.id AND h.state = 'expired') END AS expired_at, "
    "EXISTS (SELECT 1 FROM ticket_history h WHERE h.ticket = t.id AND h.state = 'held') AS held, "
    "r.score, r.scale "
    "FROM tickets t LEFT JOIN ratings r ON r.center = t.center AND r.ticket = t.id "
    "WHERE t.center = ? AND t.day BETWEEN ? AND ?")
# The outcomes of the visits' services; CROSS JOIN keeps the tickets' (center, day) index outside.
OUTCOME_QUERY = (
    "SELECT t.day, v.service, coalesce(nullif(v.window, ''), t.window) AS window, "
    "coalesce(nullif(v.operator, ''), t.operator) AS operator, v.outcome "
    "FROM tickets t CROSS JOIN visit_services v ON v.ticket = t.id "
    "WHERE t.center = ? AND t.day BETWEEN ? AND ? AND v.outcome != ''")


def _window_order(key: str) -> tuple[int, int, str]:
    return (key == NOT_CALLED, len(key), key)  # windows as numbers sort: 2 before 10; not called last


def _group_order(by: str) -> Any:
    if by == "window":
        return _window_order
    return lambda key: (key == NOT_CALLED, key == NO_OPERATOR, key)  # named groups first, not called last


class Reports:
    def __init__(self, db: HubDB, centers: Centers):
        self.db, self.centers = db, centers

    def _group(self, row: Row, by: str) -> str:
        if row[by]:
            return str(row[by])
        called = by != "operator" or not row["window"]
        return NOT_CALLED if called else NO_OPERATOR

    def report(self, center: str, first: date, last: date, by: str, every: str | None = None) -> dict[str, Any]:
        """The figures of `center`'s service days `first`..`last` per `by` (and per period of
        `every` when given) and in total."""
        check_range(first, last, by, every)
        made_at = iso(self.db.now())
        periods: dict[str, tuple[str, str]] = {}  # a service day → the period it belongs to, clipped

        def period_of(day: str) -> tuple[str, str]:
            if day not in periods:
                begins, ends = period(every, date.fromisoformat(day)) if every else (first, last)
                periods[day] = (max(begins, first).isoformat(), min(ends, last).isoformat())
            return periods[day]

        groups: dict[tuple[tuple[str, str], str], Tally] = {}
        totals: dict[tuple[str, str], Tally] = {}
        total = Tally()
        asked = [center, first.isoformat(), last.isoformat()]
        for ticket in self.db.db.query(QUERY, asked):
            span, counted = period_of(ticket["day"]), visit(ticket, made_at)
            for tally in self._tallies(groups, totals, total, span, self._group(ticket, by), every):
                tally.add(counted)
        for done in self.db.db.query(OUTCOME_QUERY, asked):
            for tally in self._tallies(groups, totals, total, period_of(done["day"]), self._group(done, by), every):
                tally.add_outcome(done["outcome"])
        order = _group_order(by)
        names = self._names(center) if by == "operator" else {}
        rows = []
        for span, key in sorted(groups, key=lambda k: (k[0], order(k[1]))):
            row: dict[str, Any] = {"from": span[0], "to": span[1]} if every else {}
            row[by] = key
            if by == "operator":
                row["name"] = names.get(key, key)
            rows.append({**row, **groups[(span, key)].figures()})
        found = {"center": center, "from": first.isoformat(), "to": last.isoformat(), "by": by, "every": every,
                 "made_at": made_at, "rows": rows, "total": total.figures()}
        if every:
            found["periods"] = [{"from": s[0], "to": s[1], **totals[s].figures()} for s in sorted(totals)]
        return found

    @staticmethod
    def _tallies(groups: dict[tuple[tuple[str, str], str], Tally], totals: dict[tuple[str, str], Tally],
                 total: Tally, span: tuple[str, str], key: str, every: str | None) -> tuple[Tally, ...]:
        """The group's tally, the period's total (in a series only) and the whole total."""
        group = groups.get((span, key)) or groups.setdefault((span, key), Tally())
        if not every:
            return group, total
        return group, totals.get(span) or totals.setdefault(span, Tally()), total

    def _names(self, center: str) -> dict[str, str]:
        return {r["login"]: r["name"] or r["login"] for r in self.db.db.query(
            "SELECT login, name FROM operators WHERE center = ?", [center])}
