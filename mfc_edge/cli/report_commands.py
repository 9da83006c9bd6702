"""`mfc-edge hub report`: a center's figures over a period (hub/reports.py, where each figure is
defined), or with `--kind plays` its screens' proof of play (hub/report_plays.py), as a CSV or
XLSX file, the same as the supervisor's downloads on the console."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError


def cmd_hub_report(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.report_export import to_csv, to_xlsx
    from hub.report_plays import check_plays_range, plays, plays_csv, plays_xlsx
    from hub.reports import ReportError, Reports, check_range, parse_day

    by = args.by or "service"
    try:
        first, last = parse_day(args.start, "--from"), parse_day(args.end, "--to")
        if args.kind == "plays":
            if args.by or args.every:
                raise ReportError("--by and --every are for the visits report, not --kind plays")
            check_plays_range(first, last)
        else:
            check_range(first, last, by, args.every)
    except ReportError as exc:
        raise CommandError(str(exc)) from None
    if not args.data.is_dir():
        raise CommandError(f"{args.data}: no hub data folder here (give --data)")
    hub = Hub(args.data)
    try:
        if args.kind == "plays":
            found = plays(hub.db, hub.centers, args.center, first, last)
            render, what = (plays_csv if args.format == "csv" else plays_xlsx), f"{found['total']['plays']} plays"
        else:
            found = Reports(hub.db, hub.centers).report(args.center, first, last, by, args.every)
            render, what = (to_csv if args.format == "csv" else to_xlsx), f"{found['total']['issued']} tickets"
    finally:
        hub.close()
    content = render(found)
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
    grouped = "" if args.kind == "plays" else f", by {by}" + (f" every {args.every}" if args.every else "")
    print(f"{args.out}: {what} of {args.center}, {first}..{last}{grouped}", file=sys.stderr)
    return 0


def register(hub_sub: Any) -> None:
    q = hub_sub.add_parser("report", help="A center's figures over a period, per service, window or operator, "
                                          "or its screens' proof of play, as CSV or XLSX.",
                           description="Issued, walk-ins, served, no-shows, cancelled, held, mean and "
                                       "90th-percentile wait, the share that waited over 15 minutes (every "
                                       "visitor in the line, called or not), mean service time, the services' "
                                       "outcomes, the printed estimates' error and the share of happy ratings, "
                                       "per service, window or operator (per day, week or month with --every) "
                                       "and in total, for the center's service days FROM..TO (both included). "
                                       "With --kind plays: what each screen showed, item by item.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="the center")
    q.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="the first service day")
    q.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="the last service day")
    q.add_argument("--kind", choices=("visits", "plays"), default="visits",
                   help="the visits' figures (default) or the screens' proof of play")
    q.add_argument("--by", choices=("service", "window", "operator"),
                   help="one row per service (default), window or operator")
    q.add_argument("--every", choices=("day", "week", "month"),
                   help="a row per day, week or month of the range for each group (default: one for the range)")
    q.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="the file's format")
    q.add_argument("--out", type=Path, help="the file to write (CSV goes to standard output without it)")
    q.set_defaults(func=cmd_hub_report)
