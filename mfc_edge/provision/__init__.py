"""Provisioning: from a fresh Raspberry Pi OS (or Debian 12) to a device of one role that
starts at boot, runs unprivileged and is restarted when it hangs.

`provision(plan)` installs the role's Debian packages and Python environment, the system user,
folders, device file, units and system settings; each step checks before it acts, so a second
run changes nothing. The command is `mfc-edge provision ROLE` (mfc_edge/cli/provision.py).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mfc_edge.provision import system
from mfc_edge.provision.debian import ensure_packages
from mfc_edge.provision.platform_check import UnsupportedPlatform, check_platform
from mfc_edge.provision.python_env import VENV, check_sources, ensure_environment, extras_wanted, requirement
from mfc_edge.provision.render import system_files, units_to_enable
from mfc_edge.provision.report import ProvisionError, Report
from mfc_edge.provision.roles import ROLES, Role, UnknownRole, role_named

__all__ = ["ROLES", "Plan", "ProvisionError", "Report", "Role", "UnknownRole", "UnsupportedPlatform",
           "check_platform", "provision", "role_named"]


@dataclass(frozen=True)
class Plan:
    role: Role
    source: Path  # the mfc-edge checkout pip installs from
    root: Path = Path("/")
    packages: bool = True  # False: neither apt nor pip (rendering, or a card image installed later)
    wheels: Path | None = None  # pip takes everything from here, without the Internet


def hub_host(root: Path, role: Role) -> str | None:
    """The host of the device file's hub URL: the device's time server. None for the hub, for
    an unreadable file and for the examples' placeholder hosts (*.example, RFC 2606)."""
    if not role.is_device:
        return None
    try:
        url = tomllib.loads((root / system.device_file(role)).read_text(encoding="utf-8"))["hub"]["url"]
        host = urlsplit(url).hostname
    except (OSError, UnicodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError):
        return None
    return None if not host or host.endswith(".example") else host


def _install(plan: Plan, report: Report) -> None:
    check_sources(plan.source, plan.wheels)
    ensure_packages(plan.role, plan.root, report)
    if plan.root == Path("/"):
        ensure_environment(plan.role, plan.source, plan.wheels, report)
    else:
        report.note(f"to install in {plan.root}/{VENV} from inside the root (a venv works only at the path it "
                    f"was made at): {requirement(extras_wanted(plan.role, plan.root), plan.source)}")


def provision(plan: Plan, report: Report) -> None:
    role, root = plan.role, plan.root
    if plan.packages:
        _install(plan, report)
    if role.is_device:
        system.ensure_device_file(root, role, report)
    system.write_files(root, system_files(role, hub_host(root, role)), report)
    if role.unit is not None:
        system.create_user(root, report)
        system.apply_folders(root, report)
        system.disable_swap_file(root, report)
    system.enable_units(root, units_to_enable(role), report)
    if report.changes:
        system.tell_running_systemd(root, role, report)
