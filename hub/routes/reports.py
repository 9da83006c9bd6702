"""The supervisor's reports (hub/reports.py): the figures of their own center over a period,
as JSON for the console or as a CSV or XLSX file to download."""
from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response

from hub.reports import PERIODS, ReportError, Reports, check_range, parse_day, period, title, to_csv, to_xlsx
from hub.routes.common import HubDep, SupervisorDep

router = APIRouter(tags=["console"])

FILES = {"csv": ("text/csv; charset=utf-8", to_csv),
         "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx)}


def days_asked(start: str | None, end: str | None, kind: str | None, on: str | None) -> tuple[date, date]:
    """`from` and `to`, or a period (`day`, `week`, `month`) holding the day `on`."""
    if kind is not None:
        if start is not None or end is not None:
            raise ReportError("give either from and to, or period and on")
        return period(kind, parse_day(on or "", "on"))
    if start is None or end is None:
        raise ReportError(f"give from and to (YYYY-MM-DD), or period ({', '.join(PERIODS)}) and on")
    return parse_day(start, "from"), parse_day(end, "to")


@router.get("/console/api/report", responses={
    200: {"description": "JSON, or with format=csv|xlsx the file to download"},
    403: {"description": "the signed-in operator is not a supervisor"},
    422: {"description": "the period or grouping cannot be used: the detail says why"}})
def report(hub: HubDep, who: SupervisorDep,
           start: str | None = Query(default=None, alias="from", max_length=10),
           end: str | None = Query(default=None, alias="to", max_length=10),
           kind: str | None = Query(default=None, alias="period", max_length=5),
           on: str | None = Query(default=None, max_length=10),
           by: str = Query(default="service", max_length=10),
           output: str = Query(default="json", alias="format", pattern="^(json|csv|xlsx)$")) -> Any:
    """The figures of the supervisor's own center, per service or window and in total, over
    a range of service days; definitions in hub/reports.py."""
    try:
        first, last = days_asked(start, end, kind, on)
        check_range(first, last, by)
    except ReportError as exc:
        raise HTTPException(422, str(exc)) from None
    found: dict[str, Any] = Reports(hub.db, hub.centers).report(who.center, first, last, by)
    if output == "json":
        return found
    media, render = FILES[output]
    name = f"report-{title(found).replace(' ', '-').replace('..', '-')}-{by}.{output}"
    return Response(render(found), media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
