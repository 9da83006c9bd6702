"""`mfc-edge hub report`: a center's figures over a period (hub/reports.py, where each figure is
defined) as a CSV or XLSX file, the same as the supervisor's download on the console."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError


def cmd_hub_report(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.reports import ReportError, Reports, check_range, parse_day, to_csv, to_xlsx

    try:
        first, last = parse_day(args.start, "--from"), parse_day(args.end, "--to")
        check_range(first, last, args.by)
    except ReportError as exc:
        raise CommandError(str(exc)) from None
    if not args.data.is_dir():
        raise CommandError(f"{args.data}: no hub data folder here (give --data)")
    hub = Hub(args.data)
    try:
        found = Reports(hub.db, hub.centers).report(args.center, first, last, args.by)
    finally:
        hub.close()
    content = (to_csv if args.format == "csv" else to_xlsx)(found)
    if args.out is None:
        if args.format == "xlsx" and sys.stdout.isatty():
            raise CommandError("an XLSX file is not for a terminal: give --out FILE")
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return 0
    try:
        args.out.write_bytes(content)
    except OSError as exc:
        raise CommandError(f"{args.out}: cannot be written: {exc.strerror or exc}") from None
    print(f"{args.out}: {found['total']['issued']} tickets of {args.center}, {first}..{last}, by {args.by}",
          file=sys.stderr)
    return 0


def register(hub_sub: Any) -> None:
    q = hub_sub.add_parser("report", help="A center's figures over a period, per service or window, as CSV or XLSX.",
                           description="Issued, served, no-shows, cancelled, mean and 90th-percentile wait, the "
                                       "share that waited over 15 minutes (every visitor, called or not), mean "
                                       "service time and the share of happy ratings, per service or window and in "
                                       "total, for the center's service days FROM..TO (both included).")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="the center")
    q.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="the first service day")
    q.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="the last service day")
    q.add_argument("--by", choices=("service", "window"), default="service", help="one row per service or window")
    q.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="the file's format")
    q.add_argument("--out", type=Path, help="the file to write (CSV goes to standard output without it)")
    q.set_defaults(func=cmd_hub_report)
