"""The `mfc-edge` command line: one entry point for every device and tool.

This package is the top layer: the only code that may import every device package and the
hub. Heavy imports (Kivy, python-escpos, the hub) happen inside the subcommands, so `--help`
and `check-config` answer at once on a Raspberry Pi.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from mfc_edge.catalog import CatalogError
from mfc_edge.cli import (
    city_commands,
    device_commands,
    firstboot,
    hub_commands,
    provision,
    release_commands,
    simulate_commands,
    update,
)
from mfc_edge.cli.arguments import CommandError
from mfc_edge.config import ConfigError
from mfc_edge.files import DataFolderError
from offline_cache.hub_client import CredentialError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfc-edge",
        description="Devices of a public-service center: ticket kiosk, printers, and tools for technicians.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    device_commands.register(add)
    hub_commands.register(add)
    provision.register(add)
    firstboot.register(add)
    release_commands.register(add)
    update.register(add)
    simulate_commands.register(add)
    city_commands.register(add)
    return parser


def _not_escpos_chatter(record: logging.LogRecord) -> bool:
    # python-escpos logs every connect and close on the root logger at INFO.
    return record.levelno > logging.INFO or "escpos" not in record.pathname


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_not_escpos_chatter)
    try:
        return args.func(args)
    except (ConfigError, CatalogError, CredentialError, CommandError, DataFolderError) as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
