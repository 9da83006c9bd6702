"""What the hub's routers share: the Hub of the app, who is asking, and small reply helpers.

Routes find the hub through FastAPI dependencies (`HubDep`) rather than closing over it,
so each router is a plain module-level object and `create_app` only puts the hub in
`app.state` and includes them.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.hub import Hub
from hub.identity import Device
from hub.operators import SUPERVISOR, Operator
from hub.queue import QueueError
from mfc_edge import protocol

API = protocol.API
WINDOW = protocol.WINDOW_PATTERN
DEVICE = r"^[a-z0-9][a-z0-9-]{0,39}$"  # as at enrollment
SESSION_COOKIE = "mfc_session"

bearer = HTTPBearer(auto_error=False)


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(hub_of)]


def current_device(request: Request,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Device:
    """The device whose token came with the request, or 401."""
    found = hub_of(request).identity.authenticate(credentials.credentials) if credentials else None
    if found is None:
        raise HTTPException(401, "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"})
    return found


DeviceDep = Annotated[Device, Depends(current_device)]


def current_operator(request: Request, mfc_session: Annotated[str | None, Cookie()] = None) -> Operator:
    """The operator signed in with the session cookie, or 401."""
    found = hub_of(request).operators.session(mfc_session)
    if found is None:
        raise HTTPException(401, "signed out: sign in again")
    return found


OperatorDep = Annotated[Operator, Depends(current_operator)]


def current_supervisor(who: OperatorDep) -> Operator:
    """The signed-in operator if a supervisor, or 403."""
    if who.role != SUPERVISOR:
        raise HTTPException(403, "only a supervisor can do this")
    return who


SupervisorDep = Annotated[Operator, Depends(current_supervisor)]


def queue_reply(action: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """Run one operator action on the queue, from the console or a keypad; a wrong moment is a
    409 with a message for the operator."""
    try:
        ticket = action()
    except QueueError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"ticket": ticket and {"number": ticket["number"], "state": ticket["state"], "service": ticket["service"]}}


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly: W/"x" and "x" are the same tag."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


async def wait_unless_gone(request: Request, waiting: object) -> None:
    """Await `waiting` (a coroutine), cut short when the caller goes away: a closed tab or a
    restarted device must not hold its place among the waiting requests until the timeout."""
    assert asyncio.iscoroutine(waiting)
    wait_task = asyncio.ensure_future(waiting)

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    gone_task = asyncio.ensure_future(gone())
    done, pending = await asyncio.wait({wait_task, gone_task}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if wait_task in done:
        wait_task.result()  # TooManyWaiting goes to the caller
