"""The back office's feed of ticket events, version 1 (`/city/v1/feed`; docs/city-integration.md).

Read with an integration token (`mfc-edge city integration-token`); a hub's token is not one.
Errors are one line in "detail": 400 for a cursor or limit that cannot be used, 401 without a
valid token, 403 for a hub's token or a center the token does not read.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from city.hubs import Hubs
from city.integration import EVENT_TYPES, MAX_LIMIT, Feed, Integration, IntegrationError, IntegrationTokens
from city.routes.common import CityDep
from mfc_edge.city_protocol import FEED_PATH

router = APIRouter(tags=["integration"])
bearer = HTTPBearer(auto_error=False)


def current_integration(city: CityDep, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                               Depends(bearer)]) -> Integration:
    found = IntegrationTokens(city).authenticate(credentials.credentials) if credentials else None
    if found is None:
        if credentials and Hubs(city).authenticate(credentials.credentials):
            raise HTTPException(403, "a hub's token cannot read the feed: use an integration token "
                                     "(mfc-edge city integration-token)")
        raise HTTPException(401, "unknown or revoked integration token (mfc-edge city integration-token)",
                            headers={"WWW-Authenticate": "Bearer"})
    return found


IntegrationDep = Annotated[Integration, Depends(current_integration)]


class FeedEvent(BaseModel):
    cursor: str = Field(description="This event's place in the feed: `after=` it reads what follows")
    type: str = Field(description="One of: " + ", ".join(EVENT_TYPES))
    center: str = Field(description="The center's id, as `mfc-edge city centers` lists it")
    ticket: str | None = Field(description="The hub's id of the ticket")
    seq: int = Field(description="The hub's order of its changes: of two events of a ticket, the higher seq is "
                                 "the later state (webhooks may bring them out of order after a retry)")
    number: str | None = Field(description="What the visitor's ticket shows, e.g. А-012")
    service: str | None = Field(description="The service's id in the center's catalog")
    day: str | None = Field(description="The center's service day, YYYY-MM-DD")
    state: str | None = Field(description="The ticket's state after this event (the hub's name)")
    previous_state: str | None = Field(description="Its state before; null for the first the city heard of it")
    at: str = Field(description="When the hub recorded the change")
    issued_at: str | None = Field(description="When the ticket was issued (ISO 8601 with an offset)")
    called_at: str | None = Field(description="Its latest call to a window; null: not called yet")
    first_called_at: str | None = Field(description="Its first call (the end of its wait); null: not called yet")
    started_at: str | None = Field(description="When service began at the window; null: not yet")
    finished_at: str | None = Field(description="When it ended (served, no-show, cancelled); null: not yet")
    slot_at: str | None = Field(description="A booked visitor's slot; null: not booked")
    window: str | None = Field(description="The window that called or served it; null when none")
    walk_in: bool = Field(description="Served without waiting in line")
    replaces: str | None = Field(description="The ticket's earlier id, when a ticket called by number took its "
                                             "kiosk's id; the events of that id belong to this ticket")
    wait_s: int | None = Field(description="Seconds from issue (for a booked visitor, from the slot when later) "
                                           "to the first call; null before it")
    service_s: int | None = Field(description="Seconds from the start of service to its end; null before it")


class FeedPage(BaseModel):
    events: list[FeedEvent] = Field(description="In the feed's order; at most `limit`")
    next: str = Field(description="Pass as `after` to read on; store it once the events are processed")
    more: bool = Field(description="true: more events are ready now; false: wait a little before reading on")


@router.get(FEED_PATH, response_model=FeedPage, responses={
    400: {"description": "a cursor this feed did not give out, or a limit out of range"},
    401: {"description": "no valid integration token"},
    403: {"description": "a hub's token, or a center outside the token's centers or districts"}})
async def feed(city: CityDep, who: IntegrationDep,
               after: Annotated[str | None, Query(description="The `next` (or an event's `cursor`) of an earlier "
                                                              "reply; absent: from the first event; `now`: "
                                                              "from the present end, skipping the past")] = None,
               limit: Annotated[str | None, Query(description=f"Events per reply, 1 to {MAX_LIMIT}; "
                                                              "100 when absent")] = None,
               center: Annotated[str | None, Query(description="Only this center's events")] = None) -> Any:
    """Ticket events in the order the city stored them: issued, called, started, served, no-show,
    cancelled, expired, transferred. The feed never skips an event and never reorders it:
    a client that stores `next` after processing a page and reads on from it sees each event
    once (reading a page again gives the same events)."""
    try:
        return await run_in_threadpool(Feed(city).page, who, after, limit, center)
    except IntegrationError as exc:
        raise HTTPException(400, str(exc)) from None
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
