"""A device's own SQLite file: the outbox of events for the hub and the device's remembered state.

One `DeviceStore` is the single writer of its file. An event enters the outbox in the same
transaction as whatever it reports (a ticket, a rating, a help request), with
`synchronous=FULL`, so after a power cut the fact and its event are both there or neither is.
The sync agent empties the outbox as the hub acknowledges events. Rooms with records of their
own (the kiosk's tickets) extend the schema with steps of their own (`_upgrade`).

The file lives on an SD card, so each transaction counts: every page it touches is written
to the WAL once more (and dirties a 4 KiB page of the card). Pages are 1 KiB, tables carry
no index they can do without, and what a power cut may lose without harm waits in memory
for the next transaction: the hub's acknowledgements (lost, the events are sent again and
the hub answers "duplicate"), and the events written `later` (a kiosk's print results) with
what they report. Such an event goes to the hub from memory; once the hub has it, nothing
of it is lost with the device's memory, and it is never written at all. One the hub has not
acknowledged within FLUSH_AFTER_S (the hub is away) is written then; the rest waits at most
SETTLE_AFTER_S, so that a quiet device's file soon says what the hub has.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from hardware.clock import Clock
from mfc_edge import protocol
from mfc_edge.files import make_folder
from mfc_edge.times import CLOCK_FLOOR, SKEW_LIMIT, iso
from offline_cache.hub_time import Anchor, Reading, anchor_from, read_clocks

log = logging.getLogger(__name__)

# Every answer of the hub renews the device's anchor in memory (offline_cache/hub_time.py); it is
# written down only when it moves the hub's time by more than this, not every few seconds to the SD card.
ANCHOR_SAVE_DRIFT = timedelta(seconds=1)
# Smaller pages, fewer bytes per changed page; a file made with larger ones is rewritten once.
PAGE_SIZE = 1024
# An event kept in memory that the hub has not acknowledged within this time is written down,
FLUSH_AFTER_S = 60.0
# and what else waits (acknowledgements, what the hub has) within this one: well inside the hour
# after which `mfc-edge doctor` calls events left in the outbox a problem.
SETTLE_AFTER_S = 600.0
# SQLite's limit of parameters in one statement is 999 in older builds.
DELETE_CHUNK = 500


class DeviceStore:
    def __init__(self, path: str | Path, *, center_id: str, device_id: str, clock: Clock,
                 flush_after: float = FLUSH_AFTER_S, settle_after: float = SETTLE_AFTER_S):
        self.path = Path(path)
        make_folder(self.path.parent)  # DataFolderError, one line, when it cannot be made
        self.center_id, self.device_id = center_id, device_id
        self.clock, self.flush_after, self.settle_after = clock, flush_after, settle_after
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        self.db = sqlite_utils.Database(conn)
        self._use_small_pages()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self._lock = threading.RLock()
        self._acknowledged: set[str] = set()  # written events the hub has: deleted by the next transaction
        self._unwritten: list[dict[str, Any]] = []  # events in memory only, newer than every written one
        self._flush_timer: threading.Timer | None = None
        with self.transaction():
            self._create_schema()
            self._anchor = Anchor.from_text(self._state("hub_anchor"))
            self._skewed = self._state("clock_skewed") == "1"

    def close(self) -> None:
        with self._lock:
            self.flush()
            self.db.close()

    def _use_small_pages(self) -> None:
        """PAGE_SIZE pages: set before the first table, or by rewriting a file made with larger
        ones (once; it needs the rollback journal, and fails harmlessly while another process reads)."""
        if self.db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE:
            return
        fresh = not self.db.table_names()
        try:
            if not fresh:
                log.info("%s: rewriting the file with %d-byte pages (once)", self.path, PAGE_SIZE)
                self.db.execute("PRAGMA journal_mode=DELETE")
            self.db.execute(f"PRAGMA page_size={PAGE_SIZE}")
            if not fresh:
                self.db.execute("VACUUM")
        except sqlite3.OperationalError as exc:
            log.warning("%s: keeps its larger pages for now: %s", self.path, exc)

    def _create_schema(self) -> None:
        self._upgrade("outbox", [self._outbox_step_1, self._outbox_step_2])

    def _upgrade(self, part: str, steps: list[Callable[[], None]]) -> None:
        """Bring `part` of the file up to date: the steps it has not had yet, in order, in the
        opening transaction (a crash midway leaves the file as it was). A new file has them all;
        a file from before steps were counted had none, so step 1 takes any earlier shape."""
        done = int(self._state(f"schema:{part}") or 0) if "device_state" in self.db.table_names() else 0
        for step in steps[done:]:
            step()
        if done < len(steps):
            self._set_state(f"schema:{part}", str(len(steps)))

    def _outbox_step_1(self) -> None:
        self.db.table("outbox").create({"seq": int, "id": str, "type": str, "at": str, "event": str},
                                 pk="seq", if_not_exists=True)
        self.db.table("outbox_rejected").create({"id": str, "event": str, "reason": str, "at": str},
                                          pk="id", if_not_exists=True)
        self.db.table("device_state").create({"key": str, "value": str}, pk="key", if_not_exists=True)

    def _outbox_step_2(self) -> None:
        """No index on the outbox's event ids: it cost a page per event, and acknowledgements,
        a few a minute, find their events in the short outbox without it."""
        self.db.execute("DROP INDEX IF EXISTS idx_outbox_id")

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction, taken before reading so two writers cannot interleave. What
        waited in memory is written in it first, into pages it mostly touches anyway."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self._write_waiting()
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            self.db.execute("COMMIT")
            self._written()

    def flush(self) -> None:
        """Write what waits in memory now (as closing the store does)."""
        with self._lock:
            if self._flush_timer:
                self._flush_timer.cancel()
                self._flush_timer = None
            if self._waiting():
                with self.transaction():
                    pass

    def _waiting(self) -> bool:
        return bool(self._acknowledged or self._unwritten)

    def _write_waiting(self) -> None:
        for event in self._unwritten:
            self._insert_event(event)
        acknowledged = sorted(self._acknowledged)
        for i in range(0, len(acknowledged), DELETE_CHUNK):
            chunk = acknowledged[i:i + DELETE_CHUNK]
            self.db.execute(f"DELETE FROM outbox WHERE id IN ({', '.join('?' * len(chunk))})", chunk)

    def _written(self) -> None:
        """The transaction that wrote what waited has committed."""
        self._unwritten.clear()
        self._acknowledged.clear()
        if self._flush_timer:
            self._flush_timer.cancel()
            self._flush_timer = None

    def _flush_later(self) -> None:
        """Write what waits if no transaction comes first: soon while the hub lacks some of it."""
        if self._flush_timer:
            self._flush_timer.cancel()
        self._flush_timer = threading.Timer(self.flush_after if self._unwritten else self.settle_after,
                                            self._flush_quietly)
        self._flush_timer.daemon = True
        self._flush_timer.start()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # a closed or broken file: the next transaction or the next start tells
            log.exception("writing what waited in memory failed")

    def now(self) -> datetime:
        """The hub's time when the device has heard it in this boot, else its own clock, but
        never before the floor: events of a Pi that booted in 1970 are dated as early as they
        can honestly be."""
        reading = self.read_clocks()
        return max(self.hub_time(reading) or reading.wall, CLOCK_FLOOR)

    # --- the hub's time (offline_cache/hub_time.py) -----------------------------

    def read_clocks(self) -> Reading:
        return read_clocks(self.clock)

    def hub_time(self, reading: Reading) -> datetime | None:
        """The hub's time at `reading`, if an answer of the hub in this boot told it."""
        anchor = self._anchor
        return anchor.hub_now(reading) if anchor else None

    def hub_offset(self) -> timedelta | None:
        """The hub's clock minus this device's, as last learned in this boot."""
        anchor = self._anchor
        return anchor.offset if anchor and anchor.boot == self.read_clocks().boot else None

    def learn_hub_time(self, sent: Reading, received: Reading, hub: datetime) -> None:
        """An answer of the hub, sent at `sent` and received at `received`, gave its time `hub`.
        Kept in memory every time; written down when it moves the hub's time by more than
        ANCHOR_SAVE_DRIFT or starts a boot, with a `clock.skewed` event when the device's
        clock turns more than SKEW_LIMIT off the hub's (once, not while it stays so)."""
        anchor = anchor_from(sent, received, hub)
        if anchor is None:
            return
        now = anchor.hub + timedelta(seconds=received.mono - anchor.mono)  # the hub's time at `received`
        with self._lock:
            previous, self._anchor = self._anchor, anchor
            before = previous.hub_now(received) if previous else None
            skewed = abs(anchor.offset) > SKEW_LIMIT
            if before is not None and abs(now - before) <= ANCHOR_SAVE_DRIFT and skewed == self._skewed:
                return
            with self.transaction():
                self._set_state("hub_anchor", anchor.to_text())
                if skewed != self._skewed:
                    self._set_state("clock_skewed", "1" if skewed else "0")
                    if skewed:
                        self._add_event(protocol.CLOCK_SKEWED, now, {
                            "device_clock": iso(received.wall), "hub_clock": iso(now),
                            "offset_s": round(anchor.offset.total_seconds(), 3)})
            if skewed != self._skewed or before is None:
                log.log(logging.WARNING if skewed else logging.INFO, "the hub's clock is %+.1f s from this "
                        "device's: dating by the hub's", anchor.offset.total_seconds())
            self._skewed = skewed

    def _state(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM device_state WHERE key = ?", [key]))
        return rows[0]["value"] if rows else None

    def _set_state(self, key: str, value: str) -> None:
        self.db.table("device_state").upsert({"key": key, "value": value}, pk="key")

    def _add_event(self, event_type: str, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
        event = protocol.make_event(event_type, self.center_id, self.device_id, at, body)
        self._insert_event(event)
        return event

    def _add_event_later(self, event_type: str, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
        """An event a power cut may lose: kept in memory (and sent from there) until the next
        transaction writes it; not written at all if the hub acknowledges it first."""
        event = protocol.make_event(event_type, self.center_id, self.device_id, at, body)
        with self._lock:
            self._unwritten.append(event)
            self._flush_later()
        return event

    def _insert_event(self, event: dict[str, Any]) -> None:
        self.db.table("outbox").insert({"id": event["id"], "type": event["type"], "at": event["at"],
                                  "event": json.dumps(event, ensure_ascii=False)})

    def record_event(self, event_type: str, body: dict[str, Any],
                     remember: dict[str, str | None] | None = None) -> dict[str, Any]:
        """Put an event in the outbox. `remember` is device state kept in the same transaction
        (None forgets a key), read back with `remembered` after a restart."""
        with self.transaction():
            event = self._add_event(event_type, self.now(), body)
            for key, value in (remember or {}).items():
                self._remember(key, value)
            return event

    def remember(self, key: str, value: str | None) -> None:
        with self.transaction():
            self._remember(key, value)

    def remembered(self, key: str) -> str | None:
        with self._lock:
            return self._state(f"remembered:{key}")

    def _remember(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM device_state WHERE key = ?", [f"remembered:{key}"])
        else:
            self._set_state(f"remembered:{key}", value)

    # Reads take the lock too: the UI, printer and sync threads share this one connection,
    # and SQLite refuses a write while the same connection is still reading ("table is locked").

    def outbox(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Events not yet acknowledged by the hub, oldest first (those still in memory last)."""
        with self._lock:
            rows = self.db.table("outbox").rows_where(order_by="seq", limit=limit + len(self._acknowledged))
            written = [json.loads(r["event"]) for r in rows if r["id"] not in self._acknowledged]
            return [*written, *self._unwritten][:limit]

    def outbox_size(self) -> int:
        with self._lock:
            return self.db.table("outbox").count - len(self._acknowledged) + len(self._unwritten)

    def acknowledge(self, accepted: list[str], rejected: dict[str, str]) -> None:
        """The hub stored `accepted` (or had them already) and refused `rejected` (id -> reason).

        Accepted events leave the outbox with the next transaction. Refused ones leave it at
        once so they do not block the rest, but are kept aside, with the hub's reason, for a
        technician.
        """
        with self._lock:
            unwritten, stored = {e["id"] for e in self._unwritten}, set(accepted)
            self._unwritten = [e for e in self._unwritten if e["id"] not in stored]
            self._acknowledged.update(stored - unwritten)
            if not rejected:
                if self._waiting():
                    self._flush_later()
                return
            with self.transaction():
                for event_id, reason in rejected.items():
                    rows = list(self.db.query("SELECT event FROM outbox WHERE id = ?", [event_id]))
                    if rows:
                        self.db.table("outbox_rejected").upsert({"id": event_id, "event": rows[0]["event"],
                                                           "reason": reason, "at": iso(self.now())}, pk="id")
                    self.db.execute("DELETE FROM outbox WHERE id = ?", [event_id])

    def rejected_events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db.table("outbox_rejected").rows_where(order_by="at"))
