"""`mfc-edge hub integration-token`, `hub import-bookings` and `hub import-applications`: the
tokens of the booking system and the back office, and the same intake from a CSV file as the
integration API's (hub/bookings.py, hub/applications.py: one validator for both)."""
from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError

BOOKING_COLUMNS = ("id", "center", "code", "service", "slot_start", "slot_end", "initial", "state", "version")
BOOKING_REQUIRED = ("id", "code", "service", "slot_start", "slot_end")
APPLICATION_COLUMNS = ("number", "center", "state")
APPLICATION_REQUIRED = ("number", "state")


def cmd_hub_integration_token(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.integration_tokens import ALL_CENTERS, TokenError

    hub = Hub(args.data)
    try:
        if args.list:
            for t in hub.integration_tokens.all():
                state = f"revoked {t['revoked_at'][:16]}" if t["revoked_at"] else "in use"
                print(f"{t['id']}  center {t['center']}  {t['name']}  issued {t['created_at'][:16]}  {state}")
            return 0
        if args.revoke:
            revoked = hub.integration_tokens.revoke(args.revoke)
            print(f"{args.revoke}: " + ("revoked" if revoked else "no such token in use"))
            return 0 if revoked else 1
        if args.name is None or (args.center is None) == (not args.all_centers):
            raise CommandError("give --name and either --center or --all-centers (or --list, or --revoke ID)")
        try:
            found, token = hub.integration_tokens.issue(ALL_CENTERS if args.all_centers else args.center, args.name)
        except TokenError as exc:
            raise CommandError(str(exc)) from None
    finally:
        hub.close()
    print(token)
    where = "every center of this hub" if args.all_centers else f"center {args.center}"
    print(f"integration token {found.id} ({found.name}) for {where}: shown only now; send it as "
          "'Authorization: Bearer <token>'; revoke with --revoke " + found.id, file=sys.stderr)
    return 0


def read_rows(path: Path, columns: tuple[str, ...], required: tuple[str, ...],
              center: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) of a CSV file with a header row, comma- or semicolon-separated (as spreadsheets
    save it); empty cells are left out, and a version is a number. CommandError for a file that
    cannot be read as such: nothing of it is imported then."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot be read as UTF-8 text: {exc}") from None
    first = content.partition("\n")[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
    header = [name.strip() for name in reader.fieldnames or ()]
    unknown = [name for name in header if name not in columns]
    missing = [name for name in required if name not in header]
    if unknown or missing:
        raise CommandError(f"{path}:1: the header row needs {', '.join(required)} and may have "
                           f"{', '.join(c for c in columns if c not in required)}; "
                           + (f"unknown: {', '.join(unknown)}" if unknown else f"missing: {', '.join(missing)}"))
    reader.fieldnames = header
    for row in reader:
        item: dict[str, Any] = {k: v.strip() for k, v in row.items() if isinstance(k, str) and v and v.strip()}
        if None in row:
            item["extra cells"] = row[None]  # refused by the validator, naming it
        item.setdefault("center", center)
        if "version" in item:
            item["version"] = int(item["version"]) if item["version"].isdigit() else item["version"]
        yield reader.line_num, item


def _import(args: argparse.Namespace, what: str) -> int:
    from hub.api import Hub
    from hub.bookings import NotYours
    from hub.integration_tokens import Integration

    columns, required = ((BOOKING_COLUMNS, BOOKING_REQUIRED) if what == "bookings"
                         else (APPLICATION_COLUMNS, APPLICATION_REQUIRED))
    rows = list(read_rows(args.file, columns, required, args.center))
    here, elsewhere = [], []
    for line, item in rows:
        (here if item["center"] == args.center else elsewhere).append((line, item))
    who = Integration(id="csv", center=args.center, name=f"mfc-edge hub import-{what}")
    hub = Hub(args.data)
    try:
        intake = hub.bookings.post if what == "bookings" else hub.applications.post
        outcome = intake(here, who)
    except NotYours as exc:  # cannot happen with rows sorted above; kept as one line, not a traceback
        raise CommandError(str(exc)) from None
    finally:
        hub.close()
    problems = [(e["item"], e["field"], e["error"]) for e in outcome.errors]
    problems += [(line, "center", f"{item['center']!r}: this file is imported for center {args.center}")
                 for line, item in elsewhere]
    for line, name, error in sorted(problems):
        print(f"{args.file}:{line}: {name}: {error}", file=sys.stderr)
    counts = ", ".join(f"{n} {k}" for k, n in outcome.counts().items() if what == "bookings" or k != "cancelled")
    print(f"{args.file}: {counts}" + (f"; {len(problems)} line(s) refused, listed above" if problems else ""))
    return 1 if problems else 0


def cmd_hub_import_bookings(args: argparse.Namespace) -> int:
    return _import(args, "bookings")


def cmd_hub_import_applications(args: argparse.Namespace) -> int:
    return _import(args, "applications")


def register(hub_sub: Any) -> None:
    q = hub_sub.add_parser("integration-token", help="Issue, list or revoke the token of a booking system or back "
                                                     "office.",
                           description="Issue a token for a system that posts bookings (POST /api/v1/bookings) or "
                                       "the readiness of applications (POST /api/v1/applications) to the hub, for "
                                       "one center or every center; the hub keeps only its hash. Also --list and "
                                       "--revoke ID.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", help="the center it posts for")
    q.add_argument("--all-centers", action="store_true", help="it posts for every center of this hub")
    q.add_argument("--name", help="whose it is, e.g. «Запись на приём» (kept, listed)")
    q.add_argument("--list", action="store_true", help="list the tokens issued, revoked ones too")
    q.add_argument("--revoke", metavar="ID", help="refuse this token from now on")
    q.set_defaults(func=cmd_hub_integration_token)
    for what, func, example in (
            ("bookings", cmd_hub_import_bookings, "id,code,service,slot_start,slot_end,initial,state,version"),
            ("applications", cmd_hub_import_applications, "number,state")):
        q = hub_sub.add_parser(f"import-{what}", help=f"Import {what} from a CSV file, as the integration API "
                                                      "takes them.",
                               description=f"Import {what} from a CSV file (UTF-8, comma or semicolon, a header "
                                           f"row such as {example}; a center column is optional) with the same "
                                           "rules as the integration API: bad lines are reported by number, the "
                                           "others imported; importing a file again changes nothing."
                                           + (" Slot times without an offset are the center's local time."
                                              if what == "bookings" else ""))
        q.add_argument("file", type=Path, help="the CSV file")
        q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
        q.add_argument("--center", required=True, help="the center they are for")
        q.set_defaults(func=func)
