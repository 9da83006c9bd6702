"""Urgent notices (hub/notices.py): supervisors post and withdraw them on the console; the
center's kiosks and screens read those in force with their token.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from hub.notices import ENDED_SHOWN, NoticeRefused, TooManyNotices, wire
from hub.routes.common import DeviceDep, HubDep, SupervisorDep, etag_matches
from mfc_edge import protocol

router = APIRouter(tags=["notices"])

SUPERVISOR_ONLY: dict[int | str, dict[str, Any]] = {403: {"description": "the signed-in operator is not a supervisor"}}
# The form's texts may carry spaces and line breaks the hub folds away; the limit that counts,
# protocol.MAX_NOTICE_CHARS, is checked after that, with a message naming the field.
RAW_TEXT_CHARS = 4 * protocol.MAX_NOTICE_CHARS


class NewNotice(BaseModel):
    text_ru: str = Field(max_length=RAW_TEXT_CHARS)
    text_en: str = Field(default="", max_length=RAW_TEXT_CHARS)
    services: list[str] = Field(default=[], max_length=200)
    # One of three: in so many minutes, until a time of today at the center ("14:00"), or a moment.
    expires_in_minutes: int | None = Field(default=None, ge=1, le=protocol.MAX_NOTICE_DAYS * 24 * 60)
    until: str | None = Field(default=None, max_length=8)
    expires_at: str | None = Field(default=None, max_length=40)


def for_console(row: dict[str, Any]) -> dict[str, Any]:
    return {**wire(row), "posted_by": row["posted_by"], "posted_by_name": row.get("posted_by_name"),
            "withdrawn_at": row["withdrawn_at"], "withdrawn_by": row["withdrawn_by"],
            "withdrawn_by_name": row.get("withdrawn_by_name")}


@router.get("/console/api/notices", responses=SUPERVISOR_ONLY)
def notices(hub: HubDep, who: SupervisorDep) -> dict[str, Any]:
    """The center's notices in force, newest first, and the latest ended ones with who posted
    and who withdrew them."""
    return {"current": [for_console(r) for r in hub.notices.current(who.center)],
            "ended": [for_console(r) for r in hub.notices.ended(who.center, ENDED_SHOWN)]}


@router.post("/console/api/notices", status_code=201, responses={
    **SUPERVISOR_ONLY, 409: {"description": "as many notices as the center may have are in force already"},
    422: {"description": "a field cannot be used: the detail names it and says why"}})
def post_notice(body: NewNotice, hub: HubDep, who: SupervisorDep) -> dict[str, Any]:
    """Post a notice to every kiosk and screen of the center; they show it within seconds."""
    try:
        expires = hub.notices.expiry(who.center, minutes=body.expires_in_minutes, until=body.until,
                                     at=body.expires_at)
        row = hub.notices.post(who.center, who.login, body.text_ru, body.text_en, body.services, expires)
    except TooManyNotices as exc:
        raise HTTPException(409, str(exc)) from None
    except NoticeRefused as exc:
        raise HTTPException(422, str(exc)) from None
    return {**for_console(row), "posted_by_name": who.name}


@router.post("/console/api/notices/{notice_id}/withdraw", responses={
    **SUPERVISOR_ONLY, 404: {"description": "no such notice in force in the center"}})
def withdraw_notice(hub: HubDep, who: SupervisorDep, notice_id: str = PathParam(max_length=64)) -> dict[str, Any]:
    row = hub.notices.withdraw(who.center, notice_id, who.login)
    if row is None:
        raise HTTPException(404, "такого действующего объявления нет: оно уже снято или истекло")
    return for_console(row)


@router.get(protocol.NOTICES_PATH, tags=["devices"], responses={
    200: {"description": '{"notices": [{"id", "text_ru", "text_en", "services", "posted_at", "expires_at"}]}, '
                         "newest first"},
    304: {"description": "unchanged since the ETag given in If-None-Match"},
    401: {"description": "no valid device token"}})
def device_notices(request: Request, response: Response, hub: HubDep, who: DeviceDep) -> Any:
    """The notices in force in the device's own center."""
    etag, body = hub.notices.for_devices(who.center)
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return body
