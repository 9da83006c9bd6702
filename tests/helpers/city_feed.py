"""For the feed's and the webhooks' tests: tickets' snapshots stored in the city's log as its
ingest stores them, in the transaction the test chooses; a back office's webhook receiver on
127.0.0.1."""
from __future__ import annotations

import http.server
import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from city.integration import TICKET_FIELD
from mfc_edge.city_protocol import HUB_TICKET

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def snapshot(conn: psycopg.Connection, center: str, ticket: str, seq: int, state: str, minute: float = 0,
             **fields: Any) -> None:
    """A hub.ticket record stored in the log as the city's ingest stores it."""
    body = {TICKET_FIELD: ticket, "number": "А-" + ticket[-3:], "service": "passport", "day": "2026-11-26",
            "priority": 0, "state": state, "issued_at": at(0), "first_called_at": None, "called_at": None,
            "started_at": None, "finished_at": None, "window": "", "operator": "", "walk_in": False,
            "estimate_minutes": None, "replaces": None, **fields}
    conn.execute("INSERT INTO log (center, id, hub, seq, type, at, body) VALUES (%s, %s, 'hub-1', %s, %s, %s, %s)",
                 [center, f"r{next(_ids)}", seq, HUB_TICKET, T0 + timedelta(minutes=minute), orjson.dumps(body).decode()])


def a_visit(conn: psycopg.Connection, center: str, ticket: str, first_seq: int) -> None:
    """Issued, called at window 3 after 10 minutes, started, served 5 minutes later."""
    snapshot(conn, center, ticket, first_seq, "waiting")
    snapshot(conn, center, ticket, first_seq + 1, "waiting", 1, estimate_minutes=9)  # no event: same state
    snapshot(conn, center, ticket, first_seq + 2, "called", 10, window="3", called_at=at(10), first_called_at=at(10))
    snapshot(conn, center, ticket, first_seq + 3, "serving", 11, window="3", called_at=at(10),
             first_called_at=at(10), started_at=at(11))
    snapshot(conn, center, ticket, first_seq + 4, "done", 16, window="3", called_at=at(10), first_called_at=at(10),
             started_at=at(11), finished_at=at(16))


class Receiver:
    """A back office's endpoint: answers `status` to every POST and keeps what came."""

    def __init__(self, port: int = 0):
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.tries = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- the standard library's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.tries += 1
                if outer.status == 200:
                    outer.received.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(body)["event"] for _, body in self.received]


def until(done: Any, work: Any, seconds: float = 20) -> None:
    """Run `work` until `done()`; the deadline is far beyond what the work needs."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not done in time"
        work()
        time.sleep(0.02)
