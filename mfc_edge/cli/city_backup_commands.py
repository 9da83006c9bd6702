"""`mfc-edge city backup` and `city restore`: the city's database through pg_dump and pg_restore
(city/backups.py; production's base backups and replicas: README, "A city of centers")."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError


def cmd_city_backup(args: argparse.Namespace) -> int:
    from city.backups import CityBackupError, dump
    from mfc_edge.cli.city_commands import dsn_of

    try:
        made = dump(dsn_of(args), args.out)
    except CityBackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"the city's database is dumped to {made} ({made.stat().st_size} bytes)")
    return 0


def cmd_city_restore(args: argparse.Namespace) -> int:
    from city.backups import CityBackupError, restore
    from mfc_edge.cli.city_commands import dsn_of

    try:
        done = restore(dsn_of(args), args.source, clean=args.clean)
    except CityBackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"restored {args.source}: schema steps {', '.join(done.steps)}")
    if done.behind:
        print(f"steps {', '.join(done.behind)} are applied when the city starts (or by mfc-edge city migrate)")
    return 0


def register(sub: Any) -> None:
    """Add this module's subcommands to `mfc-edge city` (`sub`: its subparsers)."""
    from mfc_edge.cli.city_commands import add_dsn

    q = sub.add_parser("backup", help="Dump the city's database to a file (pg_dump, custom format).",
                       description="Dump the city's database with the server's pg_dump into one compressed file "
                                   "(0600), replaced whole or not at all. A password belongs in ~/.pgpass, "
                                   "PGPASSFILE or the DSN, and is never put on pg_dump's command line.")
    add_dsn(q)
    q.add_argument("--out", type=Path, required=True, help="the dump file to write")
    q.set_defaults(func=cmd_city_backup)

    q = sub.add_parser("restore", help="Restore a dump into an empty database (pg_restore).",
                       description="Restore a dump made by `mfc-edge city backup` into the database --dsn names, "
                                   "in one transaction, and check its schema steps. The database must be empty "
                                   "(createdb a new one) unless --clean; a dump from a newer mfc-edge is refused.")
    add_dsn(q)
    q.add_argument("--from", dest="source", type=Path, required=True, help="the dump file")
    q.add_argument("--clean", action="store_true",
                   help="drop what the database holds of the dump's objects first (replacing a city's data)")
    q.set_defaults(func=cmd_city_restore)
