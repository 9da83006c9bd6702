"""`mfc-edge city integration-token`, `city revoke-integration-token` and `city webhook ...`:
the back office's access to the city's ticket events (docs/city-integration.md)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from mfc_edge.cli.arguments import CommandError


def _open(args: argparse.Namespace) -> Any:
    from mfc_edge.cli.city_commands import open_city

    return open_city(args)


def _scope(args: argparse.Namespace) -> Any:
    from city.integration import IntegrationError, checked_scope

    try:
        return checked_scope(args.center or [], args.district or [])
    except IntegrationError as exc:
        raise CommandError(str(exc)) from None


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def cmd_integration_token(args: argparse.Namespace) -> int:
    from city.integration import IntegrationError, IntegrationTokens, Scope

    if not args.list and args.name is None:
        raise CommandError("give --name (and --center or --district to limit it), or --list")
    scope = None if args.list else _scope(args)
    city = _open(args)
    try:
        tokens = IntegrationTokens(city)
        if args.list:
            for t in tokens.all():
                where = Scope(tuple(t["centers"]), tuple(t["districts"])).describe()
                state = f"revoked {_when(t['revoked_at'])}" if t["revoked_at"] else "in use"
                print(f"{t['id']}  {t['name']}  {where}  issued {_when(t['created_at'])}  {state}")
            return 0
        try:
            found, token = tokens.issue(args.name, scope)
        except IntegrationError as exc:
            raise CommandError(str(exc)) from None
    finally:
        city.close()
    print(token)
    print(f"integration token {found.id} ({found.name}) reads {found.scope.describe()}: shown only now; send it as "
          f"'Authorization: Bearer <token>'; revoke with mfc-edge city revoke-integration-token {found.id}",
          file=sys.stderr)
    return 0


def cmd_revoke_integration_token(args: argparse.Namespace) -> int:
    from city.integration import IntegrationTokens

    city = _open(args)
    try:
        revoked = IntegrationTokens(city).revoke(args.id)
    finally:
        city.close()
    print(f"{args.id}: " + ("revoked" if revoked else "no such token in use"))
    return 0 if revoked else 1


def cmd_webhook_add(args: argparse.Namespace) -> int:
    from city.webhooks import WebhookError, Webhooks, validate_url

    events = [e.strip() for e in (args.events or "").split(",") if e.strip()]
    scope = _scope(args)
    try:
        validate_url(args.url)  # before the database is opened: a typo is told at once
        city = _open(args)
        try:
            webhook, secret = Webhooks(city).add(args.url, events, scope)
        finally:
            city.close()
    except WebhookError as exc:
        raise CommandError(str(exc)) from None
    print(secret)
    print(f"webhook {webhook}: {', '.join(events) or 'every event'} of {scope.describe()} to {args.url}, from now "
          "on; the secret above is shown only now: check each POST's X-MFC-Signature with it", file=sys.stderr)
    return 0


def cmd_webhook_list(args: argparse.Namespace) -> int:
    from city.integration import Scope
    from city.webhooks import Webhooks

    city = _open(args)
    try:
        for w in Webhooks(city).all():
            print(f"{w['id']}  {w['url']}  {', '.join(w['events']) or 'every event'}  "
                  f"{Scope(tuple(w['centers']), tuple(w['districts'])).describe()}  added {_when(w['created_at'])}  "
                  f"delivered {w['delivered']}, pending {w['pending']}, given up {w['given_up']}")
    finally:
        city.close()
    return 0


def cmd_webhook_remove(args: argparse.Namespace) -> int:
    from city.webhooks import Webhooks

    city = _open(args)
    try:
        removed = Webhooks(city).remove(args.id)
    finally:
        city.close()
    print(f"{args.id}: " + ("removed; its undelivered events dropped" if removed else "no such webhook in use"))
    return 0 if removed else 1


def cmd_webhook_deliveries(args: argparse.Namespace) -> int:
    from city.webhooks import Webhooks

    if not 1 <= args.limit <= 10000:
        raise CommandError(f"--limit {args.limit}: expected 1 to 10000")
    city = _open(args)
    try:
        rows = Webhooks(city).deliveries(args.webhook, failed_only=not args.all, limit=args.limit)
    finally:
        city.close()
    for d in rows:
        state = (f"delivered {_when(d['delivered_at'])}" if d["delivered_at"] else
                 f"given up {_when(d['gave_up_at'])}" if d["gave_up_at"] else f"next try {_when(d['next_try_at'])}")
        print(f"{d['id']}  {d['webhook']}  {d['type']}  center {d['center']}  tries {d['attempts']}  {state}"
              + (f"  last error: {d['last_error']}" if d["last_error"] else ""))
    return 0


def register(sub: Any) -> None:
    """Add this module's subcommands to `mfc-edge city` (`sub`: its subparsers)."""
    from mfc_edge.cli.city_commands import add_dsn

    def scope_flags(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("--center", action="append", metavar="C", help=f"{what} this center (repeat for more)")
        p.add_argument("--district", action="append", metavar="D",
                       help=f"{what} the centers of this district (repeat for more); neither flag: every center")

    p = sub.add_parser("integration-token", help="Issue or list the token of a back-office system reading the feed.",
                       description="Issue a token for a back-office system to read the city's ticket events "
                                   "(GET /city/v1/feed), for every center or limited to centers or districts; the "
                                   "token is printed once and the city keeps only its hash. --list lists them.")
    add_dsn(p)
    p.add_argument("--name", help="whose it is, e.g. «АИС МФЦ» (kept, listed)")
    scope_flags(p, "it reads")
    p.add_argument("--list", action="store_true", help="list the tokens issued, revoked ones too")
    p.set_defaults(func=cmd_integration_token)

    p = sub.add_parser("revoke-integration-token", help="Refuse an integration token from now on.",
                       description="Refuse an integration token from now on (its id as --list shows it).")
    p.add_argument("id", help="the token's id, e.g. ci-1a2b3c4d")
    add_dsn(p)
    p.set_defaults(func=cmd_revoke_integration_token)

    p = sub.add_parser("webhook", help="Send the feed's events to a back office's address: add, list, remove, "
                                       "deliveries.",
                       description="Webhooks: the city POSTs each ticket event, signed, to the address, and tries "
                                   "again with growing waits while the receiver is down.")
    actions = p.add_subparsers(dest="webhook_command", metavar="ACTION", required=True)
    q = actions.add_parser("add", help="Add a webhook; prints its signing secret once.",
                           description="Add a webhook for the events from now on. The address must be https:// "
                                       "(plain http:// only to 127.0.0.1 or localhost, for development). Prints "
                                       "the secret that signs each POST, once.")
    q.add_argument("--url", required=True, help="where to POST, e.g. https://ais.example.ru/mfc-events")
    q.add_argument("--events", help="comma-separated event types, e.g. ticket.issued,ticket.served (default: all)")
    scope_flags(q, "events of")
    add_dsn(q)
    q.set_defaults(func=cmd_webhook_add)
    q = actions.add_parser("list", help="The webhooks in use and their deliveries' counts.",
                           description="The webhooks in use and their deliveries' counts (never their secrets).")
    add_dsn(q)
    q.set_defaults(func=cmd_webhook_list)
    q = actions.add_parser("remove", help="Stop sending to a webhook.",
                           description="Stop sending to a webhook; its undelivered events are dropped.")
    q.add_argument("id", help="the webhook's id, e.g. wh-1a2b3c4d")
    add_dsn(q)
    q.set_defaults(func=cmd_webhook_remove)
    q = actions.add_parser("deliveries", help="Deliveries that failed, and why.",
                           description="The latest deliveries that failed at least once (given up, or waiting to "
                                       "be tried again), newest first, with the last error.")
    q.add_argument("--webhook", metavar="ID", help="only this webhook's")
    q.add_argument("--all", action="store_true", help="those delivered at the first try too")
    q.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    add_dsn(q)
    q.set_defaults(func=cmd_webhook_deliveries)
