"""`setup.sh provision`'s first step, run by the system's python3 with the standard library
only: the venv with the project and the role's extra, whose `mfc-edge provision` does the rest.

    python3 -m mfc_edge.provision.bootstrap ROLE --source CHECKOUT [--wheels DIR] [...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mfc_edge.provision.platform_check import UnsupportedPlatform, check_platform
from mfc_edge.provision.python_env import ensure_environment
from mfc_edge.provision.report import ProvisionError, Report
from mfc_edge.provision.roles import UnknownRole, role_named


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m mfc_edge.provision.bootstrap",
                                     description="Install the program's environment for ROLE (setup.sh's first step).")
    parser.add_argument("role")
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--wheels", type=Path)
    args, _ = parser.parse_known_args(argv)  # the rest is for `mfc-edge provision`, which comes next
    try:
        check_platform()
        ensure_environment(role_named(args.role), args.source.resolve(),
                           args.wheels.resolve() if args.wheels else None, Report())
    except (ProvisionError, UnknownRole, UnsupportedPlatform) as exc:
        print(f"mfc-edge provision: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
