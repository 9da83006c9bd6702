"""Routes the devices' updater calls with its token: the release to run, and its wheels.

The updater (offline_cache/software_update.py) asks for the release every 15 minutes with
If-None-Match, so an unchanged answer costs one 304. Wheels are served by hash with Range
support, so a download cut by a flaky LAN resumes where it stopped, and only those of a release
offered to the asking device: a pilot release stays with the pilots.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi import Path as PathParam

from hub.routes.common import DeviceDep, HubDep
from hub.routes.content import BlobResponse
from mfc_edge import release

SHA256 = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$", description="the wheel's SHA-256, lowercase hex")]

router = APIRouter(tags=["software"])


@router.get(release.RELEASE_PATH, responses={
    200: {"description": 'the newest release for this device: {"envelope": {"manifest": base64, '
                         '"signature": base64}, "channel": "pilot" or "stable"}'},
    204: {"description": "no release is offered to this device for this machine"},
    304: {"description": "unchanged since the ETag given in If-None-Match"},
    401: {"description": "no valid device token"}})
def latest_release(request: Request, hub: HubDep, who: DeviceDep,
                   machine: Annotated[str, Query(pattern="^(" + "|".join(release.MACHINES) + ")$")]) -> Any:
    offer = hub.releases.offer(who, machine)
    if offer is None:
        return Response(status_code=204)
    if request.headers.get("if-none-match") == offer.etag:
        return Response(status_code=304, headers={"ETag": offer.etag})
    body = b'{"channel":"' + offer.channel.encode() + b'","envelope":' + offer.envelope + b"}"
    return Response(body, media_type="application/json", headers={"ETag": offer.etag})


@router.get(f"{release.WHEELS_PATH}/{{sha256}}", response_class=BlobResponse, responses={
    200: {"description": "the wheel's bytes", "content": {"application/octet-stream": {}}},
    206: {"description": "the requested range of the wheel's bytes"},
    401: {"description": "no valid device token"},
    404: {"description": "no wheel with this hash in a release offered to this device"},
    416: {"description": "the range starts beyond the end of the wheel"}})
def wheel(sha256: SHA256, hub: HubDep, who: DeviceDep) -> Any:
    path = hub.releases.wheel_for(who, sha256)
    if path is None:
        raise HTTPException(404, f"no wheel {sha256} in a release offered to device {who.id}")
    return BlobResponse(path, media_type="application/octet-stream")
