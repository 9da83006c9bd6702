"""The city's database dumped with pg_dump and restored with pg_restore: enough for a small city.

A production city keeps base backups (pg_basebackup) with WAL archiving for point-in-time
recovery, and streaming replicas (README, "A city of centers"); a dump is what moves a city to
another server, or keeps a nightly copy of a small one.

pg_dump and pg_restore are the server's own (city/local_cluster.py `bin_dir()`, the newest
installed: a dump tool older than the server refuses it). The database is named by the same
libpq string the city uses; a password in it is handed to the tools through the environment
(PGPASSWORD), never on their command line, where every user of the machine could read it. A
password in ~/.pgpass or PGPASSFILE works as it does for the city.

A dump is pg_dump's custom format (-Fc: compressed, restorable table by table), written under a
temporary name, fsynced and renamed; 0600, since it holds token hashes and accounts. A restore
goes into an empty database only (or one emptied first, `clean`), in one transaction, and checks
the schema steps: a dump made by a newer mfc-edge, with steps this one does not know, is refused
before anything is written.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from city.db import steps
from city.local_cluster import ClusterError, bin_dir
from mfc_edge.files import fsync_dir, make_folder

TIMEOUT_S = 6 * 3600  # a large city's dump takes a while; a hung tool must still end
_USER_OBJECTS = """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"""


class CityBackupError(RuntimeError):
    """A dump or restore that cannot be done; the message says why in one line."""


@dataclass(frozen=True)
class RestoredCity:
    steps: list[str]  # the schema steps the restored database has
    behind: list[str]  # steps this mfc-edge knows and the dump lacks: the city applies them when it starts


def _connection(dsn: str) -> tuple[str, dict[str, str]]:
    """`dsn` without its password, and the environment that carries the password instead."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise CityBackupError(f"not a libpq connection string: {_last_line(str(exc))}") from None
    env = dict(os.environ, PGCONNECT_TIMEOUT=os.environ.get("PGCONNECT_TIMEOUT", "10"))
    password = parts.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in parts.items()}), env


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    return (errors or lines or ["no output"])[-1]


def _run(tool: str, args: list[str], env: dict[str, str]) -> str:
    try:
        command = [str(bin_dir() / tool), *args]
    except ClusterError as exc:
        raise CityBackupError(str(exc)) from None
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CityBackupError(f"{tool} did not finish within {TIMEOUT_S // 3600} hours") from None
    except OSError as exc:
        raise CityBackupError(f"{tool} cannot be run: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise CityBackupError(f"{tool} failed: {_last_line(done.stderr or done.stdout)}")
    return done.stdout


def dump(dsn: str, out: Path) -> Path:
    """The city's database into `out` (pg_dump -Fc); `out` is replaced whole or not at all."""
    out = Path(out)
    conninfo, env = _connection(dsn)
    try:
        make_folder(out.parent)
        partial = out.with_name(f".{out.name}.partial")
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    except OSError as exc:
        raise CityBackupError(f"{out}: cannot be written: {exc.strerror or exc}") from None
    try:
        _run("pg_dump", ["--format=custom", "--file", str(partial), "--dbname", conninfo], env)
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, out)
        fsync_dir(out.parent)
    except OSError as exc:
        raise CityBackupError(f"{out}: cannot be written: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return out


def steps_in(archive: Path) -> list[str]:
    """The schema steps recorded in a dump; CityBackupError when it is not a city's dump."""
    if not Path(archive).is_file():
        raise CityBackupError(f"{archive}: no such file")
    env = dict(os.environ)
    listing = _run("pg_restore", ["--list", str(archive)], env)
    if " TABLE DATA public schema_steps " not in listing:
        raise CityBackupError(f"{archive}: a PostgreSQL dump, but not of a city (no schema_steps)")
    data = _run("pg_restore", ["--data-only", "--table=schema_steps", "--file=-", str(archive)], env)
    found, copying = [], False
    for line in data.splitlines():
        if line.startswith("COPY ") and "schema_steps" in line:
            copying = True
        elif copying and line == "\\.":
            break
        elif copying:
            found.append(line.split("\t", 1)[0])
    return sorted(found)


def restore(dsn: str, archive: Path, clean: bool = False) -> RestoredCity:
    """Restore a dump into the database `dsn` names: an empty one, or any with `clean` (its
    objects of the same names are dropped first). All or nothing: one transaction."""
    archive = Path(archive)
    dumped = steps_in(archive)
    known = [name for name, _ in steps()]
    newer = sorted(set(dumped) - set(known))
    if newer:
        raise CityBackupError(f"{archive}: made by a newer mfc-edge (schema steps {', '.join(newer)}): restore it "
                              "with that version, or a newer one")
    conninfo, env = _connection(dsn)
    if not clean and _objects(dsn) > 0:
        raise CityBackupError("the database is not empty: restore into a new one (createdb), or give --clean to "
                              "replace what it holds")
    args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname", conninfo]
    if clean:
        args[:0] = ["--clean", "--if-exists"]
    _run("pg_restore", [*args, str(archive)], env)
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            restored = sorted(r[0] for r in conn.execute("SELECT name FROM schema_steps"))
    except psycopg.Error as exc:
        raise CityBackupError(f"restored, but the schema steps cannot be read: {_last_line(str(exc))}") from None
    if restored != dumped:
        raise CityBackupError(f"restored, but the database's schema steps ({', '.join(restored)}) are not the "
                              f"dump's ({', '.join(dumped)})")
    return RestoredCity(restored, [name for name in known if name not in restored])


def _objects(dsn: str) -> int:
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            row = conn.execute(_USER_OBJECTS).fetchone()
    except psycopg.Error as exc:
        raise CityBackupError(f"cannot reach the database: {_last_line(str(exc))}") from None
    return int(row[0]) if row else 0
