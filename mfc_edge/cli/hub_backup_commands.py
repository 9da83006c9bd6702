"""`mfc-edge hub backup`, `hub backups` and `hub restore`, and the serving hub's --backup-* flags
(hub/backups.py: how a backup is made, which are kept, what a restore checks)."""
from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError

MAX_EVERY_HOURS = 24 * 7


def plan_of(args: argparse.Namespace) -> Any:
    """The serving hub's BackupPlan from its flags; None without --backup-dir."""
    if args.backup_dir is None:
        return None
    from hub.backup_schedule import BackupPlan

    if not 0 < args.backup_every <= MAX_EVERY_HOURS:
        raise CommandError(f"--backup-every {args.backup_every:g}: expected hours, more than 0 and at most "
                           f"{MAX_EVERY_HOURS}")
    return BackupPlan(args.backup_dir, timedelta(hours=args.backup_every), _retention(args))


def _retention(args: argparse.Namespace) -> Any:
    from hub.backups import Retention

    if args.backup_keep < 1:
        raise CommandError(f"--backup-keep {args.backup_keep}: expected 1 or more")
    if args.backup_days < 0:
        raise CommandError(f"--backup-days {args.backup_days}: expected 0 or more")
    return Retention(args.backup_keep, args.backup_days)


def _hub_file(data: Path) -> None:
    if not (data / "hub.sqlite").is_file():
        raise CommandError(f"{data}: no hub.sqlite here: not the hub's data folder (--data)")


def cmd_hub_backup(args: argparse.Namespace) -> int:
    from hub.backups import BackupError, backup
    from hub.db import HubDB

    _hub_file(args.data)
    retention = _retention(args)
    db = HubDB(args.data)
    try:
        made = backup(db, args.to, db.now(), retention)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    finally:
        db.close()
    print(f"backed up to {made} ({made.stat().st_size} bytes)")
    return 0


def cmd_hub_backups(args: argparse.Namespace) -> int:
    from hub.backups import BackupError, list_backups

    try:
        found = list_backups(args.to)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    if not found:
        print(f"no backups in {args.to}")
    for b in found:
        print(f"{b.path.name}  {b.at:%Y-%m-%d %H:%M:%S} UTC  {b.size} bytes")
    return 0


def cmd_hub_restore(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hub.backups import BackupError, restore

    try:
        done = restore(args.source, args.data, datetime.now(UTC))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    for warning in done.warnings:
        print(f"mfc-edge: warning: {warning}", file=sys.stderr)
    aside = f"; the file it replaced is kept in {done.set_aside}" if done.set_aside else ""
    print(f"restored {args.source} into {args.data} (schema version {done.schema_version}){aside}")
    return 0


def _add_retention(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backup-keep", type=int, default=8, metavar="N",
                   help="keep the newest N backups (default 8) ...")
    p.add_argument("--backup-days", type=int, default=30, metavar="D",
                   help="... and the newest backup of each of the last D days, UTC (default 30); others are deleted")


def register(hub: argparse.ArgumentParser, hub_sub: Any) -> None:
    """The --backup-* flags of `mfc-edge hub` (`hub`), and the backup subcommands (`hub_sub`)."""
    hub.add_argument("--backup-dir", type=Path,
                     help="back the hub's file up into this folder while serving (one folder per hub); no backups "
                          "without it")
    hub.add_argument("--backup-every", type=float, default=6, metavar="HOURS",
                     help="hours between backups (default 6); the first is due that long after the newest in "
                          "--backup-dir")
    _add_retention(hub)

    q = hub_sub.add_parser("backup", help="Back the hub's file up now, while the hub serves or not.",
                           description="Copy the hub's SQLite file into a folder with SQLite's online backup "
                                       "(the hub keeps serving), check the copy, and delete the backups the "
                                       "retention rule no longer keeps. The bundle-signing key is kept beside.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--to", type=Path, required=True, help="the backup folder")
    _add_retention(q)
    q.set_defaults(func=cmd_hub_backup)

    q = hub_sub.add_parser("backups", help="List the backups in a folder, newest first.",
                           description="List the hub backups in a folder, newest first, with their time and size.")
    q.add_argument("--to", type=Path, required=True, help="the backup folder")
    q.set_defaults(func=cmd_hub_backups)

    q = hub_sub.add_parser("restore", help="Make a backup the hub's file (the hub stopped).",
                           description="Check a backup (integrity, schema not newer than this mfc-edge's) and make "
                                       "it the hub's file in --data. The file it replaces is moved aside, never "
                                       "deleted. Refused while a hub serves the folder: stop it first.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--from", dest="source", type=Path, required=True, help="the backup file")
    q.set_defaults(func=cmd_hub_restore)
