"""The city's database dumped and restored: the same rows and schema steps in a fresh database of
the test cluster; non-empty targets, foreign files and newer dumps refused; errors in one line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from city import backups
from city.backups import CityBackupError, dump, restore, steps_in
from city.db import CityDB, steps
from city.local_cluster import LocalCluster
from tests.helpers.postgres import fresh_database

FILL = """
INSERT INTO hubs (id, token_hash, last_contact, last_seq) VALUES ('hub-1', 'ab12', '2026-11-26 09:00+00', 3);
INSERT INTO hub_codes (code_hash, hub, centers, expires_at) VALUES ('cd34', 'hub-2', '{khimki}', '2026-11-27 09:00+00');
INSERT INTO centers (id, name, district, hub) VALUES ('strogino', 'МФЦ Строгино', 'СЗАО', 'hub-1');
INSERT INTO log (center, id, hub, seq, type, at, body) VALUES
    ('strogino', 'e1', 'hub-1', 1, 'ticket.issued', '2026-11-26 07:00+00', '{"number": "А001"}'),
    ('strogino', 'e2', 'hub-1', 2, 'hub.ticket', '2026-11-26 07:01+00', '{"state": "called"}'),
    ('strogino', 'e3', 'hub-1', 3, 'hub.window', '2026-11-26 07:01+00', '{"window": "1"}');
INSERT INTO tickets (center, id, number, service, day, state, issued_at, called_at, "window", hub_seq)
    VALUES ('strogino', 't1', 'А001', 'passport-rf', '2026-11-26', 'called', '2026-11-26 07:00+00',
            '2026-11-26 07:01+00', '1', 2);
INSERT INTO windows (center, "window", open_since, services, operator, hub_seq)
    VALUES ('strogino', '1', '2026-11-26 06:00+00', '{passport-rf}', 'Иванова', 3);
INSERT INTO devices (center, id, role, online, hub_seq) VALUES ('strogino', 'kiosk-1', 'kiosk', true, 1);
INSERT INTO ratings (center, event, "window", score, scale, day, at, hub_seq)
    VALUES ('strogino', 'r1', '1', 5, 5, '2026-11-26', '2026-11-26 07:20+00', 3);
"""


def fingerprint(dsn: str) -> dict[str, str]:
    """Every table of the database: its rows, digested in a stable order."""
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")]
        return {t: conn.execute(f'SELECT count(*) || \':\' || coalesce(md5(string_agg(r::text, \'|\' '
                                f'ORDER BY r::text)), \'\') FROM "{t}" r').fetchone()[0] for t in tables}


def filled(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        conn.execute(FILL.encode())
    return dsn


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mfc_edge.cli", *args], capture_output=True, text=True, timeout=120)


def test_a_dump_restores_into_a_fresh_database_with_the_same_rows_and_steps(city_dsn, pg_cluster, tmp_path):
    filled(city_dsn)
    made = dump(city_dsn, tmp_path / "dumps" / "city.dump")
    assert made.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in made.parent.iterdir()) == ["city.dump"]  # no temporary left
    known = [name for name, _ in steps()]
    assert steps_in(made) == known

    target = fresh_database(pg_cluster, schema=False)
    done = restore(target, made)
    assert done.steps == known and done.behind == []
    before, after = fingerprint(city_dsn), fingerprint(target)
    assert after == before and before["log"].startswith("3:") and before["tickets"].startswith("1:")
    with psycopg.connect(target) as conn:  # the log's city-wide order goes on after the restored rows
        top = conn.execute("SELECT max(city_seq) FROM log").fetchone()[0]
        new = conn.execute("INSERT INTO log (center, id, hub, seq, type, at, body) VALUES ('strogino', 'e4', "
                           "'hub-1', 4, 'ticket.called', now(), '{}') RETURNING city_seq").fetchone()[0]
    assert new > top
    CityDB(target).close()  # a city starts on it: nothing to migrate, nothing refused


@pytest.mark.slow
def test_a_database_holding_anything_is_refused_unless_cleaned(city_dsn, pg_cluster, tmp_path):
    made = dump(filled(city_dsn), tmp_path / "city.dump")
    other = fresh_database(pg_cluster)  # the schema, no rows
    with psycopg.connect(other) as conn:
        conn.execute("INSERT INTO hubs (id) VALUES ('hub-9')")
    with pytest.raises(CityBackupError, match="the database is not empty"):
        restore(other, made)
    assert fingerprint(other)["hubs"].startswith("1:")  # untouched
    done = cli("city", "restore", "--dsn", other, "--from", str(made))
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "not empty" in done.stderr
    done = cli("city", "restore", "--dsn", other, "--from", str(made), "--clean")
    assert done.returncode == 0, done.stderr
    assert fingerprint(other) == fingerprint(city_dsn)


def test_a_dump_from_a_newer_city_is_refused_before_anything_is_written(city_dsn, pg_cluster, tmp_path):
    with psycopg.connect(city_dsn) as conn:
        conn.execute("INSERT INTO schema_steps (name) VALUES ('9999_future.sql')")
    made = dump(city_dsn, tmp_path / "city.dump")
    target = fresh_database(pg_cluster, schema=False)
    with pytest.raises(CityBackupError, match=r"newer mfc-edge \(schema steps 9999_future.sql\)"):
        restore(target, made)
    assert fingerprint(target) == {}


def test_files_that_are_not_a_city_dump_are_one_line(city_dsn, pg_cluster, tmp_path):
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"PGDMP but not really" * 10)
    with pytest.raises(CityBackupError, match="pg_restore failed") as refused:
        restore(fresh_database(pg_cluster, schema=False), junk)
    assert "\n" not in str(refused.value)
    plain = fresh_database(pg_cluster, schema=False)
    with psycopg.connect(plain) as conn:
        conn.execute("CREATE TABLE notes (x int)")
    foreign = dump(plain, tmp_path / "foreign.dump")
    with pytest.raises(CityBackupError, match="not of a city"):
        restore(fresh_database(pg_cluster, schema=False), foreign)
    with pytest.raises(CityBackupError, match="no such file"):
        restore(city_dsn, tmp_path / "missing.dump")


@pytest.mark.slow
def test_a_bad_dsn_is_one_line_and_leaves_no_file(tmp_path, pg_cluster: LocalCluster):
    out = tmp_path / "city.dump"
    unreachable = f"host=127.0.0.1 port={pg_cluster.port} user=mfc dbname=no_such_city"
    for args in (("city", "backup", "--dsn", unreachable, "--out", str(out)),
                 ("city", "backup", "--dsn", "host=127.0.0.1 port=notaport = =", "--out", str(out)),
                 ("city", "restore", "--dsn", unreachable, "--from", str(out))):
        done = cli(*args)
        assert done.returncode != 0 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, args
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_the_password_goes_to_the_tools_through_the_environment_not_their_command_line(
        city_dsn, tmp_path, monkeypatch):
    seen: list[tuple[list[str], dict[str, str]]] = []
    real_run = subprocess.run

    def watched(command, **kwargs):
        seen.append((command, kwargs["env"]))
        return real_run(command, **kwargs)

    monkeypatch.setattr(backups.subprocess, "run", watched)
    dump(f"{city_dsn} password=s3cret-word", tmp_path / "city.dump")  # the test cluster trusts 127.0.0.1
    command, env = seen[0]
    assert Path(command[0]).name == "pg_dump"
    assert not any("s3cret" in part for part in command)
    assert env["PGPASSWORD"] == "s3cret-word"
