"""The integration API: the booking system posts bookings, the back office the readiness of
applications, each with an integration token (hub/integration_tokens.py); and the kiosks read
their center's copies with their device token (offline_cache/bookings.py).

Version 1 of this API is the `/api/v1` of its paths. A batch is taken item by item: the reply
counts what was created, changed, left unchanged and cancelled, and lists each refused item
with its place in the batch, the field and why. Posting the same batch again is harmless.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from hub.bookings import MAX_ITEMS, NotYours, Outcome
from hub.integration_tokens import Integration
from hub.routes.common import DeviceDep, HubDep, bearer, etag_matches, hub_of
from mfc_edge import protocol

router = APIRouter(tags=["integration"])


def current_integration(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Integration:
    """The booking or back-office system whose token came with the request; 401 without a valid
    one, 403 for a device's token (devices read, they never post)."""
    hub = hub_of(request)
    found = hub.integration_tokens.authenticate(credentials.credentials) if credentials else None
    if found is None:
        if credentials and hub.identity.authenticate(credentials.credentials):
            raise HTTPException(403, "a device token cannot post here: use an integration token "
                                     "(mfc-edge hub integration-token)")
        raise HTTPException(401, "unknown or revoked integration token", headers={"WWW-Authenticate": "Bearer"})
    return found


IntegrationDep = Annotated[Integration, Depends(current_integration)]


class BookingBatch(BaseModel):
    bookings: list[Any] = Field(max_length=MAX_ITEMS, description=(
        'Each {"id", "center", "code", "service", "slot_start", "slot_end", "initial"?, "state"?, "version"?}: '
        "id is the booking system's own; code what the visitor types or scans (spaces and dashes ignored); "
        "service a catalog id; slot times ISO 8601 (without an offset: the center's local time); initial at "
        'most one letter; state "active" (the default) or "cancelled"; version a whole number, higher for '
        "each change (a lower one than the hub has is ignored)."))


class ApplicationBatch(BaseModel):
    applications: list[Any] = Field(max_length=MAX_ITEMS, description=(
        'Each {"number", "center", "state": "not-ready" | "ready" | "collected"}.'))


BATCH_REPLIES: dict[int | str, dict[str, Any]] = {
    200: {"description": '{"created", "changed", "unchanged", "cancelled", "errors": []}'},
    401: {"description": "no valid integration token"},
    403: {"description": "a device token, or an item for a center the token does not post for: nothing stored"},
    422: {"description": 'some items refused: "errors": [{"item" (its index in the batch), "id", "field", '
                         '"error"}]; the others were taken, as the counts say. Fix them and post again: '
                         "posting is idempotent. A malformed batch as a whole: FastAPI's detail."},
}


def batch_reply(post: Any) -> Any:
    try:
        outcome: Outcome = post()
    except NotYours as exc:
        raise HTTPException(403, str(exc)) from None
    if outcome.errors:
        return JSONResponse(status_code=422, content={
            **outcome.reply(), "detail": f"{len(outcome.errors)} item(s) refused, the others taken: see errors"})
    return outcome.reply()


@router.post(protocol.BOOKINGS_IMPORT_PATH, responses=BATCH_REPLIES)
def post_bookings(body: BookingBatch, hub: HubDep, who: IntegrationDep) -> Any:
    """Create, change or cancel bookings, idempotently by id."""
    return batch_reply(lambda: hub.bookings.post(enumerate(body.bookings), who))


@router.post(protocol.APPLICATIONS_IMPORT_PATH, responses=BATCH_REPLIES)
def post_applications(body: ApplicationBatch, hub: HubDep, who: IntegrationDep) -> Any:
    """Report applications' readiness for collection, idempotently by center and number."""
    return batch_reply(lambda: hub.applications.post(enumerate(body.applications), who))


DEVICE_READ: dict[int | str, dict[str, Any]] = {
    304: {"description": "unchanged since the ETag given in If-None-Match"},
    401: {"description": "no valid device token"}}


def _device_answer(request: Request, response: Response, etag: str, body: dict[str, Any]) -> Any:
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return body


@router.get(protocol.BOOKINGS_TODAY_PATH, tags=["devices"], responses={
    200: {"description": '{"center", "day", "bookings": [{"id", "code", "service", "slot_start", "slot_end", '
                         '"initial", "state", "checked_in"}]}, by slot'}, **DEVICE_READ})
def device_bookings(request: Request, response: Response, hub: HubDep, who: DeviceDep) -> Any:
    """The bookings of the device's own center for its local today and tomorrow morning."""
    return _device_answer(request, response, *hub.bookings.for_devices(who.center))


@router.get(protocol.APPLICATIONS_PATH, tags=["devices"], responses={
    200: {"description": '{"center", "applications": [{"number", "state"}]}'}, **DEVICE_READ})
def device_applications(request: Request, response: Response, hub: HubDep, who: DeviceDep) -> Any:
    """The readiness of the device's own center's applications (collected ones for 30 days)."""
    return _device_answer(request, response, *hub.applications.for_devices(who.center))
