"""The console's routes for the queue at a window (hub/pages/console.html), signed in with a
session cookie: the window's state, opening and closing it, and every action on its visitor
(hub/visits.py has the model). The window's keypad (hub/routes/devices.py) calls the same queue
methods. A wrong moment is a 409 whose detail is for the operator; a bad value a 422.

Service ids are checked against the center's own catalog (hub/catalogs.py): a service a kiosk
bundle added can be opened at a window and transferred to like a built-in one.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from hub.hub import Hub
from hub.operators import SUPERVISOR, Operator
from hub.queue import QueueError
from hub.routes.common import WINDOW, HubDep, OperatorDep, queue_reply
from hub.visits import (
    HOLD_REASON_MAX,
    OUTCOME_NAMES,
    OUTCOMES,
    PAUSE_REASON_NAMES,
    PAUSE_REASONS,
    service_by_letter,
)

router = APIRouter(tags=["console"])


class WindowAction(BaseModel):
    window: str = Field(pattern=WINDOW)


class OpenWindow(WindowAction):
    services: list[str] = Field(min_length=1, max_length=100)


class Transfer(WindowAction):
    """Exactly one of the three."""
    to_service: str | None = Field(None, min_length=1, max_length=64)
    to_window: str | None = Field(None, pattern=WINDOW)
    to_operator: str | None = Field(None, min_length=1, max_length=60)


class CallNumber(WindowAction):
    number: str = Field(min_length=1, max_length=12)
    service: str | None = Field(None, min_length=1, max_length=64)


class ServiceAction(WindowAction):
    service: str = Field(min_length=1, max_length=64)


class Hold(WindowAction):
    reason: str = Field("", max_length=HOLD_REASON_MAX)


class Return(WindowAction):
    number: str | None = Field(None, min_length=1, max_length=12)


class Finish(WindowAction):
    outcomes: dict[str, str] = Field(default_factory=dict, max_length=100)


class Pause(WindowAction):
    reason: str = Field(min_length=1, max_length=20)



def holding(hub: Hub, who: Operator, window: str) -> None:
    """Operators act at the window they opened; supervisors at any window of their center."""
    held = hub.queue.window(who.center, window)
    if held and held["operator"] not in (None, who.login) and who.role != SUPERVISOR:
        raise HTTPException(409, f"window {window} is open by another operator")


def known_services(hub: Hub, center: str, services: list[str]) -> None:
    catalog = hub.catalogs.for_center(center)
    unknown = [s for s in services if s not in catalog]
    if unknown:
        raise HTTPException(422, f"unknown service {unknown[0]!r}")


# --- the queue at a window ---------------------------------------------------------

@router.get("/console/api/state")
def state(hub: HubDep, who: OperatorDep, window: str = "") -> dict[str, Any]:
    """The window's visitor and line, what the window may do next, and the names the console shows."""
    queue = hub.queue
    catalog = hub.catalogs.for_center(who.center)
    current = queue.current(who.center, window) if window else None
    held = queue.window(who.center, window) if window else None
    return {
        "operator": {"name": who.name, "role": who.role, "center": who.center},
        "window": held and {"services": json.loads(held["services"] or "[]"), "mine": held["operator"] == who.login,
                            "paused": queue.pause_of(who.center, window)},
        "services": [{"id": s.id, "name": s.name.ru} for s in catalog.services],
        "waiting": queue.waiting(who.center),
        "current": current and {"number": current["number"], "service": current["service"],
                                "state": current["state"], "priority": bool(current["priority"]),
                                # what the visitor's paper says, when the hub calls it otherwise
                                "printed": current["printed_number"] or current["number"],
                                # a booked visit's slot; a second check-in by a booking another ticket kept
                                "slot_at": current["slot_at"] or None,
                                "second_check_in": bool(current["booking_duplicate"]),
                                "walk_in": bool(current["walk_in"]), "awaiting_event": bool(current["awaiting_event"]),
                                "services": [{"id": s["service"], "name": catalog.name(s["service"]),
                                              "outcome": s["outcome"] or None}
                                             for s in queue.visit_services(current)]},
        "held": queue.held(who.center, window) if window else [],
        "open_windows": [w for w in queue.open_windows(who.center) if w != window],
        "operators": queue.operators(who.center),
        "outcomes": [{"id": o, "name": OUTCOME_NAMES[o]} for o in OUTCOMES],
        "pause_reasons": [{"id": r, "name": PAUSE_REASON_NAMES[r]} for r in PAUSE_REASONS],
        "calls": [c.__dict__ for c in queue.recent_calls(who.center)],
    }


@router.post("/console/api/open-window")
def open_window(body: OpenWindow, hub: HubDep, who: OperatorDep) -> dict[str, str]:
    known_services(hub, who.center, body.services)
    try:
        hub.queue.open_window(who.center, body.window, body.services, who.login, take_over=who.role == SUPERVISOR)
    except QueueError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"status": "open"}


@router.post("/console/api/close-window")
def close_window(body: WindowAction, hub: HubDep, who: OperatorDep) -> dict[str, str]:
    holding(hub, who, body.window)
    try:
        hub.queue.close_window(who.center, body.window)
    except QueueError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"status": "closed"}


@router.post("/console/api/call-next")
def call_next(body: WindowAction, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    holding(hub, who, body.window)
    services = hub.queue.window_services(who.center, body.window)
    return queue_reply(lambda: hub.queue.call_next(who.center, body.window, services))


def _visitor_action(method: str) -> Callable[..., dict[str, Any]]:
    """The endpoint of one action on the visitor at a window, `method` of the queue."""

    def endpoint(body: WindowAction, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
        holding(hub, who, body.window)
        return queue_reply(lambda: getattr(hub.queue, method)(who.center, body.window))
    return endpoint


for _path, _method in (("recall", "recall"), ("start", "start"), ("no-show", "no_show")):
    router.add_api_route(f"/console/api/{_path}", _visitor_action(_method), methods=["POST"],
                         name=f"console_{_method}")


@router.post("/console/api/transfer")
def transfer(body: Transfer, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    """Back in line keeping the time of issue: to another service, or to one window or operator."""
    if sum(x is not None for x in (body.to_service, body.to_window, body.to_operator)) != 1:
        raise HTTPException(422, "give exactly one of to_service, to_window, to_operator")
    if body.to_service is not None:
        known_services(hub, who.center, [body.to_service])
    holding(hub, who, body.window)
    return queue_reply(lambda: hub.queue.transfer(who.center, body.window, body.to_service, body.to_window,
                                                  body.to_operator))


@router.post("/console/api/call-number")
def call_number(body: CallNumber, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    """Call a given number out of turn; a number the hub has not received yet is recorded and
    completed when its kiosk's ticket arrives. Its service: `service`, else the one service of the
    catalog (or of this window) printed with the number's letter."""
    number = body.number.strip().upper()
    if body.service is not None:
        known_services(hub, who.center, [body.service])
    holding(hub, who, body.window)
    service = body.service or service_by_letter(hub.catalogs.for_center(who.center).services, number[:1],
                                                hub.queue.window_services(who.center, body.window))
    return queue_reply(lambda: hub.queue.call_number(who.center, body.window, number, service))


@router.post("/console/api/walk-in")
def walk_in(body: ServiceAction, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    """Serve a visitor without a ticket at once."""
    known_services(hub, who.center, [body.service])
    holding(hub, who, body.window)
    return queue_reply(lambda: hub.queue.walk_in(who.center, body.window, body.service))


@router.post("/console/api/hold")
def hold(body: Hold, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    """The visitor steps away (a fee, a copy) and comes back to this window by "return"."""
    holding(hub, who, body.window)
    return queue_reply(lambda: hub.queue.hold(who.center, body.window, body.reason))


@router.post("/console/api/return")
def return_held(body: Return, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    """Call a held visitor back: `number`, or the one held longest at this window."""
    holding(hub, who, body.window)
    number = body.number.strip().upper() if body.number else None
    return queue_reply(lambda: hub.queue.return_held(who.center, body.window, number))


@router.post("/console/api/add-service")
def add_service(body: ServiceAction, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    known_services(hub, who.center, [body.service])
    holding(hub, who, body.window)
    return queue_reply(lambda: hub.queue.add_service(who.center, body.window, body.service))


@router.post("/console/api/finish")
def finish(body: Finish, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    """The visit ends; each of its services gets its outcome, "done" unless `outcomes` says otherwise."""
    bad = [o for o in body.outcomes.values() if o not in OUTCOMES]
    if bad:
        raise HTTPException(422, f"unknown outcome {bad[0]!r}: expected one of {', '.join(OUTCOMES)}")
    holding(hub, who, body.window)
    return queue_reply(lambda: hub.queue.finish(who.center, body.window, body.outcomes))


@router.post("/console/api/pause")
def pause(body: Pause, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    if body.reason not in PAUSE_REASONS:
        raise HTTPException(422, f"unknown pause reason {body.reason!r}: expected one of {', '.join(PAUSE_REASONS)}")
    holding(hub, who, body.window)
    return queue_reply(lambda: hub.queue.pause(who.center, body.window, body.reason))


@router.post("/console/api/resume")
def resume(body: WindowAction, hub: HubDep, who: OperatorDep) -> dict[str, Any]:
    holding(hub, who, body.window)
    return queue_reply(lambda: hub.queue.resume(who.center, body.window))

