"""Headers every answer of the hub carries for browsers: a Content-Security-Policy that runs the
hub's own scripts and styles only (hub/pages/*.js, *.css; no inline ones, nothing from other
sites), no framing by other pages, no guessing of content types, no referrer (a phone page's
address holds its ticket's token).

Plain ASGI like hub/limits.py. An answer that sets its own Content-Security-Policy (the
development-only /docs page, `mfc-edge hub --docs`) keeps it.
"""
from __future__ import annotations

from typing import Any

from hub.limits import Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = ((b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
           (b"x-frame-options", b"DENY"),
           (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"))


class SecurityHeaders:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(name, value) for name, value in HEADERS if name not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
