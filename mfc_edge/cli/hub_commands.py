"""`mfc-edge hub`: run the center's hub, and its administration commands."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mfc_edge.cli import (
    center_commands,
    fleet,
    hub_backup_commands,
    hub_city_commands,
    integration_commands,
    release_commands,
    report_commands,
)
from mfc_edge.cli.arguments import CommandError, ident, login, port, tls_files
from mfc_edge.cli.device_commands import AddCommand


def cmd_hub_devices(args: argparse.Namespace) -> int:
    from hub.api import Hub

    hub = Hub(args.data)
    try:
        devices = hub.device_health.devices(args.center)
    finally:
        hub.close()
    for d in devices:
        print(fleet.device_line(d))
    return 0


def cmd_hub(args: argparse.Namespace) -> int:
    port(args.port)
    tls_files(args.cert, args.key)
    from hub.server import serve

    serve(args.data, args.host, args.port, args.cert, args.key, priority_streak=args.priority_streak, docs=args.docs,
          backups=hub_backup_commands.plan_of(args))
    return 0


def cmd_hub_enroll_code(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.identity import EnrollmentError

    if args.replace is not None:
        ident(args.replace, "--replace")
    hub = Hub(args.data)
    try:
        code = hub.identity.create_code(args.center, args.role, window=args.window, replace=args.replace)
    except EnrollmentError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    print(code)
    at = f" at window {args.window}" if args.window else ""
    replacing = (f", to replace device {args.replace} (its token stops working when the code is used)"
                 if args.replace else "")
    print(f"one-time code for a {args.role}{at} of center {args.center}{replacing}; valid 24 hours", file=sys.stderr)
    return 0


def cmd_hub_revoke(args: argparse.Namespace) -> int:
    from hub.api import Hub

    hub = Hub(args.data)
    try:
        revoked = hub.identity.revoke(args.center, args.device)
    finally:
        hub.close()
    print(f"{args.center}/{args.device}: " + ("revoked" if revoked else "no such active device"))
    return 0 if revoked else 1


def cmd_hub_add_operator(args: argparse.Namespace) -> int:
    import getpass

    from hub.api import Hub

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    hub = Hub(args.data)
    try:
        hub.operators.add(args.center, args.login, args.name, password, args.role)
    except ValueError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    print(f"{args.role} {args.login} of center {args.center} can sign in at /console")
    return 0


def cmd_hub_disable_operator(args: argparse.Namespace) -> int:
    from hub.api import Hub

    hub = Hub(args.data)
    try:
        disabled = hub.operators.disable(args.center, args.login)
    finally:
        hub.close()
    if disabled is None:
        print(f"mfc-edge: error: center {args.center} has no operator {args.login}", file=sys.stderr)
        return 1
    print(f"{args.login} of center {args.center} is disabled and signed out of {disabled} session(s); "
          "add-operator with a new password enables the account again")
    return 0


def cmd_hub_publish(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.bundle_folder import PublishError
    from hub.video_check import parse_screens

    try:
        screens = parse_screens(args.screens)
    except ValueError as exc:
        print(f"mfc-edge: error: --{exc}", file=sys.stderr)
        return 2
    hub = Hub(args.data)
    try:
        published = hub.bundles.publish_folder(args.folder, args.center, args.role, screens)
    except PublishError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    for warning in published.warnings:
        print(f"mfc-edge: warning: {warning}", file=sys.stderr)
    print(f"published version {published.version} for {args.role} devices of center {args.center}: "
          f"{published.assets} assets, {published.total_size} bytes")
    if published.removed_blobs:
        print(f"deleted {published.removed_blobs} assets no recent bundle uses ({published.freed_bytes} bytes)")
    return 0


def cmd_hub_tickets(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from mfc_edge.cli.tickets import as_json, day_arg, hub_lines

    day = day_arg(args.day)
    if not (args.data / "hub.sqlite").is_file():
        raise CommandError(f"{args.data}: no hub.sqlite here: not the hub's data folder (--data)")
    hub = Hub(args.data)
    try:
        day = day or hub.centers.today(args.center)[0]
        tickets = hub.queue.tickets_of_day(args.center, day)
        timezone = hub.centers.timezone(args.center)
    finally:
        hub.close()
    print(as_json({"center": args.center, "day": day, "tickets": tickets}) if args.json
          else "\n".join(hub_lines(args.center, day, tickets, timezone)))
    return 0


def cmd_hub_set_center(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.centers import CenterError

    hub = Hub(args.data)
    try:
        found = hub.centers.set(args.center, args.timezone, args.name)
    except CenterError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    name = f" ({found['name']})" if found["name"] else ""
    print(f"center {found['id']}{name}: time zone {found['timezone']}")
    return 0


def register(add: AddCommand) -> None:
    """`hub` and its subcommands, with their flags."""
    p = add("hub", cmd_hub, "Run the center's hub: enrollment, event sync and the live queue (OpenAPI schema at "
                            "/openapi.json).")
    p.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder (default var/hub)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--cert", type=Path, help="TLS certificate (PEM); with --key the hub speaks HTTPS")
    p.add_argument("--key", type=Path, help="TLS private key (PEM)")
    p.add_argument("--priority-streak", type=int, default=3, choices=range(1, 21), metavar="N",
                   help="at most N priority tickets called in a row at a window while others wait (default 3)")
    p.add_argument("--docs", action="store_true",
                   help="also serve Swagger UI at /docs; it loads its scripts from a CDN: for development, not a "
                        "center's hub")
    hub_sub = p.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")
    q = hub_sub.add_parser("enroll-code", help="Make a one-time enrollment code for a device.",
                           description="Make a one-time enrollment code for a device; valid 24 hours.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--role", required=True, choices=("kiosk", "signage", "console"), help="the device's role")
    q.add_argument("--window", help="for a console: the window it stands at; its keypad acts and its ratings "
                                    "count only there")
    q.add_argument("--replace", metavar="DEVICE_ID",
                   help="the code is for this enrolled device id, to take its place (a new device for a broken "
                        "one): its token stops working once the code is used. Without it, an enrolled id is refused")
    q.set_defaults(func=cmd_hub_enroll_code)
    q = hub_sub.add_parser("revoke", help="Refuse a device's token from now on.",
                           description="Refuse a device's token from now on.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--device", required=True, help="device id")
    q.set_defaults(func=cmd_hub_revoke)
    q = hub_sub.add_parser("add-operator", help="Add or update an operator account (password from stdin).",
                           description="Add or update an operator account; the password is asked for, or read "
                                       "from standard input when it is not a terminal. A new password ends the "
                                       "account's sessions; a disabled account is enabled again.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--login", required=True, help="sign-in name")
    q.add_argument("--name", required=True, help="the name shown on the console")
    q.add_argument("--role", choices=("operator", "supervisor"), default="operator")
    q.set_defaults(func=cmd_hub_add_operator)
    q = hub_sub.add_parser("disable-operator", help="Disable an operator account and end its sessions.",
                           description="Disable an operator account: its sessions end at once and it can no "
                                       "longer sign in; add-operator with a new password enables it again.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--login", required=True, help="sign-in name")
    q.set_defaults(func=cmd_hub_disable_operator)
    q = hub_sub.add_parser("publish", help="Publish a folder as the next signed content bundle for a role.",
                           description="Publish every file of a folder (hidden ones skipped) as the next signed "
                                       "content bundle for the devices of a center with the given role. A kiosk "
                                       "bundle holds catalog.toml, kiosk.toml and/or kids.toml (and may hold a "
                                       "playlist.toml with a kiosk playlist: its attract loop); a signage "
                                       "bundle playlist.toml. "
                                       "Each video the playlist plays is read: one none of the --screens models "
                                       "plays smoothly is refused with the ffmpeg command that converts it.")
    q.add_argument("folder", type=Path, help="the folder to publish")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--role", required=True, choices=("kiosk", "signage"), help="the devices it is for")
    q.add_argument("--screens", default="pi4,pi5", metavar="MODELS",
                   help="the Pi models of the center's screens, e.g. pi4 or pi4,pi5 (the default): a video none "
                        "of them plays smoothly is refused, one only some play is published with a warning")
    q.set_defaults(func=cmd_hub_publish)

    q = hub_sub.add_parser("devices", help="List a center's devices: online or OFFLINE, heartbeat, printer and "
                                           "buttons.",
                           description="List a center's devices: online or OFFLINE (no heartbeat for three "
                                       "minutes) with the last beat's figures, bundle, printer status, stuck buttons.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.set_defaults(func=cmd_hub_devices)

    q = hub_sub.add_parser("set-center", help="Set a center's time zone (and name).",
                           description="Set a center's time zone, used for its load chart (visitors by weekday "
                                       "and hour in local time). A center never set is in Europe/Moscow.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--timezone", required=True,
                   help="IANA time zone, e.g. Europe/Moscow, Asia/Yekaterinburg (default for unset centers: "
                        "Europe/Moscow)")
    q.add_argument("--name", help="the center's name (kept as it was when not given)")
    q.set_defaults(func=cmd_hub_set_center)

    q = hub_sub.add_parser("tickets", help="List a center's tickets of a day: state, window, the device they "
                                           "came from.",
                           description="List a center's tickets of a day in order of issue, with their state, "
                                       "window and the device that issued them.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--day", help="the service day, YYYY-MM-DD (default: today in the center's time zone)")
    q.add_argument("--json", action="store_true", help="everything as JSON")
    q.set_defaults(func=cmd_hub_tickets)

    center_commands.register(hub_sub)
    integration_commands.register(hub_sub)
    report_commands.register(hub_sub)
    fleet.register(hub_sub)
    release_commands.register_hub(hub_sub)
    hub_city_commands.register(hub_sub)
    hub_backup_commands.register(p, hub_sub)
    for q in (p, *hub_sub.choices.values()):
        q.set_defaults(func=_ids_checked(q.get_default("func")))


def _ids_checked(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`command`, once its --center, --device and --login are checked: an empty or path-like one
    is refused in one line before the hub's file is opened. A hub file from a newer mfc-edge is one
    line too."""
    def checked(args: argparse.Namespace) -> int:
        for flag in ("center", "device"):
            if getattr(args, flag, None) is not None:
                ident(getattr(args, flag), f"--{flag}")
        if getattr(args, "login", None) is not None:
            login(args.login)
        from hub.schema import SchemaError

        try:
            return command(args)
        except SchemaError as exc:
            raise CommandError(str(exc)) from None
    return checked
