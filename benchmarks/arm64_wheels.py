"""Do every role's dependencies resolve to aarch64 wheels for CPython 3.11 (64-bit Raspberry Pi OS)?

    python benchmarks/arm64_wheels.py [--roles kiosk,signage,console,hub] [--dest var/arm64/wheels]

Reads the project's dependencies and each role's extra from pyproject.toml, has pip download
them as binary wheels for manylinux aarch64 into one folder (a second run reuses it), and prints
per role the wheels it needs and any package without an aarch64 wheel. Exit status 1 when a
role cannot be installed from wheels. The kiosk role's wheels are what benchmarks/arm64_smoke.sh
installs on an emulated arm64 Debian.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("kiosk", "signage", "console", "hub")
# 64-bit Raspberry Pi OS Bookworm has glibc 2.36, so every manylinux tag up to 2.36 installs there.
# pip takes the --platform tags given literally (lgpio ships manylinux_2_34 only): all are named.
GLIBC_MINORS = range(17, 37)
PLATFORM = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
            "--platform", "manylinux2014_aarch64",
            *(arg for minor in GLIBC_MINORS for arg in ("--platform", f"manylinux_2_{minor}_aarch64"))]
# pip says where each wheel went: "Saved <path>" or "File was already downloaded <path>".
_WHEEL_LINE = re.compile(r"^\s*(?:Saved|File was already downloaded) (\S+\.whl)$", re.MULTILINE)
# pip judges environment markers (lgpio's `platform_machine == 'aarch64'`) by the machine it runs
# on, not by --platform: the project's own requirements are judged here for 64-bit Pi OS instead.
PI_OS = {"platform_machine": "aarch64", "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
         "python_version": "3.11", "python_full_version": "3.11.2", "implementation_name": "cpython",
         "platform_python_implementation": "CPython"}
_MISSING_LINE = re.compile(r"^ERROR: (?:Could not find a version that satisfies the requirement|"
                           r"No matching distribution found for) .*$", re.MULTILINE)


def on_pi_os(requirement: str) -> str | None:
    """The requirement without its marker if 64-bit Pi OS needs it, else None."""
    parsed = Requirement(requirement)
    if parsed.marker is not None and not parsed.marker.evaluate(PI_OS):
        return None
    parsed.marker = None
    return str(parsed)


def role_requirements(pyproject: Path, role: str) -> tuple[list[str], bool]:
    """The base dependencies plus the role's extra as 64-bit Pi OS needs them, and whether
    pyproject has that extra."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    wanted = (on_pi_os(line) for line in list(project.get("dependencies", [])) + list(extras.get(role, [])))
    return [line for line in wanted if line], role in extras


def download(requirements: list[str], dest: Path) -> tuple[list[str], list[str]]:
    """(wheel file names, pip's error lines) for one resolve of `requirements`."""
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                             "--progress-bar", "off", "-d", str(dest), *PLATFORM, *requirements],
                            capture_output=True, text=True)
    wheels = sorted({Path(found).name for found in _WHEEL_LINE.findall(result.stdout)})
    errors = [] if result.returncode == 0 else (_MISSING_LINE.findall(result.stderr + result.stdout)
                                                or [result.stderr.strip().splitlines()[-1]])
    return wheels, errors


def check_role(pyproject: Path, role: str, dest: Path) -> bool:
    requirements, has_extra = role_requirements(pyproject, role)
    wheels, errors = download(requirements, dest)
    note = "" if has_extra else f" (pyproject has no [{role}] extra: the base dependencies only)"
    print(f"== {role}: {len(requirements)} requirements{note}")
    if errors:
        # One failure stops pip's resolve; resolve each requirement alone to name every one without a wheel.
        for requirement in requirements:
            _, alone = download([requirement], dest)
            for line in alone:
                print(f"   NO aarch64 wheel: {requirement}: {line}")
        return False
    foreign = [wheel for wheel in wheels if not (wheel.endswith("-any.whl") or "aarch64" in wheel)]
    for wheel in wheels:
        print(f"   {'NOT FOR aarch64: ' if wheel in foreign else ''}{wheel}")
    print(f"   {len(wheels)} wheels" + (f", {len(foreign)} not for aarch64" if foreign else
                                        ", all for aarch64 or pure Python"))
    return not foreign


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
