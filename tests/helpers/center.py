"""A center in one process: a hub on a hand-set clock, and kiosks with clocks of their own that
reach it through the real `HubClient` and sync agent, over a transport that hands each request
to the hub's ASGI app (no sockets, no server) and that a test can cut like a network."""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict

from hardware.clock import ManualClock
from hub.api import Hub, create_app
from kiosk.tickets import Ticket, TicketStore
from mfc_edge import protocol
from offline_cache.hub_client import HubClient
from offline_cache.sync import SyncAgent, SyncError
from tests.helpers.day import MSK

CENTER = "strogino"


class AsgiCaller:
    """Runs requests through an ASGI app on one event loop of its own thread."""

    def __init__(self, app: Any):
        self.app = app
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="asgi", daemon=True)
        self._thread.start()

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        return asyncio.run_coroutine_threadsafe(self._call(method, url, headers, body), self.loop).result(timeout=30)

    async def _call(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        parts = urlsplit(url)
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": parts.scheme, "path": unquote(parts.path), "raw_path": parts.path.encode(),
                 "query_string": parts.query.encode(), "root_path": "", "client": ("127.0.0.1", 50000),
                 "server": (parts.hostname or "hub.test", parts.port or 443),
                 "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]}
        incoming = [{"type": "http.request", "body": body, "more_body": False}]
        answered = asyncio.Event()
        status, reply_headers, chunks = 500, [], []

        async def receive() -> dict[str, Any]:
            if incoming:
                return incoming.pop(0)
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, reply_headers
            if message["type"] == "http.response.start":
                status, reply_headers = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    answered.set()

        await self.app(scope, receive, send)
        return status, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in reply_headers], b"".join(chunks)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class AppTransport(BaseAdapter):
    """Hands each request to the hub's app in this process; `down` makes the hub unreachable."""

    def __init__(self, call: AsgiCaller):
        super().__init__()
        self.call, self.down = call, False

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        if self.down:
            raise requests.ConnectionError("the hub is out of reach")
        body = request.body or b""
        status, headers, content = self.call(request.method or "GET", request.url or "", dict(request.headers),
                                             body.encode() if isinstance(body, str) else body)
        reply = Response()
        reply.status_code, reply.request, reply.url = status, request, request.url or ""
        reply.headers = CaseInsensitiveDict(headers)
        reply._content = content
        return reply

    def close(self) -> None:
        pass


@dataclass
class InProcessKiosk:
    """One kiosk: its own clock, store, client and sync agent, opened again by `reboot`."""
    center: InProcessCenter
    device_id: str
    ticket_range: tuple[int, int]
    clock: ManualClock
    token: str
    transport: AppTransport
    store: TicketStore = field(init=False)
    hub: HubClient = field(init=False)
    sync: SyncAgent = field(init=False)

    def __post_init__(self) -> None:
        self._open()

    def _open(self) -> None:
        self.store = TicketStore(self.center.folder / f"{self.device_id}.sqlite", center_id=CENTER,
                                 device_id=self.device_id, timezone=MSK, ticket_range=self.ticket_range,
                                 clock=self.clock)
        self.hub = HubClient("https://hub.test", self.token, transport=self.transport)
        self.hub.keep_time(self.store)  # as offline_cache.device.Device does
        self.sync = SyncAgent(self.store, self.hub)

    def close(self) -> None:
        self.hub.close()
        self.store.close()

    def restart(self) -> None:
        """The program stops and starts again, in the same boot of the device."""
        self.close()
        self._open()

    def reboot(self, wall: datetime | None = None) -> None:
        """Off and on again at once: the monotonic clock restarts, the wall clock reads `wall`
        (what fake-hwclock saved, 1970, ...) or goes on as it was."""
        self.close()
        self.clock.reboot(wall)
        self._open()

    def issue(self, service: str = "passport-rf", letter: str = "П") -> Ticket:
        return self.store.issue_ticket(service_id=service, letter=letter)

    def sync_now(self) -> bool:
        """Ask the hub's feed (which teaches the kiosk the hub's time) and push the outbox;
        whether the hub was reached."""
        try:
            self.hub.get(protocol.FEED_PATH)
            self.sync.drain()
        except (requests.RequestException, SyncError):
            return False
        return True


class InProcessCenter:
    def __init__(self, folder: Path, start: datetime):
        self.folder = folder
        self.clock = ManualClock(start)  # the hub's clock: the real time of this center
        self.hub = Hub(folder / "hub", clock=self.clock)
        self.call = AsgiCaller(create_app(self.hub))
        self.kiosks: list[InProcessKiosk] = []

    def add_kiosk(self, device_id: str, ticket_range: tuple[int, int], wall: datetime | None = None) -> InProcessKiosk:
        _, token = self.hub.identity.enroll(self.hub.identity.create_code(CENTER, "kiosk"), device_id)
        kiosk = InProcessKiosk(self, device_id, ticket_range, ManualClock(wall or self.clock.now()), token,
                               AppTransport(self.call))
        self.kiosks.append(kiosk)
        return kiosk

    def advance(self, **delta: float) -> None:
        """Time passes, for the hub and every kiosk alike."""
        self.clock.advance(**delta)
        for kiosk in self.kiosks:
            kiosk.clock.advance(**delta)

    def tickets(self, where: str = "1", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return list(self.hub.db.db.query(f"SELECT * FROM tickets WHERE center = '{CENTER}' AND {where} "
                                         "ORDER BY issued_at", list(params)))

    def call_all(self, services: list[str], window: str = "5") -> list[dict[str, Any]]:
        """A window calls and serves everyone waiting for `services`, in the hub's order."""
        queue = self.hub.queue
        queue.open_window(CENTER, window, services, "ivanova")
        called = []
        while (ticket := queue.call_next(CENTER, window, services)) is not None:
            called.append(ticket)
            queue.finish(CENTER, window)
        return called

    def close(self) -> None:
        for kiosk in self.kiosks:
            kiosk.close()
        self.call.close()
        self.hub.close()
