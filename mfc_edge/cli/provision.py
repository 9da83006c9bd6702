"""`mfc-edge provision ROLE`: make this machine (or a scratch root) a device of one role."""
from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from mfc_edge.cli.arguments import CommandError

AddCommand = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
CHECKOUT = Path(__file__).resolve().parents[2]  # the checkout, when run from one
TLS = Path("etc/mfc-edge/tls")


def _hub_names(root: Path, given: list[str]) -> list[str]:
    """The names the hub's certificate is for: those given, else the machine's (as mDNS has it)."""
    if given:
        return given
    hostname_file = root / "etc/hostname"
    hostname = hostname_file.read_text().strip() if hostname_file.exists() else socket.gethostname()
    host = hostname.split(".")[0] or "hub"
    return [host, f"{host}.local"]


def _center_tls(root: Path, names: list[str], ips: list[str], say: Callable[[str], object]) -> list[str]:
    from hub.certificates import TlsError, ensure_center_tls
    from mfc_edge.provision.system import mfc_edge_ids

    try:
        files = ensure_center_tls(root / TLS, _hub_names(root, names), ips, key_owner=mfc_edge_ids(root))
    except TlsError as exc:
        raise CommandError(str(exc)) from None
    for line in files.changes:
        say(line)
    return files.changes


def _source(given: Path | None, root: Path) -> Path:
    """Where pip installs mfc-edge from: as given, else this checkout, else the one the program
    was last installed from (a card image provisioned as `base`, its role chosen at first boot)."""
    from mfc_edge.provision.python_env import installed_source

    if given:
        return given.resolve()
    if (CHECKOUT / "pyproject.toml").exists():
        return CHECKOUT
    return installed_source(root) or CHECKOUT


def _wheels(given: Path | None, root: Path) -> Path | None:
    """Where pip takes the packages from: as given, else the folder the program was installed from
    (a card image made offline), else the package index."""
    from mfc_edge.provision.python_env import installed_wheels

    return given.resolve() if given else installed_wheels(root)


def cmd_provision(args: argparse.Namespace) -> int:
    from mfc_edge.provision import (
        Plan,
        ProvisionError,
        Report,
        UnknownRole,
        UnsupportedPlatform,
        check_platform,
        provision,
        role_named,
    )

    root = args.root.resolve() if args.root else Path("/")
    report = Report()
    try:
        check_platform()
        role = role_named(args.role)
        if root == Path("/") and os.geteuid() != 0:
            raise ProvisionError(f"provisioning this machine needs root: sudo mfc-edge provision {role.name}")
        plan = Plan(role, source=_source(args.source, root), root=root, packages=not args.no_packages,
                    wheels=_wheels(args.wheels, root))
        provision(plan, report)
    except (ProvisionError, UnknownRole, UnsupportedPlatform, OSError) as exc:
        print(f"mfc-edge provision: {exc}", file=sys.stderr)
        return 2
    changes = list(report.changes)
    if role.name == "hub":
        changes += _center_tls(root, args.hub_name, args.hub_ip, report.say)
    if not changes:
        print(f"nothing to do: {root} is already provisioned as {role.name}")
    return 0


def register(add: AddCommand) -> None:
    p = add("provision", cmd_provision,
            "Make this machine a device of ROLE: its packages, system user, folders, device file, systemd units and "
            "system settings (needs root). Safe to run again: it changes only what is missing or different.")
    p.add_argument("role", metavar="ROLE", help="kiosk, signage, console, hub, or base (the program and the "
                                                "first-boot unit only, for a card image whose role is chosen later)")
    p.add_argument("--root", type=Path, metavar="DIR", help="render into this folder instead of / (tests, card images)")
    p.add_argument("--no-packages", action="store_true", help="install neither Debian nor Python packages")
    p.add_argument("--wheels", type=Path, metavar="DIR",
                   help="install Python packages from this folder only, without the Internet")
    p.add_argument("--source", type=Path, metavar="DIR", help="the mfc-edge checkout to install (default: this one)")
    p.add_argument("--hub-name", action="append", default=[], metavar="NAME",
                   help="hub: a host name devices use for it, for its certificate (repeatable; default: this "
                        "machine's name and NAME.local)")
    p.add_argument("--hub-ip", action="append", default=[], metavar="IP",
                   help="hub: an IP address devices use for it, for its certificate (repeatable)")
