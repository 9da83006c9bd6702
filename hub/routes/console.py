"""Routes the operator console calls (hub/pages/console.html), signed in with a session cookie:
operators work the queue at the window they opened (hub/routes/window_queue.py); supervisors
also see the hall, the devices, the screens and the software releases, and may act at any window
of their center.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Cookie, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from hub.booked_visits import BookedVisits
from hub.help import HelpError
from hub.hub import Hub
from hub.operators import SUPERVISOR, Operator, SignInBusy, SignInError, SignInLocked
from hub.releases import ReleaseRefused
from hub.remote import CommandRefused
from hub.routes import window_queue
from hub.routes.common import DEVICE, SESSION_COOKIE, HubDep, OperatorDep, SupervisorDep
from mfc_edge import protocol

router = APIRouter(tags=["console"])
router.include_router(window_queue.router)
state = window_queue.state  # the window's state, where it was before the window's routes had a module


class SignIn(BaseModel):
    center: str = Field(min_length=1, max_length=40)
    login: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class HelpAction(BaseModel):
    request: str = Field(min_length=16, max_length=64)


# --- signing in ------------------------------------------------------------------

@router.post("/console/api/sign-in", responses={
    401: {"description": "wrong center, login or password"},
    429: {"description": "too many failed sign-ins for the login or from the address; see Retry-After"},
    503: {"description": "too many sign-ins at once; see Retry-After"}})
def sign_in(form: SignIn, request: Request, response: Response, hub: HubDep) -> dict[str, str]:
    try:
        who, token = hub.operators.sign_in(form.center, form.login, form.password,
                                           request.client.host if request.client else "")
    except SignInLocked as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(math.ceil(exc.retry_after))}) from None
    except SignInBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "2"}) from None
    except SignInError as exc:
        raise HTTPException(401, str(exc)) from None
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(hub.operators.session_ttl.total_seconds()))
    return {"name": who.name, "role": who.role, "center": who.center}


@router.post("/console/api/sign-out")
def sign_out(response: Response, hub: HubDep, mfc_session: str | None = Cookie(default=None)) -> dict[str, str]:
    if mfc_session:
        hub.operators.sign_out(mfc_session)
    response.delete_cookie(SESSION_COOKIE)
    return {"status": "signed out"}


# --- what supervisors see -------------------------------------------------------------

@router.get("/console/api/hall", responses={403: {"description": "the signed-in operator is not a supervisor"}})
def hall(hub: HubDep, who: SupervisorDep) -> dict[str, Any]:
    """Every open window with its operator and visitor, the day's figures per service, and
    the services' names in the center's catalog."""
    today = hub.hall.today(who.center)
    catalog = hub.catalogs.for_center(who.center)
    return {"windows": hub.hall.windows(who.center), "today": today,
            "service_names": {s: catalog.name(s) for s in today["services"]}}


@router.get("/console/api/bookings", responses={403: {"description": "the signed-in operator is not a supervisor"}})
def booked_visits(hub: HubDep, who: SupervisorDep,
                  day: str = Query("", pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")) -> dict[str, Any]:
    """The booked visits of the center's day (today unless `day`, YYYY-MM-DD): slot, code,
    check-in, ticket, first call, whether the 5-minute norm was met, no-shows; the tickets of a
    second check-in by a booking; and the day's counts (hub/booked_visits.py)."""
    try:
        date.fromisoformat(day or "2000-01-01")
    except ValueError:
        raise HTTPException(422, f"day: {day!r} is not a date") from None
    return BookedVisits(hub.db, hub.centers).day(who.center, day or None)


@router.get("/console/api/devices", responses={403: {"description": "the signed-in operator is not a supervisor"}})
def devices(hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    """For technicians: every device, when it was last heard from, its printer and buttons."""
    if who.role != SUPERVISOR:
        raise HTTPException(403, "only a supervisor can do this")
    return {"devices": hub.device_health.devices(who.center)}


@router.get("/console/api/screens", responses={403: {"description": "the signed-in operator is not a supervisor"}})
def screens(hub: HubDep, who: SupervisorDep) -> dict[str, Any]:
    """Every screen of the center with its latest screenshot (address, time, size); a new one is
    asked for with a screenshot command (below)."""
    return {"screens": hub.screens.screens(who.center)}


@router.post("/console/api/devices/{device_id}/{kind}",
             responses={403: {"description": "the signed-in operator is not a supervisor"},
                        404: {"description": "no such active device in the center"},
                        409: {"description": "one of the kind is pending, or a screenshot of a screenless device"}})
def remote_command(hub: HubDep, who: SupervisorDep, device_id: str = PathParam(pattern=DEVICE),
                   kind: str = PathParam(pattern=f"^({'|'.join(protocol.COMMAND_KINDS)})$")) -> Any:
    """Ask a device to restart its app, reboot or send a screenshot; it does so when it next
    asks for its commands (within ~15 s), and reports how it went."""
    try:
        row = hub.remote.request(who.center, device_id, kind, who.login)
    except CommandRefused as exc:
        raise HTTPException(409, str(exc)) from None
    if row is None:
        raise HTTPException(404, f"устройство {device_id} не найдено или отключено")
    return row


@router.get("/console/api/commands", responses={403: {"description": "the signed-in operator is not a supervisor"}})
def remote_commands(hub: HubDep, who: SupervisorDep) -> dict[str, Any]:
    """The latest command of each kind for each device of the center: who asked, when, and the result."""
    return {"commands": hub.remote.latest(who.center)}


# --- software releases ---------------------------------------------------------------------

RELEASES_SHOWN = 10  # the newest; older ones are in `mfc-edge hub release list`


def may_release(hub: Hub, who: Operator) -> bool:
    """A release is hub-wide, so promoting or halting one reaches every center the hub serves: a
    supervisor may do it on a hub that serves their center alone, the usual one hub per center.
    A hub shared by several centers leaves it to its technician (`mfc-edge hub release`)."""
    centers = {d["center"] for d in hub.identity.devices()} | {c["id"] for c in hub.centers.all()}
    return who.role == SUPERVISOR and centers <= {who.center}


@router.get("/console/api/releases", responses={403: {"description": "the signed-in operator is not a supervisor"}})
def releases(hub: HubDep, who: SupervisorDep) -> dict[str, Any]:
    """The newest releases, newest first, each with its channel and, among the supervisor's own
    center's devices, those running it, those it is offered to that have not taken it yet, and
    those that rolled it back; and whether this supervisor may promote and halt them."""
    shown = []
    for row in reversed(hub.releases.rows()[-RELEASES_SHOWN:]):
        progress = hub.releases.progress(row["number"], who.center)
        shown.append({"number": row["number"], "version": row["version"], "channel": row["channel"],
                      "halted": bool(row["halted_at"]), "published_at": row["published_at"],
                      "promoted_at": row["promoted_at"], "halted_at": row["halted_at"], "machines": row["machines"],
                      "progress": {"updated": len(progress.updated), "pending": len(progress.pending),
                                   "rolled_back": len(progress.rolled_back)},
                      "devices": {"updated": progress.updated, "pending": progress.pending,
                                  "rolled_back": progress.rolled_back}})
    return {"releases": shown, "may_act": may_release(hub, who)}


@router.post("/console/api/releases/{number}/{action}",
             responses={403: {"description": "not a supervisor, or the hub serves other centers too"},
                        409: {"description": "no such release, or a halted one to promote"}})
def release_action(hub: HubDep, who: SupervisorDep, number: int = PathParam(ge=1, le=2 ** 63 - 1),
                   action: str = PathParam(pattern="^(promote|halt)$")) -> dict[str, Any]:
    """Promote a pilot release to every device, or halt a release: no device takes it any more."""
    if not may_release(hub, who):
        raise HTTPException(403, "этот хаб обслуживает и другие центры: выпуском управляет техник хаба")
    try:
        (hub.releases.promote if action == "promote" else hub.releases.halt)(number)
    except ReleaseRefused as exc:
        raise HTTPException(409, str(exc)) from None
    return {"release": number, "status": "promoted" if action == "promote" else "halted"}


# --- help requests and ratings ------------------------------------------------------------

@router.get("/console/api/help")
def pending_help(hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    return {"requests": hub.help.pending(who.center)}


def _help_action(method: str) -> Callable[..., dict[str, Any]]:
    def endpoint(body: HelpAction, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
        try:
            found = getattr(hub.help, method)(who.center, body.request, who.name)
        except HelpError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"request": found["id"], "state": found["state"]}
    return endpoint


for _path, _method in (("acknowledge", "acknowledge"), ("close", "close")):
    router.add_api_route(f"/console/api/help/{_path}", _help_action(_method), methods=["POST"],
                         name=f"help_{_method}")


@router.get("/console/api/ratings")
def ratings(hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    return hub.ratings.today(who.center)

