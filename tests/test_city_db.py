"""The city's database: a private PostgreSQL cluster, the schema's steps applied once."""
from __future__ import annotations

import threading

import psycopg
import pytest

from city.city import City
from city.db import CityDBError, migrate, steps
from city.local_cluster import LocalCluster
from tests.helpers.postgres import fresh_database


def test_every_step_is_applied_once_even_by_processes_starting_together(pg_cluster: LocalCluster) -> None:
    dsn = fresh_database(pg_cluster, schema=False)
    applied: list[list[str]] = []

    def start() -> None:
        with psycopg.connect(dsn) as conn:
            applied.append(migrate(conn))

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = [name for name, _ in steps()]
    assert sorted(applied, key=len) == [[], [], names]
    with psycopg.connect(dsn) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM schema_steps ORDER BY name")] == names


def test_a_database_from_a_newer_city_is_refused(city_dsn: str) -> None:
    with psycopg.connect(city_dsn) as conn:
        conn.execute("INSERT INTO schema_steps (name) VALUES ('9999_from_the_future.sql')")
    with pytest.raises(CityDBError, match="9999_from_the_future.sql"):
        City(city_dsn)


def test_an_unreachable_database_is_one_line(pg_cluster: LocalCluster) -> None:
    with pytest.raises(CityDBError, match="cannot reach the city's database") as caught:
        City(f"host=127.0.0.1 port={pg_cluster.port} user=mfc dbname=no_such_database connect_timeout=2")
    assert "\n" not in str(caught.value)
