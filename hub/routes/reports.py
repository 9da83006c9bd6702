"""The supervisor's reports (hub/reports.py, hub/report_plays.py): the figures of their own
center over a period, and the proof of play of its screens, as JSON for the console or as a
CSV or XLSX file to download."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response

from hub.report_export import XLSX_MEDIA, file_name, to_csv, to_xlsx
from hub.report_plays import check_plays_range, plays, plays_csv, plays_xlsx
from hub.reports import PERIODS, ReportError, Reports, check_range, parse_day, period
from hub.routes.common import HubDep, SupervisorDep

router = APIRouter(tags=["console"])

MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MEDIA}
RENDER: dict[str, dict[str, Callable[[dict[str, Any]], bytes]]] = {
    "report": {"csv": to_csv, "xlsx": to_xlsx}, "plays": {"csv": plays_csv, "xlsx": plays_xlsx}}
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON, or with format=csv|xlsx the file to download"},
    403: {"description": "the signed-in operator is not a supervisor"},
    422: {"description": "the period or grouping cannot be used: the detail says why"}}


def days_asked(start: str | None, end: str | None, kind: str | None, on: str | None) -> tuple[date, date]:
    """`from` and `to`, or a period (`day`, `week`, `month`) holding the day `on`."""
    if kind is not None:
        if start is not None or end is not None:
            raise ReportError("give either from and to, or period and on")
        return period(kind, parse_day(on or "", "on"))
    if start is None or end is None:
        raise ReportError(f"give from and to (YYYY-MM-DD), or period ({', '.join(PERIODS)}) and on")
    return parse_day(start, "from"), parse_day(end, "to")


def _reply(found: dict[str, Any], kind: str, output: str) -> Any:
    if output == "json":
        return found
    name = file_name(found, kind, output)
    return Response(RENDER[kind][output](found), media_type=MEDIA[output],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/console/api/report", responses=ANSWERS)
def report(hub: HubDep, who: SupervisorDep,
           start: str | None = Query(default=None, alias="from", max_length=10),
           end: str | None = Query(default=None, alias="to", max_length=10),
           kind: str | None = Query(default=None, alias="period", max_length=5),
           on: str | None = Query(default=None, max_length=10),
           by: str = Query(default="service", max_length=10),
           every: str | None = Query(default=None, max_length=5),
           output: str = Query(default="json", alias="format", pattern="^(json|csv|xlsx)$")) -> Any:
    """The figures of the supervisor's own center, per service, window or operator (per day,
    week or month with `every`) and in total, over a range of service days; definitions in
    hub/reports.py."""
    try:
        first, last = days_asked(start, end, kind, on)
        check_range(first, last, by, every or None)
    except ReportError as exc:
        raise HTTPException(422, str(exc)) from None
    found = Reports(hub.db, hub.centers).report(who.center, first, last, by, every or None)
    return _reply(found, "report", output)


@router.get("/console/api/plays", responses=ANSWERS)
def proof_of_play(hub: HubDep, who: SupervisorDep,
                  start: str | None = Query(default=None, alias="from", max_length=10),
                  end: str | None = Query(default=None, alias="to", max_length=10),
                  output: str = Query(default="json", alias="format", pattern="^(json|csv|xlsx)$")) -> Any:
    """What each screen of the supervisor's own center showed, item by item, over a range of
    service days; definitions in hub/report_plays.py."""
    try:
        first, last = days_asked(start, end, None, None)
        check_plays_range(first, last)
    except ReportError as exc:
        raise HTTPException(422, str(exc)) from None
    return _reply(plays(hub.db, hub.centers, who.center, first, last), "plays", output)
