"""The hub's content endpoints: the latest signed bundle of a device's center and role, and its assets.

Devices poll the bundle with If-None-Match, so an unchanged bundle costs one 304. Assets are
served by hash with Range support, so an interrupted download resumes where it stopped.
"""
from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.responses import FileResponse

from hub.bundles import Bundles
from hub.identity import Device

API = "/api/v1"
SHA256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the asset's SHA-256, lowercase hex")]


class BlobResponse(FileResponse):
    chunk_size = 1024 * 1024  # large reads: a 500 MB bundle goes out at loopback speed


def bundle_routes(bundles: Bundles, device: Callable[..., Device]) -> APIRouter:
    router = APIRouter(tags=["content"])

    @router.get(f"{API}/bundle", responses={
        200: {"description": 'the signed envelope {"manifest": base64, "signature": base64}',
              "content": {"application/json": {}}},
        304: {"description": "unchanged since the ETag given in If-None-Match"},
        401: {"description": "no valid device token"},
        404: {"description": "nothing published yet for this device's center and role"}})
    def latest_bundle(request: Request, who: Device = Depends(device)) -> Any:
        latest = bundles.latest(who.center, who.role)
        if latest is None:
            raise HTTPException(404, f"no bundle has been published for {who.role} devices of center {who.center}")
        etag = f'"{who.center}-{who.role}-{latest.version}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(latest.envelope, media_type="application/json", headers={"ETag": etag})

    @router.get(f"{API}/assets/{{sha256}}", response_class=BlobResponse, responses={
        200: {"description": "the asset's bytes", "content": {"application/octet-stream": {}}},
        206: {"description": "the requested range of the asset's bytes"},
        401: {"description": "no valid device token"},
        404: {"description": "no asset with this hash in a bundle of this device's center"},
        416: {"description": "the range starts beyond the end of the asset"}})
    def asset(sha256: SHA256, who: Device = Depends(device)) -> Any:
        path = bundles.blob_for(who.center, sha256)
        if path is None:
            raise HTTPException(404, f"no asset {sha256} in the bundles of center {who.center}")
        return BlobResponse(path, media_type="application/octet-stream")

    return router
