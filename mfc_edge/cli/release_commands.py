"""`mfc-edge release build` and `mfc-edge hub release ...`: building software releases and
publishing, promoting, halting and piloting them on the hub (issue 15)."""
from __future__ import annotations

import argparse
import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mfc_edge.cli.arguments import CommandError, ident
from mfc_edge.release import MACHINES, ROLES

if TYPE_CHECKING:
    from hub.releases import Releases

ACTIONS = ("promote", "halt", "list", "pilots", "soak")
ROOT = Path(__file__).resolve().parents[2]


def cmd_release_build(args: argparse.Namespace) -> int:
    from mfc_edge.release_build import BuildError, build

    if not (args.root / "pyproject.toml").is_file():
        raise CommandError(f"--root {args.root}: no pyproject.toml there; give the project's working tree")
    machines = args.machine or [platform.machine()]
    unknown = [m for m in machines if m not in MACHINES]
    if unknown:
        raise CommandError(f"--machine {unknown[0]}: expected one of {', '.join(MACHINES)}")
    try:
        described = build(args.root, args.out, sorted(set(machines)), sorted(set(args.role or ROLES)))
    except BuildError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"--out {args.out}: {exc.strerror or exc}") from None
    size = sum(w.size for w in described.wheels)
    print(f"release {described.version} for {', '.join(described.machines)}: {len(described.wheels)} wheels, "
          f"{size / 1e6:.1f} MB in {args.out / 'wheels'}; publish it with `mfc-edge hub release {args.out} "
          "--channel pilot`")
    return 0


def _number(args: argparse.Namespace) -> int:
    if args.number is None or not args.number.isascii() or not args.number.isdigit() or len(args.number) > 18:
        raise CommandError(f"hub release {args.what} needs a release number, e.g. `hub release {args.what} 3`")
    return int(args.number)


def cmd_hub_release(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.releases import ReleaseRefused, describe

    if args.what not in ACTIONS and args.channel is None:
        raise CommandError("hub release DIR needs --channel pilot or --channel stable")
    hub = Hub(args.data)
    try:
        releases = hub.releases
        if args.what == "promote":
            releases.promote(_number(args))
            print(f"release {args.number} is stable: every device of the fleet takes it")
        elif args.what == "halt":
            releases.halt(_number(args))
            print(f"release {args.number} is halted: no device takes it from now on")
        elif args.what == "list":
            for row in releases.rows():
                progress = args.center and releases.progress(row["number"], args.center)
                print(describe(row) + (f"  {args.center}: {len(progress.updated)} on it, {len(progress.pending)} "
                                       f"pending, {len(progress.rolled_back)} rolled back" if progress else ""))
        elif args.what == "pilots":
            _set_pilots(args, releases)
        elif args.what == "soak":
            if args.hours is None:
                raise CommandError("hub release soak needs --hours H (0: promote only by hand)")
            releases.set_soak_hours(args.hours)
            print(f"healthy pilot releases become stable after {args.hours:g} hours" if args.hours
                  else "pilot releases become stable only by `hub release promote`")
        else:
            number, machines, new = releases.publish(Path(args.what), args.channel)
            print(f"release {number} ({args.channel}) for {', '.join(machines)}: {new} new wheels stored")
    except ReleaseRefused as exc:
        raise CommandError(str(exc)) from None
    finally:
        hub.close()
    return 0


def _set_pilots(args: argparse.Namespace, releases: Releases) -> None:
    if args.center is None or (args.pilot_devices is None) == (args.share is None):
        raise CommandError("hub release pilots needs --center and either --device (repeated) or --share")
    for device in args.pilot_devices or ():
        ident(device, "--device")
    releases.set_pilots(args.center, args.pilot_devices, args.share)
    print(f"pilots of center {args.center}: {', '.join(sorted(releases.pilots(args.center))) or 'none'}")


def register(add: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]) -> None:
    p = add("release", cmd_release_build, "Build a software release of this working tree for the fleet.")
    sub = p.add_subparsers(dest="release_command", metavar="RELEASE_COMMAND", required=True)
    q = sub.add_parser("build", help="Build the project's wheel and every role's dependency wheels per machine.",
                       description="Build the project's wheel from the working tree and download the wheels each "
                                   "role needs on each machine (CPython 3.11, 64-bit Linux) into DIR/wheels, and "
                                   "describe them in DIR/release.json for `mfc-edge hub release DIR`.")
    q.add_argument("--out", type=Path, required=True, help="the folder to build into")
    q.add_argument("--machine", action="append", choices=MACHINES,
                   help="aarch64 (Raspberry Pi) or x86_64 (a PC hub); repeat for both (default: this machine's)")
    q.add_argument("--role", action="append", choices=ROLES, help="a role to include; repeat (default: all four)")
    q.add_argument("--root", type=Path, default=ROOT, help="the project's working tree (default: this one)")
    q.set_defaults(func=cmd_release_build)


def register_hub(hub_sub: argparse._SubParsersAction) -> None:
    q = hub_sub.add_parser(
        "release", help="Publish a built release (DIR --channel ...), or promote, halt, list, pilots, soak.",
        description="hub release DIR --channel pilot|stable: sign and publish a release built by `mfc-edge release "
                    "build`. hub release promote N / halt N / list [--center C: with its rollout there]; hub release "
                    "pilots --center C (--device D ... | --share 0.2); hub release soak --hours H (a pilot release no "
                    "device rolled back becomes stable "
                    "after H hours; 0: only by hand).")
    q.add_argument("what", metavar="DIR|" + "|".join(ACTIONS), help="a built release folder, or an action")
    q.add_argument("number", nargs="?", help="the release, for promote and halt")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--channel", choices=("pilot", "stable"), help="for DIR: who takes it first")
    q.add_argument("--center", help="for pilots: center id; for list: show each release's rollout there")
    q.add_argument("--device", dest="pilot_devices", action="append", metavar="DEVICE",
                   help="for pilots: a pilot device; repeat for more (replaces the center's named pilots)")
    q.add_argument("--share", type=float, help="for pilots: the share of each role's devices, 0 to 1")
    q.add_argument("--hours", type=float, help="for soak: hours a pilot release runs before it becomes stable")
    q.set_defaults(func=cmd_hub_release)
