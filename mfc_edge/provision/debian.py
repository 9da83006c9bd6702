"""The Debian packages a role needs: installed with apt on the machine itself, listed for a
scratch root (apt cannot install into a folder)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mfc_edge.provision.report import Report, run
from mfc_edge.provision.roles import Role


def missing_packages(packages: tuple[str, ...], root: Path) -> list[str]:
    """Those of `packages` dpkg does not list as installed in `root` (all of them with no dpkg
    there). "a|b" is satisfied by either and installs a."""
    admin = root / "var/lib/dpkg"
    installed: set[str] = set()
    if (admin / "status").exists():
        names = [name for entry in packages for name in entry.split("|")]
        done = subprocess.run(["dpkg-query", f"--admindir={admin}", "-W", "-f=${Package} ${Status}\n", *names],
                              capture_output=True, text=True, check=False)
        installed = {line.split()[0] for line in done.stdout.splitlines() if line.endswith(" install ok installed")}
    return [entry.split("|")[0] for entry in packages if not installed & set(entry.split("|"))]


def ensure_packages(role: Role, root: Path, report: Report) -> None:
    missing = missing_packages(role.debian_packages, root)
    if not missing:
        return
    if root != Path("/"):
        report.note(f"to install in {root} (apt is not run for a scratch root): {' '.join(missing)}")
        return
    quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}  # maintainer scripts must not ask questions
    run(["apt-get", "update", "-qq"], "apt-get update", quiet)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], "apt-get install", quiet)
    report.changed(f"installed Debian packages: {' '.join(missing)}")
