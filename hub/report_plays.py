"""Proof of play: what each screen of a center showed over a range of days, item by item, from
the `slide.played` events its screens sent (mfc_edge/protocol.py, signage/player.py).

One row per screen (the device) and item of its playlist: the item's index, kind, asset (none
for a drawn slide) and content bundle (none for the built-in fallback), as a bundle's items
are numbered afresh. The figures, one definition each:

* **plays** — the times the item was shown to its end (a slide cut short or never drawn is a
  `slide.skipped` event and not a play).
* **seconds** — the seconds it was on the screen, summed over those plays.
* **first** and **last** — when the first and the last of those plays began.

A play belongs to the center's service day (its local date) on which it began. The events
table has no index by type, so the report reads the center's stored events through once; a
screen's event is stored once however often it was sent (hub/events.py), so a play counts once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hub.centers import Centers
from hub.db import HubDB, iso
from hub.reports import MAX_DAYS, ReportError
from mfc_edge.protocol import SLIDE_PLAYED
from mfc_edge.report_files import csv_bytes, span, xlsx_bytes

# The partial index of the plays (hub/schema.py, step 12) serves a query that spells the type out.
PLAYS_QUERY = (f"SELECT device, body FROM events WHERE type = '{SLIDE_PLAYED}' AND center = ? "
               "AND at >= ? AND at < ?")

COLUMNS = (("screen", "Экран / Screen"), ("bundle", "Выпуск / Bundle"), ("item", "Позиция / Item"),
           ("kind", "Вид / Kind"), ("asset", "Файл / Asset"), ("plays", "Показов / Plays"),
           ("seconds", "Секунд / Seconds"), ("first", "Первый показ / First"), ("last", "Последний / Last"))


def check_plays_range(first: date, last: date) -> None:
    if last < first:
        raise ReportError(f"the period ends ({last}) before it begins ({first})")
    if (last - first).days >= MAX_DAYS:
        raise ReportError(f"a report covers at most {MAX_DAYS} days")


@dataclass
class Played:
    plays: int = 0
    seconds: float = 0.0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, began: datetime, seconds: float) -> None:
        self.plays += 1
        self.seconds += seconds
        self.first = began if self.first is None or began < self.first else self.first
        self.last = began if self.last is None or began > self.last else self.last


def plays(db: HubDB, centers: Centers, center: str, first: date, last: date) -> dict[str, Any]:
    """The center's proof of play for its service days `first`..`last`."""
    check_plays_range(first, last)
    zone = centers.timezone(center)
    found: dict[tuple[str, str, int, str, str], Played] = {}
    # A day either side: an event's time is as its screen wrote it, in its own offset.
    span_of_events = [center, (first - timedelta(days=1)).isoformat(), (last + timedelta(days=2)).isoformat()]
    for event in db.db.query(PLAYS_QUERY, span_of_events):
        try:
            body = json.loads(event["body"])
            began = datetime.fromisoformat(body["started_at"])
            key = (event["device"], body.get("bundle") or "", int(body["item"]), str(body["kind"]),
                   body.get("asset") or "")
            seconds = float(body["duration_s"])
        except (TypeError, ValueError, KeyError):
            continue  # the hub checked each event's body when storing it; one from an older hub is skipped
        if first <= began.astimezone(zone).date() <= last:
            found.setdefault(key, Played()).add(began, seconds)
    rows: list[dict[str, Any]] = []
    for key in sorted(found):
        screen, bundle, item, kind, asset = key
        got = found[key]
        rows.append({"screen": screen, "bundle": bundle, "item": item, "kind": kind, "asset": asset,
                     "plays": got.plays, "seconds": round(got.seconds, 1),
                     # the center's local time: what a supervisor compares with the hall's day
                     "first": got.first.astimezone(zone).isoformat(timespec="seconds") if got.first else None,
                     "last": got.last.astimezone(zone).isoformat(timespec="seconds") if got.last else None})
    return {"center": center, "from": first.isoformat(), "to": last.isoformat(), "made_at": iso(db.now()),
            "rows": rows, "total": {"plays": sum(r["plays"] for r in rows),
                                    "seconds": round(sum(r["seconds"] for r in rows), 1)}}


def table(report: dict[str, Any]) -> list[list[Any]]:
    rows = [[row[key] for key, _ in COLUMNS] for row in report["rows"]]
    total = ["всего / total", "", "", "", "", report["total"]["plays"], report["total"]["seconds"], "", ""]
    return [[caption for _, caption in COLUMNS], *rows, total]


def plays_csv(report: dict[str, Any]) -> bytes:
    return csv_bytes(table(report))


def plays_xlsx(report: dict[str, Any]) -> bytes:
    heading = f"{report['center']} {span(report['from'], report['to'])} proof of play, {report['made_at']}"
    return xlsx_bytes(heading, table(report), "plays")
