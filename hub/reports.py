"""Reports of a center's service over a period: the figures a supervisor answers for, per
service or per window, and exported as CSV or XLSX.

A period is a range of the center's service days, first and last included (a day, a Monday-to-
Sunday week or a calendar month are ranges too: `period`). The tickets counted are those whose
service day (the hub's, hub/placement.py) lies in it. One ticket is one visitor.

The figures, one definition each:

* **issued** — tickets of the period.
* **served** — tickets whose visit ended served (`done`).
* **no-shows** — tickets called to a window whose visitor did not come (`no_show`).
* **cancelled** — tickets their visitors gave up from the phone page before being called.
* **waiting** — tickets still in line when the report is made (today's line). A ticket at a
  window right then (called, being served) is in none of these counts but in issued.
* **expired** — tickets never called before their service day ended.
* **wait** — from when the visitor's wait begins until the first call of their ticket to a
  window. It begins at the time of issue; for a booked visitor at their slot, or at their
  check-in if they came after the slot (as the queue and the hall count it: hub/queue_order.py,
  hub/hall.py): waiting for one's slot is not a wait the center owes. A booked visitor called
  before the slot waited 0. A transferred visitor's wait ends at their first call: what follows
  is part of a visit already begun.
* **mean wait** and **90th-percentile wait** — over the visitors called (served and no-shows;
  a visitor transferred counts once): the mean, and the smallest wait that 90 of 100 of them
  did not exceed (nearest rank: the ⌈0.9·n⌉-th shortest). In minutes.
* **waited over 15 minutes** — the share of ALL tickets issued whose wait exceeded 15 minutes,
  called or not. A ticket never called waited until it left the line: until its visitor
  cancelled it, until the hub expired it at the end of its service day, or, still waiting, until
  the moment the report is made (`made_at`). So a line of visitors still waiting for 20 minutes
  lowers the figure now, not only once they are called. The denominator is every issued ticket.
* **mean service time** — over the served tickets: from the start of service (the visitor's
  arrival at the window, or the call when the operator did not mark it) to the finish, at the
  window that finished the visit. In minutes.
* **happy share** — of the rated served tickets of the group, those rated at the top of the
  scale (hub/ratings.py: 4 or 5 of 5, 3 of 3). A rating the hub could not attach to a ticket
  belongs to no ticket and is left out.

Groups: per **service**, the service a ticket ended in (after any transfers); per **window**, the
window that last called it; tickets never called form the row "не вызван / not called".
The total row is the whole center.

One query reads the period's tickets down the (center, day, number) index, each with its first
call and its expiry from the history (index on ticket) and its rating; the figures are summed
here. A busy center's month (~21,000 tickets) takes under a second (benchmarks/RESULTS.md).
"""
from __future__ import annotations

import calendar
import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hub.centers import Centers
from hub.db import HubDB, Row, iso
from hub.ratings import is_happy

OVER_MINUTES = 15
GROUPS = ("service", "window")
PERIODS = ("day", "week", "month")
MAX_DAYS = 366
NOT_CALLED = "не вызван / not called"
TOTAL = "всего / total"

# (key, caption for the exports), in the order of the columns.
COLUMNS = (
    ("issued", "Выдано / Issued"), ("served", "Обслужено / Served"), ("no_show", "Неявки / No-shows"),
    ("cancelled", "Отменено / Cancelled"), ("waiting", "Ожидают / Waiting"), ("expired", "Истекло / Expired"),
    ("mean_wait_minutes", "Среднее ожидание, мин / Mean wait, min"),
    ("p90_wait_minutes", "90-й перцентиль ожидания, мин / 90th percentile wait, min"),
    ("over_15_share", "Доля ждавших > 15 мин / Share waited > 15 min"),
    ("mean_service_minutes", "Среднее обслуживание, мин / Mean service, min"),
    ("rated", "Оценок / Ratings"), ("happy_share", "Доля довольных / Happy share"),
)


class ReportError(ValueError):
    """A report that cannot be made as asked; the message says why, in one line."""


def parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ReportError(f"{name} {text!r}: give a date as YYYY-MM-DD") from None


def period(kind: str, day: date) -> tuple[date, date]:
    """The day, the Monday-to-Sunday week or the calendar month that holds `day`."""
    if kind == "week" and day > date.max - timedelta(days=6):
        raise ReportError(f"on {day}: no week of the calendar ends after it")
    if kind == "day":
        return day, day
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if kind == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    raise ReportError(f"period {kind!r}: one of {', '.join(PERIODS)}")


def check_range(first: date, last: date, by: str) -> None:
    if by not in GROUPS:
        raise ReportError(f"by {by!r}: one of {', '.join(GROUPS)}")
    if last < first:
        raise ReportError(f"the period ends ({last}) before it begins ({first})")
    if (last - first).days >= MAX_DAYS:
        raise ReportError(f"a report covers at most {MAX_DAYS} days")


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


@dataclass
class Tally:
    issued: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)  # of the visitors called
    over: int = 0
    service_minutes: list[float] = field(default_factory=list)
    rated: int = 0
    happy: int = 0

    def add(self, ticket: Row, made_at: str) -> None:
        self.issued += 1
        self.counts[ticket["state"]] = self.counts.get(ticket["state"], 0) + 1
        wait = max(0.0, _minutes(wait_began(ticket), wait_ended(ticket, made_at)))
        self.over += wait > OVER_MINUTES
        if ticket["first_called"]:
            self.waits.append(wait)
        if ticket["state"] == "done" and ticket["started_at"] and ticket["finished_at"]:
            self.service_minutes.append(max(0.0, _minutes(ticket["started_at"], ticket["finished_at"])))
        if ticket["score"] is not None:
            self.rated += 1
            self.happy += is_happy(ticket["score"], ticket["scale"])

    def figures(self) -> dict[str, Any]:
        def mean(values: list[float]) -> float | None:
            return round(sum(values) / len(values), 1) if values else None

        return {"issued": self.issued, "served": self.counts.get("done", 0),
                "no_show": self.counts.get("no_show", 0), "cancelled": self.counts.get("cancelled", 0),
                "waiting": self.counts.get("waiting", 0),
                "expired": self.counts.get("expired", 0),
                "mean_wait_minutes": mean(self.waits),
                "p90_wait_minutes": round(p90(self.waits), 1) if self.waits else None,
                "over_15_share": round(self.over / self.issued, 3) if self.issued else None,
                "mean_service_minutes": mean(self.service_minutes), "rated": self.rated,
                "happy_share": round(self.happy / self.rated, 3) if self.rated else None}


QUERY = (
    "SELECT t.service, t.window, t.state, t.issued_at, t.slot_at, t.started_at, t.finished_at, "
    "(SELECT min(h.at) FROM ticket_history h WHERE h.ticket = t.id AND h.state = 'called') AS first_called, "
    "(SELECT min(h.at) FROM ticket_history h WHERE h.ticket = t.id AND h.state = 'expired') AS expired_at, "
    "r.score, r.scale "
    "FROM tickets t LEFT JOIN ratings r ON r.center = t.center AND r.ticket = t.id "
    "WHERE t.center = ? AND t.day BETWEEN ? AND ?")


def _window_order(key: str) -> tuple[int, int, str]:
    return (key == NOT_CALLED, len(key), key)  # windows as numbers sort: 2 before 10; not called last


class Reports:
    def __init__(self, db: HubDB, centers: Centers):
        self.db, self.centers = db, centers

    def report(self, center: str, first: date, last: date, by: str) -> dict[str, Any]:
        """The figures of `center`'s service days `first`..`last` per `by` and in total."""
        check_range(first, last, by)
        made_at = iso(self.db.now())
        groups: dict[str, Tally] = {}
        total = Tally()
        for ticket in self.db.db.query(QUERY, [center, first.isoformat(), last.isoformat()]):
            key = ticket[by] or NOT_CALLED
            for tally in (groups.setdefault(key, Tally()), total):
                tally.add(ticket, made_at)
        order = sorted(groups, key=_window_order) if by == "window" else sorted(groups)
        return {"center": center, "from": first.isoformat(), "to": last.isoformat(), "by": by, "made_at": made_at,
                "rows": [{by: key, **groups[key].figures()} for key in order], "total": total.figures()}


def table(report: dict[str, Any]) -> list[list[Any]]:
    """The report as rows of cells, a header row first: one row per group, then the total."""
    by = report["by"]
    header = ["Услуга / Service" if by == "service" else "Окно / Window", *(caption for _, caption in COLUMNS)]
    rows = [[row[by], *(row[key] for key, _ in COLUMNS)] for row in report["rows"]]
    return [header, *rows, [TOTAL, *(report["total"][key] for key, _ in COLUMNS)]]


def title(report: dict[str, Any]) -> str:
    return f"{report['center']} {report['from']}..{report['to']}"


def to_csv(report: dict[str, Any]) -> bytes:
    """UTF-8 with a byte-order mark, which spreadsheets need to read the Cyrillic right;
    an empty cell where a figure has no visitors to count."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in table(report):
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(report: dict[str, Any]) -> bytes:
    from openpyxl import Workbook  # the hub extra's; only exports need it

    book = Workbook()
    sheet = book.active
    sheet.title = "report"
    sheet.append([f"{title(report)} ({report['by']}), {report['made_at']}"])
    for row in table(report):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
