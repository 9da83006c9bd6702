"""`mfc-edge city hub-code | hubs | revoke-hub | set-center | centers`: the city's hubs and centers
(city/hubs.py)."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mfc_edge.cli.arguments import CommandError


def _with_hubs(args: argparse.Namespace, work: Callable[[Any], int]) -> int:
    """Run `work(hubs)` on the city the flags name; a HubError becomes one line."""
    from city.hubs import HubError, Hubs
    from mfc_edge.cli.city_commands import open_city

    city = open_city(args)
    try:
        return work(Hubs(city))
    except HubError as exc:
        raise CommandError(str(exc)) from None
    finally:
        city.close()


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def cmd_hub_code(args: argparse.Namespace) -> int:
    def work(hubs: Any) -> int:
        code = hubs.make_code(args.hub, args.center)
        print(code)
        print(f"a one-time code for hub {args.hub} ({', '.join(sorted(set(args.center)))}), valid 24 hours: "
              f"on the hub, mfc-edge hub join-city --city URL --code {code}")
        return 0
    return _with_hubs(args, work)


def cmd_hubs(args: argparse.Namespace) -> int:
    def work(hubs: Any) -> int:
        for h in hubs.hubs():
            state = f"revoked {_when(h['revoked_at'])}" if h["revoked_at"] else "enrolled"
            print(f"{h['id']}\t{','.join(h['centers']) or '-'}\tlast contact {_when(h['last_contact'])}\t"
                  f"last seq {h['last_seq']}\t{state}")
        return 0
    return _with_hubs(args, work)


def cmd_revoke_hub(args: argparse.Namespace) -> int:
    def work(hubs: Any) -> int:
        if not hubs.revoke(args.hub):
            raise CommandError(f"--hub {args.hub}: no such hub enrolled, or already revoked")
        print(f"hub {args.hub} revoked: its token is refused and its centers are free for another hub")
        return 0
    return _with_hubs(args, work)


def cmd_set_center(args: argparse.Namespace) -> int:
    if args.name is None and args.district is None and args.timezone is None:
        raise CommandError("say what to set: --name, --district and/or --timezone")

    def work(hubs: Any) -> int:
        c = hubs.set_center(args.id, name=args.name, district=args.district, timezone=args.timezone)
        print(f"{c['id']}\t{c['name'] or '-'}\t{c['district'] or '-'}\t{c['timezone']}\thub {c['hub'] or '-'}")
        return 0
    return _with_hubs(args, work)


def cmd_centers(args: argparse.Namespace) -> int:
    def work(hubs: Any) -> int:
        for c in hubs.centers():
            print(f"{c['id']}\t{c['name'] or '-'}\t{c['district'] or '-'}\t{c['timezone']}\thub {c['hub'] or '-'}")
        return 0
    return _with_hubs(args, work)


def register(sub: Any) -> None:
    """Add this module's subcommands to `mfc-edge city` (`sub`: its subparsers)."""
    from mfc_edge.cli.city_commands import add_dsn

    def add(name: str, func: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text)
        add_dsn(p)
        p.set_defaults(func=func)
        return p

    p = add("hub-code", cmd_hub_code, "Make a one-time code (24 hours) for a center's hub to join the city.")
    p.add_argument("--hub", required=True, help="the hub's id")
    p.add_argument("--center", required=True, action="append", help="a center the hub speaks for (repeat for more)")
    add("hubs", cmd_hubs, "List the hubs: their centers, last contact, last seq, revoked or not.")
    p = add("revoke-hub", cmd_revoke_hub, "Refuse a hub's token from now on; its centers are freed.")
    p.add_argument("--hub", required=True, help="the hub's id")
    p = add("set-center", cmd_set_center, "Set a center's name, district or time zone as the city knows it.")
    p.add_argument("id", help="the center's id")
    p.add_argument("--name", help="the center's name (kept over the one its hub sends)")
    p.add_argument("--district", help="the city's district of the center")
    p.add_argument("--timezone", help="an IANA time zone, e.g. Europe/Moscow (kept over its hub's)")
    add("centers", cmd_centers, "List the centers: name, district, time zone, hub.")
