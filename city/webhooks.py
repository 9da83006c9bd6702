"""Webhooks: the feed's events POSTed to a back office's receiver, signed, retried until taken
(docs/city-integration.md).

Every city process runs the same worker (`run_webhooks`, started with the app). It queues each
webhook's new events from the feed (city/integration.py) as deliveries, under a row lock on the
webhook so two processes never queue the same stretch twice (and a unique (webhook, cursor)
besides), then claims due deliveries with FOR UPDATE SKIP LOCKED and a lease, commits, and
POSTs them outside any transaction. A delivery is therefore sent once, unless a try failed, or
its process died while holding the lease (then it goes again when the lease ends: receivers
keep the X-MFC-Delivery ids they have seen).

A try that fails (no connection, a timeout, any answer but 2xx) is tried again after an
exponentially growing wait with jitter, so receivers coming back from an outage are not hit by
every city process at once; after MAX_ATTEMPTS the delivery is given up and recorded as such.
Deliveries go out in the feed's order, but one being tried again does not hold back those after
it: each event carries its ticket's `seq`, by which a receiver keeps a ticket's latest state.

Each POST carries `X-MFC-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
`verify` is how a receiver checks it.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import random
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from city.city import City
from city.integration import EVENT_TYPES, Feed, Scope, decode_cursor, encode_cursor, read_feed, row, rows

log = logging.getLogger(__name__)

SIGNATURE_HEADER, DELIVERY_HEADER = "X-MFC-Signature", "X-MFC-Delivery"
SEND_TIMEOUT_S = (3.05, 10.0)  # connect, read
LEASE_S = 60.0  # a process sends what it claimed within this, or gives it back
SEND_BUDGET_S = sum(SEND_TIMEOUT_S) + 5.0  # the longest one try can take, and a margin
# 40 tries over about a day (16 to 31 hours with the jitter): a receiver down overnight still gets it all
RETRY_FIRST_S, RETRY_MAX_S, MAX_ATTEMPTS = 10.0, 3600.0, 40
WORK_EVERY_S = 1.0
# Deliveries made or given up are kept this long for `mfc-edge city webhook deliveries`, then
# dropped, looked for at most this often by each process.
KEPT_DAYS, PRUNE_EVERY_S = 30, 3600.0
# Events queued per webhook and round: the queueing transaction stays short (while it runs, the
# feed's horizon waits for it), and a webhook far behind catches up over a few rounds.
QUEUE_PAGE, QUEUE_PAGES_PER_ROUND, SENDS_PER_ROUND = 500, 10, 100
SIGNATURE_TOLERANCE_S = 300
LOCAL_HOSTS = ("localhost",)


class WebhookError(ValueError):
    """A webhook that cannot be added as asked; the message says why in one line."""


def sign(secret: str, body: bytes, at: int) -> str:
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance_s: float = SIGNATURE_TOLERANCE_S,
           now: float | None = None) -> bool:
    """Whether `body` (the raw bytes received) came from the city with this `secret`: the
    X-MFC-Signature `header` holds an HMAC of the time and the body, and the time is within
    `tolerance_s` of `now`, so a POST recorded by someone else cannot be replayed later."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    stamp = fields.get("t", [""])[0]
    if not stamp.isdigit() or len(stamp) > 12:
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance_s:
        return False
    expected = sign(secret, body, int(stamp)).partition(",v1=")[2]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


def validate_url(url: str) -> str:
    """https:// anywhere; plain http:// only to this machine (development and tests)."""
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018  -- raises on a port that is not a number
    except ValueError:
        host = ""
    if len(url) > 2000 or not host or parts.scheme not in ("http", "https") or parts.username or parts.password:
        raise WebhookError(f"url {url!r:.100}: expected https://host/path (no user or password in it)")
    if parts.scheme == "http" and not _local(host):
        raise WebhookError(f"url {url!r:.100}: a webhook outside this machine must use https://")
    return url


def _local(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post_signed(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST `body`; raises on no answer in time or an answer other than 2xx. TLS is verified."""
    with requests.Session() as session:
        session.trust_env = False  # no proxy or .netrc from the environment changes where events go
        reply = session.post(url, data=body, headers={"Content-Type": "application/json", **headers},
                             timeout=SEND_TIMEOUT_S, allow_redirects=False)
    if not 200 <= reply.status_code < 300:
        raise requests.HTTPError(f"answered {reply.status_code}", response=reply)


Send = Callable[[str, bytes, dict[str, str]], None]


class Webhooks:
    def __init__(self, city: City, send: Send = post_signed, *, retry_first_s: float = RETRY_FIRST_S,
                 retry_max_s: float = RETRY_MAX_S, max_attempts: int = MAX_ATTEMPTS, lease_s: float = LEASE_S):
        self.city, self.send = city, send
        self.retry_first_s, self.retry_max_s = retry_first_s, retry_max_s
        self.max_attempts, self.lease_s = max_attempts, lease_s
        self._next_prune = 0.0
        self.stopping = threading.Event()  # set: send nothing more, give back what is claimed

    # --- subscriptions ---------------------------------------------------------------------

    def add(self, url: str, events: list[str] | tuple[str, ...] = (), scope: Scope | None = None) -> tuple[str, str]:
        """A new webhook for the events from now on (of every center unless `scope` says):
        (its id, its secret: shown only now)."""
        scope = scope or Scope()
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            raise WebhookError(f"event type {unknown[0]!r:.60}: expected some of {', '.join(EVENT_TYPES)}")
        webhook, secret = "wh-" + secrets.token_hex(4), "whsec_" + secrets.token_urlsafe(32)
        with self.city.db.connection() as conn:
            conn.execute("INSERT INTO webhooks (id, url, secret, events, centers, districts, after, created_at) "
                         "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                         [webhook, validate_url(url), secret, list(dict.fromkeys(events)), list(scope.centers),
                          list(scope.districts), Feed(self.city).end(), self.city.now()])
        log.info("webhook %s added: %s for %s", webhook, url, scope.describe())
        return webhook, secret

    def remove(self, webhook: str) -> bool:
        """Stop sending to it and forget its secret; the deliveries not made are dropped, those
        made kept for a while (the record)."""
        with self.city.db.connection() as conn:
            changed = conn.execute("UPDATE webhooks SET removed_at = %s, secret = '' WHERE id = %s "
                                   "AND removed_at IS NULL", [self.city.now(), webhook]).rowcount
            conn.execute("DELETE FROM webhook_deliveries WHERE webhook = %s AND delivered_at IS NULL", [webhook])
        return changed == 1

    def all(self) -> list[dict[str, Any]]:
        """The webhooks in use with their deliveries' counts; never the secret."""
        with self.city.db.connection() as conn:
            return rows(
                conn, "SELECT w.id, w.url, w.events, w.centers, w.districts, w.created_at, "
                "count(d.delivered_at) AS delivered, count(d.gave_up_at) AS given_up, "
                "count(d.id) FILTER (WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL) AS pending "
                "FROM webhooks w LEFT JOIN webhook_deliveries d ON d.webhook = w.id "
                "WHERE w.removed_at IS NULL GROUP BY w.id ORDER BY w.created_at, w.id")

    def deliveries(self, webhook: str | None = None, failed_only: bool = True,
                   limit: int = 100) -> list[dict[str, Any]]:
        """The latest deliveries (by default only those that failed at least once), newest first."""
        with self.city.db.connection() as conn:
            return rows(
                conn, "SELECT id, webhook, event ->> 'type' AS type, event ->> 'center' AS center, cursor, attempts, "
                "created_at, next_try_at, delivered_at, gave_up_at, last_error FROM webhook_deliveries "
                "WHERE (%(webhook)s::text IS NULL OR webhook = %(webhook)s) "
                "AND (NOT %(failed)s OR last_error <> '') ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
                {"webhook": webhook, "failed": failed_only, "limit": limit})

    # --- queueing and sending ----------------------------------------------------------------

    def queue(self) -> int:
        """Queue every webhook's events that follow its cursor; how many were queued. A webhook
        another process is queueing right now is left to it."""
        with self.city.db.connection() as conn:
            ids = [r["id"] for r in rows(conn, "SELECT id FROM webhooks WHERE removed_at IS NULL ORDER BY id")]
        return sum(self._queue_one(webhook) for webhook in ids)

    def _queue_one(self, webhook: str) -> int:
        queued = 0
        with self.city.db.connection() as conn:
            hook = row(conn, "SELECT * FROM webhooks WHERE id = %s AND removed_at IS NULL FOR UPDATE SKIP LOCKED",
                       [webhook])
            if hook is None:
                return 0
            scope = Scope(tuple(hook["centers"]), tuple(hook["districts"]))
            after = decode_cursor(hook["after"])
            now = self.city.now()
            for _ in range(QUEUE_PAGES_PER_ROUND):
                events, after, more = read_feed(conn, after, QUEUE_PAGE, scope, tuple(hook["events"]))
                if events:
                    with conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO webhook_deliveries (id, webhook, cursor, event, created_at, next_try_at) "
                            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (webhook, cursor) DO NOTHING",
                            [("dl-" + secrets.token_hex(8), webhook, e["cursor"], orjson.dumps(e).decode(), now, now)
                             for e in events])
                    queued += len(events)
                if not more:
                    break
            conn.execute("UPDATE webhooks SET after = %s WHERE id = %s", [encode_cursor(after), webhook])
        return queued

    def _claim(self, limit: int) -> list[dict[str, Any]]:
        now = self.city.now()
        with self.city.db.connection() as conn:
            return rows(
                conn, "UPDATE webhook_deliveries d SET leased_until = %(until)s, attempts = d.attempts + 1 "
                "FROM webhooks w WHERE w.id = d.webhook AND d.id IN ("
                "  SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL "
                "  AND next_try_at <= %(now)s AND (leased_until IS NULL OR leased_until <= %(now)s) "
                "  ORDER BY next_try_at, queued LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
                "RETURNING d.id, d.queued, d.webhook, d.event, d.attempts, w.url, w.secret",
                {"until": now + timedelta(seconds=self.lease_s), "now": now, "limit": limit})

    def deliver(self, limit: int = SENDS_PER_ROUND) -> int:
        """POST the deliveries that are due; how many the receivers took. A receiver that fails
        is not tried again in the same round: its other deliveries wait as long as the failed
        one, so an outage costs the receiver one try per wait, not one per event."""
        failing: dict[str, tuple[datetime, str]] = {}  # webhook -> (its next try, why)
        claimed = sorted(self._claim(limit), key=lambda d: d["queued"])
        sent, started = 0, time.monotonic()  # the lease began a moment ago: SEND_BUDGET_S has a margin
        for i, d in enumerate(claimed):
            if self.stopping.is_set() or time.monotonic() - started > self.lease_s - SEND_BUDGET_S:
                self._release(claimed[i:])  # before their lease ends and another process takes them
                break
            if d["webhook"] in failing:
                self._release([d], *failing[d["webhook"]])
                continue
            body = orjson.dumps({"delivery": d["id"], "webhook": d["webhook"], "attempt": d["attempts"],
                                 "event": d["event"]})
            headers = {SIGNATURE_HEADER: sign(d["secret"], body, int(time.time())), DELIVERY_HEADER: d["id"]}
            try:
                self.send(d["url"], body, headers)
            except (requests.RequestException, OSError) as exc:
                error = " ".join((str(exc) or type(exc).__name__).split())[:500]
                failing[d["webhook"]] = (self._failed(d, error), f"not tried: {d['id']} to the same address "
                                                                 f"failed just before ({error})"[:500])
                continue
            with self.city.db.connection() as conn:
                conn.execute("UPDATE webhook_deliveries SET delivered_at = %s, leased_until = NULL WHERE id = %s",
                             [self.city.now(), d["id"]])
            sent += 1
        return sent

    def _release(self, claimed: list[dict[str, Any]], next_try_at: datetime | None = None, why: str = "") -> None:
        """Give back deliveries claimed but not tried: the try is not counted."""
        with self.city.db.connection() as conn:
            conn.execute("UPDATE webhook_deliveries SET leased_until = NULL, attempts = attempts - 1, "
                         "next_try_at = coalesce(%s, next_try_at), last_error = coalesce(nullif(%s, ''), last_error) "
                         "WHERE id = ANY(%s)", [next_try_at, why, [d["id"] for d in claimed]])

    def _failed(self, d: dict[str, Any], error: str) -> datetime:
        """Record a failed try; when the delivery is tried next."""
        now = self.city.now()
        with self.city.db.connection() as conn:
            if d["attempts"] >= self.max_attempts:
                log.warning("webhook %s: delivery %s given up after %d tries (%s)", d["webhook"], d["id"],
                            d["attempts"], error[:200])
                conn.execute("UPDATE webhook_deliveries SET gave_up_at = %s, leased_until = NULL, last_error = %s "
                             "WHERE id = %s", [now, error, d["id"]])
                return now + timedelta(seconds=self.retry_first_s)
            # Jitter: the city's processes, and the webhooks of one receiver, come back to it spread out.
            wait = min(self.retry_first_s * 2 ** (d["attempts"] - 1), self.retry_max_s) * random.uniform(0.5, 1.0)
            log.info("webhook %s: delivery %s failed (%s): trying again in %.0f s", d["webhook"], d["id"],
                     error[:200], wait)
            conn.execute("UPDATE webhook_deliveries SET next_try_at = %s, leased_until = NULL, last_error = %s "
                         "WHERE id = %s", [now + timedelta(seconds=wait), error, d["id"]])
            return now + timedelta(seconds=wait)

    def prune(self) -> int:
        """Drop the deliveries made or given up more than KEPT_DAYS ago, and removed webhooks
        with none left; how many deliveries were dropped."""
        before = self.city.now() - timedelta(days=KEPT_DAYS)
        with self.city.db.connection() as conn:
            dropped = conn.execute("DELETE FROM webhook_deliveries WHERE delivered_at < %(t)s OR gave_up_at < %(t)s",
                                   {"t": before}).rowcount
            conn.execute("DELETE FROM webhooks w WHERE removed_at < %s AND NOT EXISTS "
                         "(SELECT 1 FROM webhook_deliveries d WHERE d.webhook = w.id)", [before])
        return dropped

    def run_once(self) -> int:
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_S
            self.prune()
        self.queue()
        return self.deliver()


async def run_webhooks(webhooks: Webhooks, every: float = WORK_EVERY_S) -> None:
    """Queue and deliver every `every` seconds for as long as the process serves, on a worker
    thread: requests to this process never wait for a receiver."""
    while True:
        try:
            await run_in_threadpool(webhooks.run_once)
        except Exception:  # a database restarting now must not end the deliveries for good
            log.exception("webhook deliveries failed; trying again in %.0f s", every)
        await asyncio.sleep(every)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Every city process delivers webhooks while it serves (city/app.py). When it stops, what
    it claimed and has not sent is given back at once rather than when its lease ends."""
    webhooks = Webhooks(app.state.city)
    task = asyncio.create_task(run_webhooks(webhooks))
    try:
        yield
    finally:
        webhooks.stopping.set()
        task.cancel()
        await asyncio.wait({task}, timeout=SEND_BUDGET_S)  # the POST under way, if any, ends first
