"""Do every role's dependencies resolve to aarch64 wheels for CPython 3.11 (64-bit Raspberry Pi OS)?

    python benchmarks/arm64_wheels.py [--roles kiosk,signage,console,hub] [--dest var/arm64/wheels]

Reads the project's dependencies and each role's extra from pyproject.toml, has pip download
them as binary wheels for manylinux aarch64 into one folder (a second run reuses it) the way
`mfc-edge release build` does (mfc_edge/release_build.py), and prints
per role the wheels it needs and any package without an aarch64 wheel. Exit status 1 when a
role cannot be installed from wheels. The kiosk role's wheels are what benchmarks/arm64_smoke.sh
installs on an emulated arm64 Debian.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mfc_edge.release import ROLES
from mfc_edge.release_build import download, foreign, role_requirements

ROOT = Path(__file__).resolve().parent.parent
MACHINE = "aarch64"


def check_role(pyproject: Path, role: str, dest: Path) -> bool:
    requirements, has_extra = role_requirements(pyproject, role, MACHINE)
    wheels, errors = download(requirements, dest, MACHINE)
    note = "" if has_extra else f" (pyproject has no [{role}] extra: the base dependencies only)"
    print(f"== {role}: {len(requirements)} requirements{note}")
    if errors:
        # One failure stops pip's resolve; resolve each requirement alone to name every one without a wheel.
        for requirement in requirements:
            _, alone = download([requirement], dest, MACHINE)
            for line in alone:
                print(f"   NO aarch64 wheel: {requirement}: {line}")
        return False
    wrong = foreign(wheels, MACHINE)
    for wheel in wheels:
        print(f"   {'NOT FOR aarch64: ' if wheel in wrong else ''}{wheel}")
    print(f"   {len(wheels)} wheels" + (f", {len(wrong)} not for aarch64" if wrong else
                                        ", all for aarch64 or pure Python"))
    return not wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated roles (default: all four)")
    parser.add_argument("--dest", type=Path, default=ROOT / "var" / "arm64" / "wheels",
                        help="where the wheels are kept (default: var/arm64/wheels)")
    args = parser.parse_args(argv)
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    unknown = [role for role in roles if role not in ROLES]
    if unknown or not roles:
        parser.error(f"--roles: {', '.join(unknown) or 'none given'}; roles are " + ", ".join(ROLES))
    args.dest.mkdir(parents=True, exist_ok=True)
    results = {role: check_role(ROOT / "pyproject.toml", role, args.dest) for role in roles}
    failed = [role for role, ok in results.items() if not ok]
    print("every role resolves to aarch64 wheels for CPython 3.11" if not failed
          else "roles that cannot be installed from aarch64 wheels: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
