"""A private PostgreSQL cluster in a folder: the demo's city, the tests' and the benchmarks'.

Production runs the city against a managed PostgreSQL (README, "A city of centers"); this starts
Debian's own server binaries on 127.0.0.1 with a socket in the folder, for as long as it is
needed. `initdb` refuses to run as root: as root the folder is handed to the `postgres` user and
the binaries run as that user with `runuser`, in a folder of its own under the system's
temporary folder (a test's folder is private to root, and `postgres` could not reach into it).
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "mfc"


class ClusterError(RuntimeError):
    """The cluster could not be made or started; the message says why in one line."""


def bin_dir() -> Path:
    """Where Debian keeps the server's programs (pg_ctl, initdb are not on PATH there)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ClusterError("PostgreSQL's server is not installed: run ./setup.sh install (Debian package postgresql)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCluster:
    """`with LocalCluster(folder) as cluster:` a running server; `cluster.dsn(database)`."""

    def __init__(self, folder: Path, port: int | None = None, *, durable: bool = False):
        """`durable`: fsync as a production server does (benchmarks); otherwise the server
        skips it, since a test's or the demo's cluster is thrown away."""
        self.durable = durable
        self.port = port or free_port()
        self._as_postgres = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="mfc-city-pg-")) if self._as_postgres else Path(folder)
        self.data = self.folder / "data"

    def _run(self, *args: str) -> None:
        command = [str(bin_dir() / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
            raise ClusterError(f"{args[0]} failed: {last[0]}")

    def start(self) -> LocalCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.folder.chmod(0o700)
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-sync")
        options = f"-k {self.folder} -c listen_addresses=127.0.0.1 -p {self.port} -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
                  "-w", "-t", "60", "start")
        return self

    def start_replica_of(self, primary: LocalCluster) -> LocalCluster:
        """Start this cluster as a read replica streaming from `primary` (pg_basebackup -R), as a
        city's reports would read from one."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.folder.chmod(0o700)
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER, "-D", str(self.data),
                  "-R", "-X", "stream", "-c", "fast")
        return self.start()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        if self._as_postgres:
            shutil.rmtree(self.folder, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its DSN."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
