"""`mfc-edge hub join-city`, `hub leave-city` and `hub city-status`: the hub's link to the city
(hub/city_link.py). A running hub notices a join or leave within a second and starts or stops
forwarding (hub/city_forwarder.py)."""
from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError, ident


def _hub(args: argparse.Namespace) -> Any:
    from hub.hub import Hub

    return Hub(args.data)


def cmd_join_city(args: argparse.Namespace) -> int:
    from hub import city_link

    ident(args.hub, "--hub")
    hub = _hub(args)
    try:
        link, waiting = city_link.join(hub.db, args.data, args.city, args.code, args.hub, args.ca_file)
    except city_link.CityLinkError as exc:
        raise CommandError(str(exc)) from None
    finally:
        hub.close()
    print(f"joined the city at {link.url} as hub {link.hub} for {', '.join(link.centers)}; "
          f"{waiting} records of what this hub holds wait to be sent")
    return 0


def cmd_leave_city(args: argparse.Namespace) -> int:
    from hub import city_link

    hub = _hub(args)
    try:
        dropped = city_link.leave(hub.db, args.data)
    except city_link.CityLinkError as exc:
        raise CommandError(str(exc)) from None
    finally:
        hub.close()
    print(f"left the city; {dropped} records not sent were dropped (the city keeps what it has)")
    return 0


def _age(then: str | None, now: datetime) -> str:
    if then is None:
        return "-"
    seconds = max(0, int((now - datetime.fromisoformat(then)).total_seconds()))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 60} min {seconds % 60} s"


def status_lines(found: dict[str, Any] | None, now: datetime) -> list[str]:
    """The link's state for a technician, one fact a line."""
    if found is None:
        return ["city: not linked (mfc-edge hub join-city)"]
    lines = [f"city: {found['url']} as hub {found['hub']} for {', '.join(found['centers'])}, "
             f"since {found['joined_at'][:16]}",
             f"waiting: {found['waiting']} records" + (
                 f", the oldest from {found['oldest_at'][:19]} ({_age(found['oldest_at'], now)} ago)"
                 if found["oldest_at"] else ""),
             f"last success: {found['last_success_at'][:19] if found['last_success_at'] else 'never'}"]
    if found["last_error"]:
        lines.append(f"last error: {found['last_error_at'][:19]} {found['last_error']}")
    if found["rejected"]:
        lines.append(f"refused by the city: {found['rejected']} records (kept in city_rejected with the reasons)")
    return lines


def cmd_city_status(args: argparse.Namespace) -> int:
    from hub import city_link

    hub = _hub(args)
    try:
        found, now = city_link.status(hub.db), hub.db.now()
    finally:
        hub.close()
    for line in status_lines(found, now):
        print(line)
    return 0


def register(hub_sub: Any) -> None:
    data_help = "the hub's data folder (default var/hub)"
    q = hub_sub.add_parser("join-city", help="Link this hub to the city with a one-time code (made by `mfc-edge "
                                             "city hub-code`) and forward its centers' records from now on.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help=data_help)
    q.add_argument("--city", required=True, metavar="URL", help="the city's address, https://...")
    q.add_argument("--code", required=True, help="the one-time code the city's office gave")
    q.add_argument("--hub", required=True, metavar="HUB_ID", help="this hub's id, as the code was made for")
    q.add_argument("--ca-file", metavar="PEM", help="the CA certificate(s) the city's certificate is checked "
                                                    "against (default: the system's)")
    q.set_defaults(func=cmd_join_city)
    q = hub_sub.add_parser("leave-city", help="Stop forwarding to the city; records not sent yet are dropped.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help=data_help)
    q.set_defaults(func=cmd_leave_city)
    q = hub_sub.add_parser("city-status", help="The link to the city: records waiting, the oldest's age, the last "
                                               "success and error.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help=data_help)
    q.set_defaults(func=cmd_city_status)
