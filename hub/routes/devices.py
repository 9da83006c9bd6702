"""Routes the center's devices call with their token: enrollment, event sync, the queue feed,
the load chart and screenshots of screens, and the window hardware (rating consoles, help
buttons, operator keypads). Content bundles are in hub/routes/content.py.

Everything is pulled by the devices, which sit behind NAT: a supervisor's request for a new
screenshot, say, waits on the hub until the screen next asks.
"""
from __future__ import annotations

import base64
import hashlib
import time
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from hub.feed_watch import FeedWatch, TooManyWaiting
from hub.hub import Hub
from hub.identity import Device, EnrollmentError
from hub.load import DEFAULT_WEEKS, MAX_WEEKS
from hub.ratings import SERVED_RECENTLY, served_ticket
from hub.routes.common import API, WINDOW, DeviceDep, HubDep, etag_matches, hub_of, queue_reply, wait_unless_gone
from hub.routes.device_models import (
    PNG_BODY,
    BatchReply,
    CommandDone,
    CommandReport,
    Commands,
    EnrollReply,
    EnrollRequest,
    EventBatch,
    Feed,
    FeedCall,
    FeedEstimate,
    Heartbeat,
    HeartbeatReply,
    Load,
    Screenshot,
)
from hub.screens import ScreenshotError
from mfc_edge import protocol

SCREENSHOT_PATH = protocol.SCREENSHOT_PATH
FEED_WAIT_MAX_S = 25  # a device's long poll of the feed: under the minute proxies keep an idle request open
FEED_BUSY_RETRY_S = 5  # a device refused a place among the waiting asks again after this long (plus jitter)
# Keypad key -> the queue method the console's button of the same name calls.
# A keypad's keys and the queue's methods they call, the console's own (hub/visits.py). A key
# has no text to give: "hold" gives no reason, "return" brings back the visitor held longest,
# "pause" is a break.
KEYPAD_ACTIONS = {"call-next": "call_next", "recall": "recall", "no-show": "no_show", "done": "finish",
                  "hold": "hold", "return": "return_held", "pause": "pause", "resume": "resume"}

router = APIRouter()


# --- enrollment, events, the queue feed --------------------------------------

@router.post(protocol.ENROLL_PATH, response_model=EnrollReply, tags=["devices"],
             responses={403: {"description": "unknown, used or expired code"}})
def enroll(request: EnrollRequest, hub: HubDep) -> EnrollReply:
    try:
        found, token = hub.identity.enroll(request.code, request.device_id)
    except EnrollmentError as exc:
        raise HTTPException(403, str(exc)) from None
    return EnrollReply(center=found.center, device_id=found.id, role=found.role, window=found.window, token=token,
                       bundle_key=base64.b64encode(hub.bundles.public_key()).decode())


def parsed_json(body: bytes) -> Any:
    """A request's JSON body, read by orjson (fast, and it refuses NaN and Infinity), or a 422."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                                       "input": {}, "ctx": {"error": exc.msg}}]) from None


def _ingest(hub: Hub, who: Device, body: bytes, sender: tuple[str, float] | None = None) -> Response:
    batch = parsed_json(body)
    events = batch.get("events") if isinstance(batch, dict) else None
    if not isinstance(events, list) or len(events) > protocol.MAX_BATCH_EVENTS:
        raise RequestValidationError([{
            "type": "batch", "loc": ("body", "events"), "input": None,
            "msg": f"expected an object whose events are a list of at most {protocol.MAX_BATCH_EVENTS}"}])
    outcomes = hub.events.ingest(who, events, sender)
    # Built by hand rather than through BatchReply: validating up to 500 results the hub
    # itself just made is work on the ingest path for nothing. BatchReply documents the shape.
    return Response(orjson.dumps({"results": [{"id": o.id, "status": o.status, "reason": o.reason}
                                              for o in outcomes]}), media_type="application/json")


# The body is read and parsed here rather than through EventBatch: orjson parses a batch in
# about half the time FastAPI's json.loads takes, on the path benchmarks/hub_bench.py measures
# (figures in benchmarks/RESULTS.md). EventBatch still documents the body.
@router.post(protocol.EVENTS_PATH, response_model=BatchReply, tags=["devices"],
             responses={401: {"description": "no valid device token"}, 413: {"description": "batch too large"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": EventBatch.model_json_schema()}}}})
async def events(request: Request, who: DeviceDep) -> Response:
    return await run_in_threadpool(_ingest, hub_of(request), who, await request.body(),
                                   protocol.parse_device_clock(request.headers.get(protocol.DEVICE_CLOCK_HEADER)))


@router.get(protocol.FEED_PATH, response_model=Feed, tags=["queue"],
            responses={304: {"description": "unchanged since the ETag given in If-None-Match"},
                       503: {"description": "too many devices wait: ask again after Retry-After"}})
async def feed(request: Request, response: Response, who: DeviceDep,
               wait: Annotated[int, Query(ge=0, le=FEED_WAIT_MAX_S, description=(
                   "with If-None-Match: wait up to this many seconds for the feed to change "
                   "before answering 304 (a long poll: the push of calls to screens)"))] = 0) -> Any:
    hub = hub_of(request)
    version = await run_in_threadpool(hub.db.feed_version, who.center)
    # Said on every answer, so that a device knows this hub holds its long polls (an older hub
    # ignores `wait` and would answer at once: the device then keeps to plain polling).
    pushing = {protocol.FEED_WAIT_HEADER: str(FEED_WAIT_MAX_S)}
    if wait and request.headers.get("if-none-match") == _feed_etag(who.center, version):
        watch: FeedWatch = request.app.state.feed_watch
        try:
            # One waiting request per device (`per_ticket` counts per key): a device reconnecting
            # while its old request still hangs cannot take more places.
            await wait_unless_gone(request, watch.wait(who.center, f"device:{who.id}", version, wait))
        except TooManyWaiting:
            return JSONResponse({"detail": "too many devices wait: ask again later"}, status_code=503,
                                headers={"Retry-After": str(FEED_BUSY_RETRY_S), **pushing})
        version = await run_in_threadpool(hub.db.feed_version, who.center)
    etag = _feed_etag(who.center, version)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag, **pushing})
    response.headers.update({"ETag": etag, **pushing})
    return await run_in_threadpool(_feed, hub, who.center, version)


def _feed_etag(center: str, version: int) -> str:
    return f'"{center}-{version}"'


def _feed(hub: Hub, center: str, version: int) -> Feed:
    # Everything below changes the version when it changes (hub/db.py bump_feed), the
    # estimates' catalog too: publishing a kiosk bundle bumps it.
    queue = hub.queue
    waiting = queue.waiting(center)
    counts = {s: w["count"] for s, w in waiting.items()}
    catalog = hub.catalogs.for_center(center)
    estimates = queue.estimates.for_new_tickets(center, [s.id for s in catalog.services], counts)
    return Feed(center=center, version=version,
                waiting=counts,
                oldest_waiting_since={s: w["oldest"] for s, w in waiting.items()},
                calls=[FeedCall(**c.__dict__) for c in queue.recent_calls(center)],
                mean_service_minutes=queue.estimates.mean_service_minutes(center),
                open_windows=queue.estimates.open_windows_by_service(center),
                estimates={s: FeedEstimate(ahead=e.ahead, minutes=e.minutes) for s, e in estimates.items()})


# The body is parsed with orjson, which refuses NaN and Infinity: Python's json reads them, and
# FastAPI's 422 then fails to write the offending value back out (a 500 instead).
@router.post(protocol.HEARTBEAT_PATH, response_model=HeartbeatReply, tags=["devices"],
             responses={401: {"description": "no valid device token"},
                        403: {"description": "the beat names another center or device than the token's"},
                        413: {"description": f"over {protocol.MAX_HEARTBEAT_BYTES} bytes"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": Heartbeat.model_json_schema()}}}})
async def heartbeat(request: Request, who: DeviceDep) -> HeartbeatReply:
    """The device's state now; the hub keeps the latest, judges it online by the hub's clock
    (hub/heartbeats.py) and alerts on changes (hub/alerts.py)."""
    try:
        beat = Heartbeat.model_validate(parsed_json(await request.body()))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    if (beat.center, beat.device) != (who.center, who.id):
        raise HTTPException(403, f"this token is device {who.id} of center {who.center}, "
                                 f"not {beat.device} of {beat.center}")
    received = await run_in_threadpool(hub_of(request).heartbeats.record, who, beat.model_dump())
    return HeartbeatReply(received_at=received)


# --- screens: the load chart, screenshots ----------------------------------------

@router.get(protocol.LOAD_PATH, response_model=Load, tags=["signage"],
            responses={304: {"description": "unchanged since the ETag given in If-None-Match"}})
def load(request: Request, response: Response, hub: HubDep, who: DeviceDep,
         weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS)] = DEFAULT_WEEKS) -> Any:
    """Average visitors per weekday and hour over the last weeks, the busiest and the quietest
    hours; recomputed at most every few minutes. See hub/load.py for how days are counted."""
    etag, figures = hub.load.get(who.center, weeks)
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return figures


def _keep_screenshot(hub: Hub, who: Device, data: bytes) -> dict[str, Any]:
    row = hub.screens.store(who.center, who.id, data)
    hub.remote.fulfilled(who.center, who.id, protocol.SCREENSHOT, protocol.SCREENSHOT_SENT, row["taken_at"])
    return row


@router.put(SCREENSHOT_PATH, response_model=Screenshot, tags=["signage"], openapi_extra=PNG_BODY,
            responses={413: {"description": f"over {protocol.MAX_SCREENSHOT_BYTES} bytes"},
                       415: {"description": "not sent as image/png"},
                       422: {"description": "not a whole PNG image; the detail says why"}})
async def upload_screenshot(request: Request, who: DeviceDep) -> Any:
    """The device's screen as a PNG: kept as its latest screenshot, answering the screenshot
    commands asked of the device before it."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "image/png":
        raise HTTPException(415, f"send the screenshot as image/png, not {kind or 'no content type'}")
    data = await request.body()
    try:
        # In a worker thread: writing and syncing a few megabytes must not stall other requests.
        row = await run_in_threadpool(_keep_screenshot, hub_of(request), who, data)
    except ScreenshotError as exc:
        raise HTTPException(422, str(exc)) from None
    return Screenshot(device=who.id, taken_at=row["taken_at"], bytes=row["bytes"], width=row["width"],
                      height=row["height"])


# --- remote hands: what the center's supervisor asks of the device ----------------------

@router.get(protocol.COMMANDS_PATH, response_model=Commands, tags=["devices"])
def commands(hub: HubDep, who: DeviceDep) -> Any:
    """The supervisor's commands to this device not done yet (hub/remote.py): restart its app,
    reboot, send a screenshot. The device does each once and reports it."""
    return {"commands": hub.remote.deliver(who.center, who.id)}


@router.post(f"{protocol.COMMANDS_PATH}/{{command_id}}", response_model=CommandDone, tags=["devices"],
             responses={404: {"description": "no such command for this device"}})
def command_done(body: CommandReport, hub: HubDep, who: DeviceDep,
                 command_id: str = PathParam(max_length=64)) -> Any:
    """How the command went; a report repeated (the first answer was lost) keeps the first."""
    row = hub.remote.report(who.center, who.id, command_id, body.result)
    if row is None:
        raise HTTPException(404, f"no command {command_id} for device {who.id}")
    return row


# --- window hardware ------------------------------------------------------------------

def console_device(who: DeviceDep) -> Device:
    if who.role != "console":
        raise HTTPException(403, f"a {who.role} cannot act at a window; only a console device can")
    return who


ConsoleDep = Annotated[Device, Depends(console_device)]
WindowPath = Annotated[str, PathParam(pattern=WINDOW)]


def own_window(window: str, who: Device) -> None:
    """A keypad acts at the window the technician enrolled it for, and nowhere else."""
    if who.window is None:
        raise HTTPException(403, "this console is not assigned to a window: enroll it with a code made by "
                                 "`mfc-edge hub enroll-code --role console --window N`")
    if who.window != window:
        raise HTTPException(403, f"this console belongs to window {who.window}, not {window}")


@router.get(f"{API}/windows/{{window}}", tags=["window hardware"],
            responses={304: {"description": "unchanged since the ETag given in If-None-Match"},
                       403: {"description": "not a console, or a console of another window"},
                       503: {"description": "too many devices wait: ask again after Retry-After"}})
async def window_state(request: Request, window: WindowPath, who: ConsoleDep,
                       wait: Annotated[int, Query(ge=0, le=FEED_WAIT_MAX_S, description=(
                           "with If-None-Match: wait up to this many seconds for the window to change "
                           "before answering 304 (a long poll, as the feed's)"))] = 0) -> Any:
    """The visitor at the window now, and the ticket a rating made now would belong to; for the
    window's own console only. Held like the feed's long poll, so the keypad's display follows
    a call made on the web console at once."""
    own_window(window, who)
    hub = hub_of(request)
    state, etag, version, settles_in = await run_in_threadpool(_window_state, hub, who.center, window)
    pushing = {protocol.FEED_WAIT_HEADER: str(FEED_WAIT_MAX_S)}
    seen = request.headers.get("if-none-match")
    deadline = time.monotonic() + min(wait, settles_in)
    watch: FeedWatch = request.app.state.feed_watch
    # Every change of a window bumps its center's feed version, but so does every other window's:
    # the request waits on until this window's answer changes. The served visitor also goes by
    # time alone, which no version marks: the wait ends by then (`settles_in`).
    while wait and seen == etag and (left := deadline - time.monotonic()) > 0:
        try:
            await wait_unless_gone(request, watch.wait(who.center, f"window:{who.id}", version, left))
        except TooManyWaiting:
            return JSONResponse({"detail": "too many devices wait: ask again later"}, status_code=503,
                                headers={"Retry-After": str(FEED_BUSY_RETRY_S), **pushing})
        before = version
        state, etag, version, settles_in = await run_in_threadpool(_window_state, hub, who.center, window)
        if version == before:  # the wait ran out, the device went away or the hub is stopping
            break
        deadline = min(deadline, time.monotonic() + settles_in)
    if seen == etag:
        return Response(status_code=304, headers={"ETag": etag, **pushing})
    return JSONResponse(state, headers={"ETag": etag, **pushing})


def _window_state(hub: Hub, center: str, window: str) -> tuple[dict[str, Any], str, int, float]:
    """The window's state, its ETag, the feed version it was read at, and the seconds until the
    served visitor stops counting as served by time alone (no version bump marks that)."""
    version = hub.db.feed_version(center)
    now = hub.db.now()
    current = hub.queue.current(center, window)
    served = served_ticket(hub.db.db, center, window, now)
    state = {"window": window,
             "current": current and {"number": current["number"], "state": current["state"]},
             "served": served and {"ticket": served["id"], "number": served["number"]}}
    settles_in = float(FEED_WAIT_MAX_S)
    if served and served["finished_at"]:
        ends = datetime.fromisoformat(served["finished_at"]) + SERVED_RECENTLY
        settles_in = min(settles_in, max(0.0, (ends - now).total_seconds()) + 0.5)
    # The state itself in the tag, not only the version: a served visitor going by time changes
    # the answer without a new version.
    digest = hashlib.sha256(orjson.dumps(state, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return state, f'"{center}-{window}-{digest}"', version, settles_in


@router.post(f"{API}/windows/{{window}}/{{action}}", tags=["window hardware"],
             responses={403: {"description": "not a console, or a console of another window"},
                        409: {"description": "not possible now; the detail is for the operator's display"}})
def keypad(action: str, window: WindowPath, hub: HubDep, who: ConsoleDep) -> dict[str, Any]:
    """Act on the queue as the console's button of the same name does, for the operator
    holding the window."""
    if action not in KEYPAD_ACTIONS:
        raise HTTPException(404, f"unknown action {action!r}: expected one of {', '.join(KEYPAD_ACTIONS)}")
    own_window(window, who)
    queue = hub.queue
    if queue.window(who.center, window) is None:
        raise HTTPException(409, f"window {window} is not open: open it on the console first")
    if action == "call-next":
        services = queue.window_services(who.center, window)
        return queue_reply(lambda: queue.call_next(who.center, window, services))
    if action == "pause":
        return queue_reply(lambda: queue.pause(who.center, window, "break"))
    return queue_reply(lambda: getattr(queue, KEYPAD_ACTIONS[action])(who.center, window))


@router.get(f"{API}/help/{{request}}", tags=["window hardware"],
            responses={404: {"description": "the hub has not received this request (yet)"}})
def help_state(request: str, hub: HubDep, who: DeviceDep) -> dict[str, str]:
    found = hub.help.get(who.center, request) if len(request) <= 64 else None
    if found is None or found["device"] != who.id:
        raise HTTPException(404, "no such help request from this device")
    return {"request": request, "state": found["state"]}


@router.get(protocol.RATINGS_PATH, tags=["window hardware"])
def ratings_for_screens(hub: HubDep, who: DeviceDep) -> dict[str, Any]:
    """The day's ratings, for the waiting-area screens' satisfaction slide."""
    return hub.ratings.today(who.center)
