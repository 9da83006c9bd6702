"""`mfc-edge city`: run a city process and look after the city (README, "A city of centers").

The database is named by `--dsn` or the environment's MFC_CITY_DSN, in libpq's form
("host=... dbname=... user=..." or a postgresql:// URL); a password belongs in libpq's
~/.pgpass or PGPASSFILE, never on the command line.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

from mfc_edge.cli import (
    city_backup_commands,
    city_dashboard_commands,
    city_hub_commands,
    city_integration_commands,
    city_publish_commands,
)
from mfc_edge.cli.arguments import CommandError, port
from mfc_edge.cli.device_commands import AddCommand

DSN_ENV = "MFC_CITY_DSN"
REPORTS_DSN_ENV = "MFC_CITY_REPORTS_DSN"


def dsn_of(args: argparse.Namespace) -> str:
    found: str | None = args.dsn or os.environ.get(DSN_ENV)
    if not found:
        raise CommandError(f"name the city's database: --dsn or {DSN_ENV} (\"host=... dbname=... user=...\")")
    return found


def reports_dsn_of(args: argparse.Namespace) -> str | None:
    found: str | None = getattr(args, "reports_dsn", None) or os.environ.get(REPORTS_DSN_ENV)
    return found


def open_city(args: argparse.Namespace) -> Any:
    """The City on the database the flags name; a one-line CommandError when it cannot be used."""
    from city.city import City
    from city.db import CityDBError

    try:
        return City(dsn_of(args), pool_size=2, reports_dsn=reports_dsn_of(args))
    except CityDBError as exc:
        raise CommandError(str(exc)) from None


def cmd_city(args: argparse.Namespace) -> int:
    from city.server import serve

    port(args.port)
    serve(dsn_of(args), args.host, args.port, reports_dsn=reports_dsn_of(args))
    return 0


def cmd_city_migrate(args: argparse.Namespace) -> int:
    city = open_city(args)
    city.close()
    print("the city's schema is up to date")
    return 0


def add_dsn(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dsn", help=f"the city's PostgreSQL (libpq form); default: ${DSN_ENV}")


def register(add: AddCommand) -> None:
    p = add("city", cmd_city, "Run a city process: the hubs' log, the dashboard, public waiting times, "
                              "publishing and the integration API, on PostgreSQL.")
    add_dsn(p)
    p.add_argument("--reports-dsn", help="a read replica the SLA reports read from (libpq form); default: "
                                         f"${REPORTS_DSN_ENV}, else the primary")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8100, help="TCP port (default 8100)")
    sub = p.add_subparsers(dest="city_command", metavar="CITY_COMMAND")
    q = sub.add_parser("migrate", help="Bring the city's schema up to date and stop.",
                       description="Bring the city's schema up to date and stop.")
    add_dsn(q)
    q.set_defaults(func=cmd_city_migrate)
    for module in (city_hub_commands, city_dashboard_commands, city_publish_commands,
                   city_integration_commands, city_backup_commands):
        module.register(sub)
