"""The SLA reports read from a read replica when the city is given one: a real standby streaming
from the test cluster (pg_basebackup -R), not a second copy."""
from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from city.city import City
from city.db import CityDBError
from city.local_cluster import LocalCluster
from city.reports import make_report
from tests.helpers.postgres import fresh_database
from tests.test_city_reports import DAYS, NOW, made_up_history, store

pytestmark = pytest.mark.slow


def caught_up(primary_dsn: str, replica_dsn: str, timeout: float = 30) -> None:
    with psycopg.connect(primary_dsn, autocommit=True) as primary:
        # The insert position: a commit without fsync (a test cluster) may not be written out yet.
        wanted = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(replica_dsn, autocommit=True) as replica:
        while not replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [wanted]).fetchone()[0]:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


def test_reports_read_the_replica_and_the_rest_the_primary(pg_cluster: LocalCluster, tmp_path: Path) -> None:
    dsn = fresh_database(pg_cluster)
    name = dsn.rsplit("dbname=", 1)[1]
    history = made_up_history()
    with psycopg.connect(dsn) as conn:
        store(conn, history)
    replica = LocalCluster(tmp_path / "replica").start_replica_of(pg_cluster)
    try:
        replica_dsn = replica.dsn(name)
        caught_up(dsn, replica_dsn)
        city = City(dsn, lambda: NOW, pool_size=2, reports_dsn=replica_dsn)
        try:
            whole = make_report(city, DAYS[0], DAYS[-1], by="center")
            assert sum(r["issued"] for r in whole["rows"]) == len(history)
            # While the standby is paused, a ticket added on the primary is not in the report yet:
            # the report read the replica, not the primary.
            with psycopg.connect(replica_dsn, autocommit=True) as standby:
                standby.execute("SELECT pg_wal_replay_pause()")
            with city.db.connection() as conn:
                conn.execute("INSERT INTO tickets (center, id, number, service, day, state, issued_at, hub_seq) "
                             "VALUES ('arbat', 'late-one', 'А2', 'passport', %s, 'waiting', %s, 9999)",
                             [DAYS[-1], NOW])
            assert sum(r["issued"] for r in make_report(city, DAYS[0], DAYS[-1])["rows"]) == len(history)
            with psycopg.connect(replica_dsn, autocommit=True) as standby:
                standby.execute("SELECT pg_wal_replay_resume()")
            caught_up(dsn, replica_dsn)
            assert sum(r["issued"] for r in make_report(city, DAYS[0], DAYS[-1])["rows"]) == len(history) + 1
        finally:
            city.close()
        with psycopg.connect(replica_dsn) as standby, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            standby.execute("INSERT INTO hubs (id) VALUES ('not-here')")
    finally:
        replica.stop()


def test_an_unreachable_replica_is_one_line(pg_cluster: LocalCluster) -> None:
    dsn = fresh_database(pg_cluster)
    with pytest.raises(CityDBError, match="cannot reach the city's read replica") as caught:
        City(dsn, reports_dsn=f"host=127.0.0.1 port={pg_cluster.port} user=mfc dbname=no_such connect_timeout=2")
    assert "\n" not in str(caught.value)
