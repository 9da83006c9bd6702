"""The forwarder: sends a linked hub's outbox (hub/city_outbox.py) to its city, in the background.

Records go in the order of their `seq`, in batches within the city's limits; a record leaves
the outbox only once the city answered for it ("stored" or "duplicate"), or is kept aside in
`city_rejected` with the city's reason. Failures back off with full jitter, as devices do with
their hub (offline_cache/sync.py); 429 and 503 are obeyed to their Retry-After. With nothing to
send, an empty batch every HUB_BEAT_EVERY_S tells the city the hub is alive.

Each reply says `last_seq`, the highest seq of this hub the city has stored. A hub restored
from a backup numbers its records from where the backup left off, below what the city has
seen, and the city keeps the snapshot of the highest seq: the hub's newer state would lose. The
forwarder notices it (the city has a seq above any this hub gave, or stored as new a record
numbered below what it had already seen), renumbers the waiting records above `last_seq`, moves
the outbox's sequence past it and queues fresh snapshots of its rows, so the city ends equal to
the hub again.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter
from sqlite_utils import Database

from hub import city_link, city_outbox
from hub.db import HubDB, iso
from mfc_edge import city_protocol

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0  # how often an idle forwarder looks for new records
MAX_SEQ = 2**62  # a last_seq above it is not one this hub could ever reach: not believed
_ENVELOPE = len(b'{"records":[]}')


class ForwardError(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds, from either of its forms (seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, moment - (time.time() if now is None else now))


def _encoded(row: dict[str, Any]) -> bytes:
    """The record on the wire; its body is already JSON, checked so by the triggers."""
    head = json.dumps({"id": row["id"], "seq": row["seq"], "center": row["center"], "type": row["type"],
                       "device": row["device"], "at": row["at"]}, ensure_ascii=False, separators=(",", ":"))
    return (head[:-1] + ',"body":' + row["body"] + "}").encode()


class CityForwarder:
    """Forwards while the hub is linked; follows a join or leave made by the command line while
    the hub runs. `transport`: a requests adapter for tests."""

    def __init__(self, db: HubDB, data_dir: str | Path, *, max_records: int = city_protocol.MAX_LOG_RECORDS,
                 max_bytes: int = city_protocol.MAX_LOG_BYTES, beat_every: float = city_protocol.HUB_BEAT_EVERY_S,
                 idle_poll: float = IDLE_POLL_S, backoff_base: float = 0.5, backoff_cap: float = 60.0,
                 transport: BaseAdapter | None = None, rng: random.Random | None = None):
        self.db, self.data_dir = db, Path(data_dir)
        self.max_records, self.max_bytes = min(max_records, city_protocol.MAX_LOG_RECORDS), max_bytes
        self.beat_every, self.idle_poll = beat_every, idle_poll
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.transport, self.rng = transport, rng or random.Random()
        self.failures = 0
        self._client: city_link.CityClient | None = None
        self._client_of: tuple[str, str] | None = None  # (url, joined_at) of the link the client is for
        self._city_last_seq: int | None = None  # None until the city answered since this start
        self._last_post = float("-inf")
        self._lock = threading.Lock()  # one batch at a time: records go in order
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    # --- one step at a time (tests call these directly) ----------------------------------

    def client(self) -> city_link.CityClient | None:
        link = city_link.link_of(self.db)
        key = None if link is None else (link.url, link.joined_at)
        if key != self._client_of:
            if self._client is not None:
                self._client.close()
            self._client, self._client_of, self._city_last_seq = None, None, None
            if link is not None:
                self._client = city_link.CityClient(link.url, city_link.load_token(self.data_dir),
                                                    ca_file=link.ca_file, transport=self.transport)
                self._client_of = key
        return self._client

    def push_once(self) -> int:
        """Send the next batch (a beat first, when the city has not answered since this start);
        how many records the city answered for. Raises ForwardError, CityLinkError."""
        with self._lock:
            client = self.client()
            if client is None:
                return 0
            if self._city_last_seq is None:
                self._post(client, [])
            rows = self._batch()
            return self._post(client, rows) if rows else 0

    def beat(self) -> None:
        with self._lock:
            if (client := self.client()) is not None:
                self._post(client, [])

    def drain(self) -> int:
        """Send until the outbox is empty; raise at the first failure. How many were answered for."""
        total = 0
        while answered := self.push_once():
            total += answered
        return total

    # --- a batch --------------------------------------------------------------------------

    def _batch(self) -> list[dict[str, Any]]:
        rows = list(self.db.db.query("SELECT seq, id, center, type, device, at, body FROM city_outbox "
                                     "ORDER BY seq LIMIT ?", [self.max_records]))
        size, batch = _ENVELOPE, []
        for row in rows:
            row["wire"] = _encoded(row)
            if size + len(row["wire"]) + 1 > self.max_bytes:
                break
            size += len(row["wire"]) + 1
            batch.append(row)
        if rows and not batch:  # one record larger than a whole batch may be: the city could never take it
            self._set_aside(rows[:1], f"larger than {self.max_bytes} bytes on the wire")
            return self._batch()
        return batch

    def _post(self, client: city_link.CityClient, rows: list[dict[str, Any]]) -> int:
        payload = b'{"records":[' + b",".join(r["wire"] for r in rows) + b"]}"
        try:
            reply = client.post(city_protocol.CITY_LOG_PATH, payload)
        except requests.RequestException as exc:
            raise self._failed(f"the city cannot be reached ({exc.__class__.__name__})") from None
        self._last_post = time.monotonic()
        if reply.status_code in (429, 503):
            raise self._failed(f"the city is busy ({reply.status_code})",
                               retry_after_seconds(reply.headers.get("Retry-After")))
        if reply.status_code == 401:
            raise self._failed("the city refuses this hub's token: join it again (mfc-edge hub join-city)")
        if reply.status_code != 200:
            raise self._failed(f"the city answered {reply.status_code}: {reply.text[:200]}")
        try:
            answer = reply.json()
            last_seq = answer["last_seq"]
            answered = {r["id"]: r for r in answer["results"] if isinstance(r, dict) and isinstance(r.get("id"), str)}
        except (ValueError, KeyError, TypeError):
            last_seq = None
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or not 0 <= last_seq <= MAX_SEQ:
            raise self._failed("the city answered something that is not a log reply")
        self._settle(rows, answered, last_seq)
        return sum(1 for r in rows if r["id"] in answered)

    def _settle(self, rows: list[dict[str, Any]], answered: dict[str, dict[str, Any]], last_seq: int) -> None:
        seen_before = self._city_last_seq
        done = [r for r in rows if answered.get(r["id"], {}).get("status") in ("stored", "duplicate")]
        refused = [r for r in rows if answered.get(r["id"], {}).get("status") == "rejected"]
        durable = bool(done or refused)
        with self.db.transaction(durable=durable) as d:
            highest = self._highest_seq(d)
            restored = last_seq > highest or (seen_before is not None and any(
                answered[r["id"]]["status"] == "stored" and r["seq"] <= seen_before for r in done))
            d.conn.executemany("DELETE FROM city_outbox WHERE id = ?", [(r["id"],) for r in done])
            for r in refused:
                reason = str(answered[r["id"]].get("reason", ""))[:500]
                log.warning("the city refused record %s (%s of center %s): %s", r["id"], r["type"], r["center"], reason)
            self._move_aside(d, refused, {r["id"]: str(answered[r["id"]].get("reason", ""))[:500] for r in refused})
            if restored:
                self._renumber(d, last_seq, highest)
            d.execute("UPDATE city_link SET last_success_at = ?, city_last_seq = ?", [iso(self.db.now()), last_seq])
        self._city_last_seq = last_seq
        self.failures = 0

    @staticmethod
    def _highest_seq(d: Database) -> int:
        found = d.execute("SELECT seq FROM sqlite_sequence WHERE name = 'city_outbox'").fetchone()
        return int(found[0]) if found else 0

    def _renumber(self, d: Database, last_seq: int, highest: int) -> None:
        """The city has seen records of this hub numbered above ours, or stored as new a record
        numbered below what it had already seen: this hub was restored from a backup."""
        lowest = d.execute("SELECT min(seq) FROM city_outbox").fetchone()[0]
        if lowest is not None and lowest <= last_seq:
            # Through negatives: no two rows ever share a seq on the way.
            d.execute("UPDATE city_outbox SET seq = -seq")
            d.execute("UPDATE city_outbox SET seq = ? - seq", [last_seq - lowest + 1])
        top = max(last_seq, highest, d.execute("SELECT coalesce(max(seq), 0) FROM city_outbox").fetchone()[0])
        if d.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'city_outbox'", [top]).rowcount == 0:
            d.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('city_outbox', ?)", [top])
        queued = city_outbox.backfill(d, snapshots_only=True)
        log.warning("the city has seen this hub's records up to %d, above ours (%d): this hub was restored from a "
                    "backup; waiting records renumbered above it, %d snapshots queued again", last_seq, highest, queued)

    def _set_aside(self, rows: list[dict[str, Any]], reason: str) -> None:
        with self.db.transaction() as d:
            self._move_aside(d, rows, {r["id"]: reason for r in rows})
        for r in rows:
            log.warning("record %s (%s of center %s) set aside: %s", r["id"], r["type"], r["center"], reason)

    def _move_aside(self, d: Database, rows: list[dict[str, Any]], reasons: dict[str, str]) -> None:
        now = iso(self.db.now())
        for r in rows:
            d.execute("INSERT OR REPLACE INTO city_rejected (id, seq, center, type, device, at, body, reason, "
                      "rejected_at) SELECT id, seq, center, type, device, at, body, ?, ? FROM city_outbox "
                      "WHERE id = ?", [reasons[r["id"]], now, r["id"]])
            d.execute("DELETE FROM city_outbox WHERE id = ?", [r["id"]])

    def _failed(self, message: str, retry_after: float | None = None) -> ForwardError:
        with self.db.transaction(durable=False) as d:
            d.execute("UPDATE city_link SET last_error = ?, last_error_at = ?", [message, iso(self.db.now())])
        return ForwardError(message, retry_after)

    # --- the thread ---------------------------------------------------------------------------

    def backoff(self) -> float:
        """Full jitter: a random wait up to base·2^failures, capped."""
        return self.rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** min(self.failures, 30)))

    def _step(self) -> float:
        """One round: send what waits, or beat when due; the seconds to wait before the next."""
        try:
            self.drain()
            if self._client is not None and time.monotonic() - self._last_post >= self.beat_every:
                self.beat()
            return self.idle_poll
        except ForwardError as exc:
            self.failures += 1
            wait = exc.retry_after if exc.retry_after is not None else self.backoff()
            log.info("city: %s; next try in %.1f s", exc, wait)
            return wait
        except city_link.CityLinkError as exc:
            self.failures += 1
            log.error("city: %s", exc)
            return self.backoff_cap
        except Exception:  # the forwarder must outlive any one surprise
            log.exception("forwarding to the city failed unexpectedly")
            self.failures += 1
            return self.backoff()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._step())
            self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> CityForwarder:
        self._thread = threading.Thread(target=self._run, name="city-forwarder", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        if self._client is not None:
            self._client.close()
