"""Device authentication for the hub's HTTP API: a bearer token from enrollment."""
from __future__ import annotations

from typing import Callable

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.identity import Device, Identity

bearer = HTTPBearer(auto_error=False)


def device_auth(identity: Identity) -> Callable[..., Device]:
    """A FastAPI dependency giving the device whose token came with the request, or 401."""

    def device(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Device:
        found = identity.authenticate(credentials.credentials) if credentials else None
        if found is None:
            raise HTTPException(401, "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"})
        return found

    return device
