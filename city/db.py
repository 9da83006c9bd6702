"""The city's PostgreSQL: a pool of connections and the schema's steps.

The steps are plain SQL files in city/migrations/, applied in the order of their names; the
names applied are kept in `schema_steps`. Several city processes may start at once: the first
takes a transaction-level advisory lock and the others wait for it, then find nothing to do.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

MIGRATIONS_LOCK = 7_130_019  # any constant: the key of the advisory lock the steps run under


class CityDBError(RuntimeError):
    """The city's database cannot be used; the message says why in one line."""


def steps() -> list[tuple[str, str]]:
    """(name, SQL) of every step, in order."""
    folder = resources.files("city") / "migrations"
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".sql"))


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the steps `conn`'s database lacks, all in one transaction; the names applied."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATIONS_LOCK])
        conn.execute("CREATE TABLE IF NOT EXISTS schema_steps (name text PRIMARY KEY, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        done = {r[0] for r in conn.execute("SELECT name FROM schema_steps")}
        known = steps()
        unknown = done - {name for name, _ in known}
        if unknown:
            raise CityDBError(f"the database has schema steps this city does not know ({', '.join(sorted(unknown))}): "
                              "run the mfc-edge that made them, or a newer one")
        applied = []
        for name, sql in known:
            if name not in done:
                conn.execute(sql.encode())  # a whole script: several statements, no parameters
                conn.execute("INSERT INTO schema_steps (name) VALUES (%s)", [name])
                applied.append(name)
    return applied


class CityDB:
    """`with db.connection() as conn:` one transaction on a pooled connection (dict rows)."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10, replica: bool = False):
        """`replica`: a read-only copy streaming from the primary (reports read there): its
        schema is the primary's, so it is only reached, never migrated."""
        self.dsn = dsn
        what = "the city's read replica" if replica else "the city's database"
        try:
            with psycopg.connect(dsn, connect_timeout=10) as conn:
                applied = [] if replica else migrate(conn)
        except psycopg.OperationalError as exc:
            raise CityDBError(f"cannot reach {what}: {str(exc).strip().splitlines()[-1]}") from None
        if applied:
            log.info("city schema: applied %s", ", ".join(applied))
        self.pool = ConnectionPool(dsn, min_size=min_size, max_size=max_size, open=True,
                                   kwargs={"row_factory": dict_row}, name="city-replica" if replica else "city")

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self.pool.connection() as conn:
            yield conn

    def close(self) -> None:
        self.pool.close()
