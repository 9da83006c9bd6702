"""A device installs only its role's extra (pyproject.toml): each role's code must run without
the packages of the other roles. Each check runs in a fresh interpreter in which the other
extras' packages cannot be imported, as on a device that never installed them."""
from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("kiosk", "signage", "console", "hub")

# What each role's command imports when it runs (mfc_edge/cli): its app, its wiring, its tools.
ROLE_MODULES = {
    "kiosk": ["kiosk.app", "kiosk.wiring", "kiosk.sample", "hardware.display", "hardware.printer",
              "mfc_edge.cli.kiosk_attract", "signage.loop", "mfc_edge.cli.doctor", "mfc_edge.cli.status", "mfc_edge.cli.tickets", "mfc_edge.cli.firstboot"],
    "signage": ["signage.app", "signage.wiring", "hardware.display", "hardware.audio", "mfc_edge.cli.doctor",
                "mfc_edge.cli.status", "mfc_edge.cli.firstboot"],
    "console": ["window_device.wiring", "window_device.gpio_test", "hardware.simulated_keys", "mfc_edge.cli.doctor",
                "mfc_edge.cli.status", "mfc_edge.cli.firstboot"],
    "hub": ["hub.api", "hub.server", "hub.bundle_folder", "hub.video_check", "hub.certificates"],
}

BLOCKER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not in this role's extra)")
sys.meta_path.insert(0, Blocked())
sys.argv = sys.argv[2:]
"""


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def blocked_imports(role: str) -> list[str]:
    """Import names of what the other roles' extras bring and this role's does not."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    mine = {requirement_name(r) for r in [*project["dependencies"], *extras[role]]}
    others = {requirement_name(r) for other in ROLES if other != role for r in extras[other]} - mine
    imports = importlib.metadata.packages_distributions()
    return sorted(name for name, dists in imports.items() if {d.lower() for d in dists} & others)


def run_as(role: str, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1"}
    return subprocess.run([sys.executable, "-c", BLOCKER + code, ",".join(blocked_imports(role)), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=environment, check=False)


def test_the_other_roles_packages_are_really_blocked() -> None:
    assert {"kivy", "PIL", "escpos", "ffpyplayer", "fastapi", "av"} <= set(blocked_imports("console"))
    assert {"gpiozero", "fastapi", "av"} <= set(blocked_imports("kiosk"))
    done = run_as("console", "import kivy")
    assert "not in this role's extra" in done.stderr


@pytest.mark.parametrize("role", ROLES)
def test_a_role_imports_only_what_its_extra_installs(role: str) -> None:
    code = "import importlib\nfor name in sys.argv:\n    importlib.import_module(name)\n"
    done = run_as(role, code, *ROLE_MODULES[role])
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_console_without_kivy_runs_its_buttons_and_doctor(tmp_path: Path) -> None:
    device_file = tmp_path / "console.toml"
    text = (ROOT / "mfc_edge/data/console.example.toml").read_text()
    text = text.replace('data_dir = "/var/lib/mfc-edge"', f'data_dir = "{tmp_path}"')
    device_file.write_text(re.sub(r"(?ms)^\[hub\].*?(?=^\[|\Z)", "", text))  # no hub: working alone
    shutil.copy(ROOT / "mfc_edge/data/catalog.toml", tmp_path)
    main = "from mfc_edge.cli import main\nsys.exit(main(sys.argv))\n"
    # --simulate reads keys from stdin: at its end the console stops.
    console = run_as("console", main, "console", "--config", str(device_file), "--simulate")
    assert console.returncode == 0, console.stderr[-2000:]
    doctor = run_as("console", main, "doctor", "--config", str(device_file))  # no Pi here: its gpio line fails
    assert "gpio" in doctor.stdout and "disk" in doctor.stdout and "ModuleNotFoundError" not in doctor.stderr + doctor.stdout, doctor.stderr
