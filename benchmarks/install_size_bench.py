"""Installed size of each role's environment against the old install of everything.

Each role's venv is made the way `mfc-edge provision ROLE` makes it (`python -m venv`, then
pip installs mfc-edge with the role's extra from a wheel folder, no Internet); "everything" is
what every device carried before the split: every runtime dependency, the hub and the test
tools (`.[kiosk,signage,console,hub,test]`, as the development install still is).

    .venv/bin/python benchmarks/install_size_bench.py [--wheels DIR] [--write]

Without --wheels the wheels are downloaded once into a temporary folder. Sizes are disk usage
(allocated blocks) of the whole venv, pip included, on this machine's platform (x86_64 wheels;
aarch64 wheels differ by a few per cent).
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT / "benchmarks"))
from results import write_section  # noqa: E402

VARIANTS = {"base": None, "kiosk": "kiosk", "signage": "signage", "console": "console", "hub": "hub",
            "everything (before)": "kiosk,signage,console,hub,test"}
NOT_ON_DEVICES = ("pytest", "playwright", "hypothesis", "schemathesis", "mypy", "ruff")


@dataclass
class Installed:
    name: str
    megabytes: float
    distributions: int
    seconds: float
    test_tools: list[str]


def requirements() -> list[str]:
    with open(CHECKOUT / "pyproject.toml", "rb") as f:
        found = tomllib.load(f)
    extras = found["project"]["optional-dependencies"]
    return [*found["build-system"]["requires"], *found["project"]["dependencies"],
            *(r for extra in extras.values() for r in extra)]


def fill_wheel_folder(wheels: Path) -> None:
    """Every requirement's wheel, and mfc-edge's own built once from this checkout."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                    "--dest", str(wheels), *requirements()], check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
                    "--no-index", "--find-links", str(wheels), "--wheel-dir", str(wheels), str(CHECKOUT)],
                   check=True)


def disk_usage(folder: Path) -> int:
    return sum(p.lstat().st_blocks * 512 for p in folder.rglob("*"))


def install(name: str, extras: str | None, wheels: Path, scratch: Path) -> Installed:
    venv = scratch / name.split()[0]
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wanted = f"mfc-edge[{extras}]" if extras else "mfc-edge"
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--no-cache-dir", "--no-index", "--find-links", str(wheels), wanted], check=True)
    seconds = time.monotonic() - started
    listed = subprocess.run([str(venv / "bin/python"), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout.lower().splitlines()
    names = [line.split("==")[0] for line in listed]
    return Installed(name, disk_usage(venv) / 1e6, len(names), seconds,
                     [tool for tool in NOT_ON_DEVICES if tool in names])


def section(results: list[Installed], command: str) -> str:
    everything = results[-1]
    lines = ["## Installed size per role (issue 14: per-role provisioning)", "",
             f"`{command}` on {platform.machine()} {platform.system()}, Python {platform.python_version()}; "
             "each environment is a fresh venv (pip included) installed from a wheel folder without the "
             "Internet, as `mfc-edge provision ROLE --wheels DIR` installs it; size is disk usage.", "",
             "| environment | installed size | vs everything | distributions | install time | test tools in it |",
             "| --- | --- | --- | --- | --- | --- |"]
    for found in results:
        share = f"{found.megabytes / everything.megabytes:.0%}"
        lines.append(f"| {found.name} | {found.megabytes:.0f} MB | {share} | {found.distributions} | "
                     f"{found.seconds:.0f} s | {', '.join(found.test_tools) or 'none'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", type=Path, help="a wheel folder (default: a temporary one)")
    parser.add_argument("--write", action="store_true", help="write the section of benchmarks/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="install-size-") as scratch:
        wheels = args.wheels or Path(scratch) / "wheels"
        fill_wheel_folder(wheels)
        results = []
        for name, extras in VARIANTS.items():
            results.append(install(name, extras, wheels, Path(scratch)))
            print(f"{name}: {results[-1].megabytes:.0f} MB, {results[-1].distributions} distributions, "
                  f"{results[-1].seconds:.0f} s", flush=True)
    command = "python benchmarks/install_size_bench.py" + (" --wheels DIR" if args.wheels else "")
    text = section(results, command + (" --write" if args.write else ""))
    print(text)
    if args.write:
        write_section("## Installed size per role", text)


if __name__ == "__main__":
    main()
