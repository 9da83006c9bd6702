"""The hub's storage: one SQLite file under the hub's data folder, through sqlite-utils.

Every table carries the center id, so one hub can serve several centers. All access goes
through `HubDB`, the one place a PostgreSQL backend for a network of centers would replace.

The data folder holds password hashes, session and phone-page tokens and the signing key: it
is made (or tightened to) 0700, and the SQLite file 0600 before SQLite first opens it, so its
-wal and -shm files, which SQLite creates with the database file's mode, are private too.
"""
from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from hub import schema
from mfc_edge.files import DataFolderError, make_folder
from mfc_edge.times import iso  # noqa: F401 (hub modules import it from here)

# A row as sqlite-utils gives it: column name -> value.
Row = dict[str, Any]

log = logging.getLogger(__name__)

PRIVATE_FOLDER, PRIVATE_FILE = 0o700, 0o600


def private_folder(folder: Path) -> Path:
    """`folder`, made if missing, readable by the hub's user only."""
    make_folder(folder, PRIVATE_FOLDER)
    tighten(folder, PRIVATE_FOLDER)
    return folder


def private_file(path: Path) -> Path:
    """`path`, made empty if missing, readable and writable by the hub's user only."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    tighten(path, PRIVATE_FILE)
    return path


def tighten(path: Path, mode: int) -> None:
    found = path.stat().st_mode & 0o777
    if found & ~mode:
        os.chmod(path, mode)
        log.warning("%s was open to others (mode %o): now %o", path, found, mode)


class Clock(Protocol):
    """What the hub needs of a clock: hardware.clock's clocks fit, and the hub imports no device code."""

    def now(self) -> datetime: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


# A time as the hub stores it (`iso`): UTC with microseconds, which kiosks send too.
_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def stored_time(text: str) -> str:
    """`text` in the hub's own spelling, so that times sort and compare as text. A time already
    in it is kept as it is: parsing thousands of them per batch showed on the ingest rate."""
    return text if _STORED_TIME.fullmatch(text) else iso(datetime.fromisoformat(text))


class HubDB:
    """Each thread gets its own connection: the API answers from a pool of threads, and WAL
    lets them read at once while `transaction()` makes writers take turns."""

    def __init__(self, data_dir: str | Path, clock: Clock | None = None):
        """`clock`: the real time by default. The demo shares one hand-set clock with its kiosk."""
        self.path = Path(data_dir) / "hub.sqlite"
        self._clock = clock
        private_folder(self.path.parent)
        try:
            private_file(self.path)
            for journal in ("-wal", "-shm", "-journal"):  # left by a hub made before the files were private
                if (found := self.path.with_name(self.path.name + journal)).exists():
                    tighten(found, PRIVATE_FILE)
        except OSError as exc:
            raise DataFolderError(f"{self.path}: cannot be opened: {exc.strerror or exc}") from None
        self._local = threading.local()
        self._all: list[sqlite_utils.Database] = []
        self._all_lock = threading.Lock()
        # Writers of this process take turns here rather than in SQLite's busy handler, which
        # polls with sleeps of up to 100 ms: a waiting batch starts as soon as the one before it
        # commits. Other processes (the command line) still meet the busy timeout.
        self._write_lock = threading.RLock()
        self._feed_bumped = False  # by the transaction holding the write lock
        self._feed_listeners: list[Callable[[], None]] = []
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):  # locked, a disk error: not the file's own fault
                raise
            self.close()
            raise DataFolderError(f"{self.path}: not a hub database ({exc}): restore it from a backup, or move "
                                  "it away for the hub to start an empty one") from None

    def now(self) -> datetime:
        return self._clock.now() if self._clock is not None else utc_now()

    @property
    def db(self) -> sqlite_utils.Database:
        database = getattr(self._local, "db", None)
        if database is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            database = sqlite_utils.Database(conn)
            database.execute("PRAGMA journal_mode=WAL")
            # FULL: a batch the hub has acknowledged is on disk, so the device may forget it
            # even if the hub loses power the next moment. With WAL that is one fsync per commit.
            database.execute("PRAGMA synchronous=FULL")
            # Checkpoint (and fsync the database) every ~40 MB of WAL rather than every 4 MB:
            # ingest writes whole index pages per batch, and frequent checkpoints cut its rate
            # (benchmarks/hub_bench.py; figures in benchmarks/RESULTS.md).
            database.execute("PRAGMA wal_autocheckpoint=10000")
            database.execute("PRAGMA journal_size_limit=67108864")
            self._local.db = database
            with self._all_lock:
                self._all.append(database)
        return database

    def close(self) -> None:
        with self._all_lock:
            for database in self._all:
                database.close()
            self._all.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite_utils.Database]:
        """`durable=False`: committed without waiting for the disk (synchronous=NORMAL), for state
        the next minute replaces anyway (a heartbeat): its fsync would hold the write lock, which
        ingest waits for, ~5 ms. Still atomic; a power cut may lose it, never corrupt the file."""
        db = self.db
        with self._write_lock:
            if not durable:
                db.execute("PRAGMA synchronous=NORMAL")
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.rollback()
                    raise
                db.execute("COMMIT")
                if self._feed_bumped:
                    for listener in self._feed_listeners:
                        listener()
            finally:
                self._feed_bumped = False
                if not durable:
                    db.execute("PRAGMA synchronous=FULL")

    def _migrate(self) -> None:
        """Bring the file's schema up to date (hub/schema.py). An up-to-date file is only read:
        the command line opens the hub's file while the hub serves, and need not queue for its lock."""
        if schema.version(self.db) == len(schema.MIGRATIONS):
            return
        with self.transaction() as db:  # another process may have migrated meanwhile: migrate looks again
            schema.migrate(db)

    def bump_feed(self, db: sqlite_utils.Database, center: str) -> None:
        """Something screens show changed for this center: their cached feed is stale."""
        db.execute("INSERT INTO feed_versions (center, version) VALUES (?, 1) "
                   "ON CONFLICT(center) DO UPDATE SET version = version + 1", [center])
        self._feed_bumped = True

    def on_feed_bump(self, listener: Callable[[], None]) -> None:
        """Call `listener` (quick, from the committing thread) after each transaction of this
        process that bumped a feed version commits; other processes' changes are not told."""
        self._feed_listeners.append(listener)

    def feed_version(self, center: str) -> int:
        rows = list(self.db.query("SELECT version FROM feed_versions WHERE center = ?", [center]))
        return rows[0]["version"] if rows else 0
