"""Backups of the hub's SQLite file, on a schedule and by hand, and restoring one.

A backup is one file, `hub-YYYYMMDDTHHMMSSZ.sqlite` (UTC), made with SQLite's online backup API
from a connection of its own: in WAL mode that connection reads one snapshot while the hub's
writers go on, so the hub keeps serving. The copy is written under a hidden temporary name,
fsynced, checked with `PRAGMA integrity_check`, then renamed into place; it is 0600, like the
hub's own file, since it holds password hashes and token hashes.

The copy is made in one step, not page by page: SQLite restarts a stepped backup whenever
another connection writes between two steps, and a busy hub writes several times a second, so
a stepped backup of a large file may never end. One step holds a read snapshot only, which
in WAL mode blocks no writer (the WAL grows a little until the copy ends).

Two secrets of the data folder are copied beside the backups, 0600 (`SECRETS`): the hub's
Ed25519 bundle-signing key, which devices pin when they enroll (a hub restored on a new machine
without it would sign bundles every device refuses), and the token of its link to the city
(without it the restored hub cannot forward to its city until it joins again). They seldom
change, so one copy of each serves every backup. The center's TLS files (ca.key, hub.key) live
apart, in `mfc-edge hub tls`'s folder, and are backed up once when made; blobs/ (published
assets) and wheels/ are content their editors keep.

`mfc-edge hub --backup-dir` backs up while the hub serves (hub/backup_schedule.py).
Retention (`Retention`): the newest `keep` backups, and the newest backup of each of the last
`days` UTC days; every other file of ours in the folder is deleted after each backup. One
backup folder per hub.

`restore` refuses while a hub serves the data folder: a serving hub holds an exclusive lock on
`hub.lock` in it (`hold_folder`), which restore takes too for the time of the swap.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub import schema
from hub.bundles import KEY_FILE
from hub.city_link import TOKEN_FILE
from hub.db import PRIVATE_FILE, PRIVATE_FOLDER, HubDB, private_folder
from mfc_edge.files import DataFolderError, atomic_write, fsync_dir

log = logging.getLogger(__name__)

DB_FILE = "hub.sqlite"
LOCK_FILE = "hub.lock"
_NAME = re.compile(r"hub-(\d{8}T\d{6}Z)\.sqlite")
_STAMP = "%Y%m%dT%H%M%SZ"
# The data folder's secrets a restored hub needs, kept beside the backups (0600): each with the
# table whose rows say the hub had it, and what the hub cannot do without it.
SECRETS = {
    KEY_FILE: ("devices", "the hub makes a new signing key, and devices enrolled before refuse its bundles until "
                          "they are enrolled again"),
    TOKEN_FILE: ("city_link", "the hub is linked to its city but cannot speak to it: join the city again "
                              "(mfc-edge hub join-city)"),
}
# A temporary copy this old is left by a backup that died (power cut): nobody is still writing it.
STALE_PARTIAL = timedelta(hours=1)


class BackupError(RuntimeError):
    """A backup that cannot be made, listed or restored; the message says why in one line."""


@dataclass(frozen=True)
class Retention:
    keep: int = 8  # the newest 8: two days at the default of one every 6 hours
    days: int = 30  # and the newest of each of the last 30 days


@dataclass(frozen=True)
class Backup:
    path: Path
    at: datetime
    size: int


@dataclass(frozen=True)
class Restored:
    set_aside: Path | None  # where the replaced file (and key) went; None if the folder had none
    schema_version: int
    warnings: list[str] = field(default_factory=list)


def backup_name(now: datetime) -> str:
    return f"hub-{now.astimezone(UTC).strftime(_STAMP)}.sqlite"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "no space left on the device"
        return exc.strerror or str(exc)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def backup(hub_db: HubDB, folder: Path, now: datetime, retention: Retention | None = None) -> Path:
    """Copy the hub's file into `folder` as of `now`; the new backup's path. Older backups beyond
    `retention` are deleted afterwards."""
    folder = _backup_folder(folder)
    target = folder / backup_name(now)
    if target.exists():
        raise BackupError(f"{target}: a backup of this second exists already")
    _remove_stale_partials(folder, now)
    partial = folder / f".{target.name}.partial"
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE))
        source = sqlite3.connect(hub_db.path, timeout=30)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
                # A backup is one self-contained file: no -wal beside it to lose when it is copied away.
                copy.execute("PRAGMA journal_mode=DELETE")
                problem = _problem(copy)
            finally:
                copy.close()
        finally:
            source.close()
        if problem:
            raise BackupError(f"the copy failed its check ({problem}): {hub_db.path} may be damaged")
        _fsync(partial)
        os.replace(partial, target)
        fsync_dir(folder)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup into {folder} failed: {_one_line(exc)}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _keep_secrets(hub_db.path.parent, folder)
    prune(folder, retention or Retention(), now)
    return target


def list_backups(folder: Path) -> list[Backup]:
    """The backups in `folder`, newest first."""
    try:
        names = [p for p in Path(folder).iterdir() if _NAME.fullmatch(p.name)]
    except FileNotFoundError:
        raise BackupError(f"{folder}: no such folder") from None
    except OSError as exc:
        raise BackupError(f"{folder}: cannot be read: {_one_line(exc)}") from None
    found = []
    for path in names:
        stamp = _NAME.fullmatch(path.name)
        assert stamp is not None
        try:
            size = path.stat().st_size
        except FileNotFoundError:  # pruned by another backup meanwhile
            continue
        found.append(Backup(path, datetime.strptime(stamp[1], _STAMP).replace(tzinfo=UTC), size))
    return sorted(found, key=lambda b: b.at, reverse=True)


def to_keep(backups: list[Backup], retention: Retention, now: datetime) -> set[Path]:
    """The rule: the newest `keep`, and the newest of each UTC day within the last `days`."""
    newest_first = sorted(backups, key=lambda b: b.at, reverse=True)
    kept = {b.path for b in newest_first[:max(retention.keep, 1)]}
    first_day = now.astimezone(UTC).date() - timedelta(days=retention.days - 1)
    days_seen: set[object] = set()
    for b in newest_first:
        day = b.at.date()
        if day >= first_day and day not in days_seen:
            days_seen.add(day)
            kept.add(b.path)
    return kept


def prune(folder: Path, retention: Retention, now: datetime) -> list[Path]:
    """Delete the backups `retention` does not keep; those deleted."""
    backups = list_backups(folder)
    kept = to_keep(backups, retention, now)
    removed = []
    for b in backups:
        if b.path not in kept:
            b.path.unlink(missing_ok=True)
            removed.append(b.path)
    return removed


def check_backup(path: Path, shown: Path | None = None) -> int:
    """The schema version of the hub file at `path`; BackupError when it is damaged, not a hub's
    file, or newer than this hub's schema. `path` is opened for writing: check a copy, and name
    the original (`shown`) in the errors."""
    name = shown or path
    try:
        conn = sqlite3.connect(path)
        try:
            problem = _problem(conn)
            if problem:
                raise BackupError(f"{name}: damaged ({problem}): choose another backup")
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tickets'").fetchone():
                raise BackupError(f"{name}: not a hub backup (no tickets table)")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{name}: not a hub backup, or damaged ({_one_line(exc)})") from None
    if version > len(schema.MIGRATIONS):
        raise BackupError(f"{name}: its schema is version {version}, newer than this hub's {len(schema.MIGRATIONS)}: "
                          "restore it with the mfc-edge that made it, or a newer one")
    return version


def restore(backup_file: Path, data_dir: Path, now: datetime) -> Restored:
    """Make `backup_file` the hub's file in `data_dir`. The file it replaces (with its -wal and
    -shm) is moved to `data_dir/replaced-<time>/`, never deleted. Refused while a hub serves
    `data_dir`; nothing changes when the backup is damaged, not a hub's or too new."""
    backup_file, data_dir = Path(backup_file), Path(data_dir)
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such backup file")
    private_folder(data_dir)
    with hold_folder(data_dir, "a restore"):
        incoming = data_dir / f".{DB_FILE}.restoring"
        try:
            _copy_private(backup_file, incoming)
            version = check_backup(incoming, backup_file)
            aside = _set_aside(data_dir, now)
            os.replace(incoming, data_dir / DB_FILE)
            fsync_dir(data_dir)
        except OSError as exc:
            raise BackupError(f"restore into {data_dir} failed: {_one_line(exc)}") from None
        finally:
            incoming.unlink(missing_ok=True)
        warnings = _restore_secrets(backup_file.parent, data_dir, aside, now)
    return Restored(aside, version, warnings)


@contextmanager
def hold_folder(data_dir: Path, holder: str) -> Iterator[None]:
    """Hold `data_dir` for one hub or one restore at a time (an exclusive lock on its hub.lock,
    which the system drops when the process ends, however it ends)."""
    path = Path(data_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    except OSError as exc:
        raise DataFolderError(f"{path}: cannot be opened: {_one_line(exc)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise DataFolderError(f"{data_dir}: in use by {other}: stop it first") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder} (process {os.getpid()})".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _backup_folder(folder: Path) -> Path:
    try:
        return private_folder(Path(folder))
    except DataFolderError as exc:
        raise BackupError(str(exc)) from None


def _problem(conn: sqlite3.Connection) -> str | None:
    """What `PRAGMA integrity_check` finds wrong, in one line; None when the file is sound."""
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    return None if rows == ["ok"] else "; ".join(rows[:3])


def _has_rows(path: Path, table: str) -> bool:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def _remove_stale_partials(folder: Path, now: datetime) -> None:
    for partial in folder.glob(".hub-*.sqlite.partial"):
        try:
            if datetime.fromtimestamp(partial.stat().st_mtime, UTC) < now - STALE_PARTIAL:
                partial.unlink()
        except FileNotFoundError:
            pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_private(source: Path, target: Path) -> None:
    try:
        reader = open(source, "rb")
    except OSError as exc:
        raise BackupError(f"{source}: cannot be read: {_one_line(exc)}") from None
    with reader, open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "wb") as writer:
        try:
            shutil.copyfileobj(reader, writer, 1024 * 1024)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise
            raise BackupError(f"{source}: cannot be read: {_one_line(exc)}") from None
        writer.flush()
        os.fsync(writer.fileno())


def _set_aside(data_dir: Path, now: datetime) -> Path | None:
    """Move the hub's file and its -wal and -shm together (a -wal left beside another file would
    be replayed into it) into a new folder; that folder, or None when there was no file."""
    files = [data_dir / f"{DB_FILE}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    if not files[0].exists():
        for leftover in files[1:]:
            leftover.unlink(missing_ok=True)
        return None
    aside = data_dir / f"replaced-{now.astimezone(UTC).strftime(_STAMP)}"
    aside.mkdir(mode=PRIVATE_FOLDER)
    for path in files:
        if path.exists():
            os.rename(path, aside / path.name)
    fsync_dir(data_dir)
    return aside


def _keep_secrets(data_dir: Path, folder: Path) -> None:
    for name in SECRETS:
        secret, kept = data_dir / name, folder / name
        try:
            if secret.exists() and (not kept.exists() or kept.read_bytes() != secret.read_bytes()):
                atomic_write(kept, secret.read_bytes(), mode=PRIVATE_FILE)
        except OSError as exc:
            raise BackupError(f"{name} could not be copied into {folder}: {_one_line(exc)}") from None


def _restore_secrets(folder: Path, data_dir: Path, aside: Path | None, now: datetime) -> list[str]:
    warnings = []
    for name, (table, without_it) in SECRETS.items():
        kept, secret = folder / name, data_dir / name
        if not kept.exists():
            if not secret.exists() and _has_rows(data_dir / DB_FILE, table):
                warnings.append(f"no {name} beside the backup: {without_it}")
            continue
        if secret.exists() and secret.read_bytes() == kept.read_bytes():
            continue
        if secret.exists():
            aside = aside or data_dir / f"replaced-{now.astimezone(UTC).strftime(_STAMP)}"
            aside.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
            os.rename(secret, aside / name)
        atomic_write(secret, kept.read_bytes(), mode=PRIVATE_FILE)
    return warnings
