"""A private PostgreSQL for the city's tests: one cluster for the whole run (city/local_cluster.py),
a fresh database for each test, made from a template that already has the city's schema."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from city.db import migrate
from city.local_cluster import LocalCluster

TEMPLATE = "city_template"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(Path(tmp_path_factory.mktemp("postgres"))).start()
    try:
        dsn = cluster.create_database(TEMPLATE)
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        yield cluster
    finally:
        cluster.stop()


def fresh_database(cluster: LocalCluster, schema: bool = True) -> str:
    """A new database of the cluster, with the city's schema or empty; its DSN."""
    name = f"city_{next(_numbers)}"
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{TEMPLATE}"' if schema else ""))
    return cluster.dsn(name)


@pytest.fixture
def city_dsn(pg_cluster: LocalCluster) -> str:
    """A database of its own for the test, with the city's schema."""
    return fresh_database(pg_cluster)
