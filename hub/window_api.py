"""HTTP endpoints of the window hardware: rating consoles, help buttons, operator keypads,
and what the operator console shows of them.

Devices authenticate with their token; a keypad acts on the queue through the same
`Queue` methods and `queue_reply` as the web console's buttons, for the operator who holds
the window.
"""
from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from hub.help import HelpError
from hub.identity import Device
from hub.operators import SUPERVISOR, Operator
from hub.ratings import served_ticket
from hub.web import operator_auth, queue_reply

API = "/api/v1"
WINDOW = r"^[0-9A-Za-zА-Яа-я-]{1,8}$"
# Keypad key -> the queue method the console's button of the same name calls.
KEYPAD_ACTIONS = {"call-next": "call_next", "recall": "recall", "no-show": "no_show", "done": "finish"}


class HelpAction(BaseModel):
    request: str = Field(min_length=16, max_length=64)


def window_routes(hub: Any, device: Callable[..., Device]) -> APIRouter:
    router = APIRouter()
    operator = operator_auth(hub)

    def console_device(who: Device = Depends(device)) -> Device:
        if who.role != "console":
            raise HTTPException(403, f"a {who.role} cannot act at a window; only a console device can")
        return who

    def own_window(window: str, who: Device) -> None:
        """A keypad acts at the window the technician enrolled it for, and nowhere else."""
        if who.window is None:
            raise HTTPException(403, "this console is not assigned to a window: enroll it with a code made by "
                                     "`mfc-edge hub enroll-code --role console --window N`")
        if who.window != window:
            raise HTTPException(403, f"this console belongs to window {who.window}, not {window}")

    @router.get(f"{API}/windows/{{window}}", tags=["window hardware"])
    def window_state(window: str = PathParam(pattern=WINDOW), who: Device = Depends(device)) -> dict[str, Any]:
        """The visitor at the window now, and the ticket a rating made now would belong to."""
        current = hub.queue.current(who.center, window)
        served = served_ticket(hub.db.db, who.center, window, hub.db.now())
        return {"window": window,
                "current": current and {"number": current["number"], "state": current["state"]},
                "served": served and {"ticket": served["id"], "number": served["number"]}}

    @router.post(f"{API}/windows/{{window}}/{{action}}", tags=["window hardware"],
                 responses={403: {"description": "not a console, or a console of another window"}, 409: {"description": "not possible now; the detail is for the operator's display"}})
    def keypad(action: str, window: str = PathParam(pattern=WINDOW), who: Device = Depends(console_device)) -> dict[str, Any]:
        if action not in KEYPAD_ACTIONS:
            raise HTTPException(404, f"unknown action {action!r}: expected one of {', '.join(KEYPAD_ACTIONS)}")
        own_window(window, who)
        if hub.queue.window(who.center, window) is None:
            raise HTTPException(409, f"window {window} is not open: open it on the console first")
        if action == "call-next":
            services = hub.queue.window_services(who.center, window)
            return queue_reply(lambda: hub.queue.call_next(who.center, window, services))
        return queue_reply(lambda: getattr(hub.queue, KEYPAD_ACTIONS[action])(who.center, window))

    @router.get(f"{API}/help/{{request}}", tags=["window hardware"],
                responses={404: {"description": "the hub has not received this request (yet)"}})
    def help_state(request: str, who: Device = Depends(device)) -> dict[str, str]:
        found = hub.help.get(who.center, request) if len(request) <= 64 else None
        if found is None or found["device"] != who.id:
            raise HTTPException(404, "no such help request from this device")
        return {"request": request, "state": found["state"]}

    @router.get(f"{API}/ratings/today", tags=["window hardware"])
    def ratings_for_screens(who: Device = Depends(device)) -> dict[str, Any]:
        """The day's ratings, for the waiting-area screens' satisfaction slide."""
        return hub.ratings.today(who.center)

    @router.get("/console/api/help", tags=["console"])
    def pending_help(who: Operator = Depends(operator)) -> dict[str, Any]:
        return {"requests": hub.help.pending(who.center)}

    for path, method in (("acknowledge", "acknowledge"), ("close", "close")):
        def endpoint(body: HelpAction, who: Operator = Depends(operator), method=method) -> dict[str, Any]:
            try:
                found = getattr(hub.help, method)(who.center, body.request, who.name)
            except HelpError as exc:
                raise HTTPException(409, str(exc)) from None
            return {"request": found["id"], "state": found["state"]}
        router.add_api_route(f"/console/api/help/{path}", endpoint, methods=["POST"], tags=["console"],
                             name=f"help_{method}")

    @router.get("/console/api/ratings", tags=["console"])
    def ratings(who: Operator = Depends(operator)) -> dict[str, Any]:
        return hub.ratings.today(who.center)

    @router.get("/console/api/devices", tags=["console"],
                responses={403: {"description": "the signed-in operator is not a supervisor"}})
    def devices(who: Operator = Depends(operator)) -> dict[str, Any]:
        """For technicians: every device, when it was last heard from, its printer and buttons."""
        if who.role != SUPERVISOR:
            raise HTTPException(403, "only a supervisor can do this")
        return {"devices": hub.device_health.devices(who.center)}

    return router
