"""Every answer of the hub carries the hub's clock (protocol.HUB_TIME_HEADER), to the microsecond.

Devices learn the hub's time from it and date by it (offline_cache/hub_time.py): the hub's
clock is the center's. It is the hub's own clock (HubDB.now(), which the demo sets by hand),
not the web server's `Date`, which has whole seconds and follows the machine's clock. Plain ASGI
like hub/limits.py, and outermost, so that even a refused request teaches a device the time.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hub.limits import Message, Receive, Scope, Send
from mfc_edge.protocol import HUB_TIME_HEADER
from mfc_edge.times import iso

_NAME = HUB_TIME_HEADER.lower().encode("ascii")


class HubTimeHeader:
    def __init__(self, app: Any, now: Callable[[], datetime]):
        self.app, self.now = app, now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_time(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Stamped as the answer starts, nearest the midpoint of the device's round trip.
                message["headers"] = [*message.get("headers", []), (_NAME, iso(self.now()).encode("ascii"))]
            await send(message)

        await self.app(scope, receive, send_with_time)
