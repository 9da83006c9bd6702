"""`mfc-edge city add-user | disable-user | report`: the dashboard's accounts and the SLA
reports across centers from the command line, and a picture of the dashboard for the demo."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError
from mfc_edge.report_periods import PERIODS

# city/accounts.ROLES and city/reports.GROUPS, named here so that building the command line does
# not load the city's database drivers (a test keeps them the same).
ROLES = ("viewer", "editor", "admin")
GROUPS = ("center", "district", "service")


def cmd_add_user(args: argparse.Namespace) -> int:
    import getpass

    from city.accounts import Accounts
    from mfc_edge.cli.city_commands import open_city

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    city = open_city(args)
    try:
        Accounts(city).add(args.login, args.name, password, args.role)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    finally:
        city.close()
    print(f"{args.role} {args.login} can sign in to the city dashboard at /dashboard")
    return 0


def cmd_disable_user(args: argparse.Namespace) -> int:
    from city.accounts import Accounts
    from mfc_edge.cli.city_commands import open_city

    city = open_city(args)
    try:
        ended = Accounts(city).disable(args.login)
    finally:
        city.close()
    if ended is None:
        raise CommandError(f"the city has no account {args.login}")
    print(f"{args.login} is disabled and signed out of {ended} session(s); add-user with a new password "
          "enables the account again")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from city.report_export import to_csv, to_xlsx
    from city.reports import ReportError, make_report
    from mfc_edge.cli.city_commands import open_city
    from mfc_edge.report_periods import parse_day

    try:
        first, last = parse_day(args.first, "--from"), parse_day(args.last, "--to")
    except ReportError as exc:
        raise CommandError(str(exc)) from None
    if args.format == "xlsx" and not args.out:
        raise CommandError("an XLSX report needs --out FILE")
    city = open_city(args)
    try:
        found = make_report(city, first, last, args.by, args.every, args.district)
    except ReportError as exc:
        raise CommandError(str(exc)) from None
    finally:
        city.close()
    data = (json.dumps(found, ensure_ascii=False, indent=1).encode() + b"\n" if args.format == "json"
            else to_csv(found) if args.format == "csv" else to_xlsx(found))
    if args.out:
        try:
            Path(args.out).write_bytes(data)
        except OSError as exc:
            raise CommandError(f"cannot write {args.out}: {exc.strerror}") from None
        print(f"{len(found['rows'])} row(s) written to {args.out}")
    else:
        sys.stdout.buffer.write(data)
    return 0


def dashboard_png(url: str, login: str, password: str, out: Path, *, center: str | None = None,
                  width: int = 1366, height: int = 900) -> Path:
    """Sign in to the city dashboard at `url` in headless Chromium and write a PNG of it to
    `out` (of `center`'s drill-down when given); the demo and the tests use it."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo import _chromium

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, timezone_id="Europe/Moscow",
                                    locale="ru-RU")
            signed_in_dashboard(page, url, login, password)
            if center:
                page.click(f"#centers tr[data-center='{center}'] .center-name")
                page.wait_for_selector(f"#detail:not(.hidden)[data-center='{center}']")
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return out


def signed_in_dashboard(page: Any, url: str, login: str, password: str) -> None:
    """Sign in on the dashboard's sign-in page and wait for the city's figures (shown even
    before any center has joined)."""
    page.goto(f"{url}/dashboard/sign-in")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#sign-in")
    page.wait_for_selector("#totals .figure")


def _add_dsn(q: argparse.ArgumentParser) -> None:
    from mfc_edge.cli.city_commands import add_dsn

    add_dsn(q)


def register(sub: Any) -> None:
    """Add this module's subcommands to `mfc-edge city` (`sub`: its subparsers)."""
    q = sub.add_parser("add-user", help="Add or update a city dashboard account (password from stdin).",
                       description="Add or update a city dashboard account; the password is asked for, or read "
                                   "from one line of stdin. A viewer sees the dashboard and reports, an editor "
                                   "also publishes, an admin also manages accounts.")
    q.add_argument("login")
    q.add_argument("--role", required=True, choices=ROLES)
    q.add_argument("--name", default="", help="the name the dashboard greets")
    _add_dsn(q)
    q.set_defaults(func=cmd_add_user)
    q = sub.add_parser("disable-user", help="Disable a city dashboard account and end its sessions.",
                       description="Disable a city dashboard account and end its sessions; add-user with a new "
                                   "password enables it again.")
    q.add_argument("login")
    _add_dsn(q)
    q.set_defaults(func=cmd_disable_user)
    q = sub.add_parser("report", help="The SLA report across the city's centers for a range of days.",
                       description="The SLA report (the hub's figures) of every center, or of one district's, "
                                   "over service days FROM..TO, per center, district or service.")
    q.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
    q.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
    q.add_argument("--by", choices=GROUPS, default="center")
    q.add_argument("--every", choices=PERIODS, help="a row per day, week or month of the range")
    q.add_argument("--district", help="only this district's centers")
    q.add_argument("--format", choices=("json", "csv", "xlsx"), default="json")
    q.add_argument("--out", help="write to this file (default: standard output; XLSX needs a file)")
    _add_dsn(q)
    q.set_defaults(func=cmd_report)
