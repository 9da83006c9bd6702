"""Imports point one way (see README, "Layout"): a test walks every import of the project.

- `mfc_edge` is the shared ground: it imports nothing of the devices or the hub.
- `hardware` holds parts: it imports only the shared ground.
- `offline_cache` is what every device shares: the shared ground and hardware parts.
- the device rooms (`kiosk`, `signage`, `window_device`) use those three, never each other or the hub.
- `hub` uses the shared ground only.
- `city` uses the shared ground only: it knows a hub by the wire (mfc_edge/city_protocol.py), not its code.
- `mfc_edge.cli` (the command, demo, doctor, status) is the one top layer that may import everything.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mfc_edge", "hardware", "offline_cache", "kiosk", "signage", "window_device", "hub", "city")
TOP = "mfc_edge.cli"
DEVICE_ROOMS = ("kiosk", "signage", "window_device")
ALLOWED = {
    "mfc_edge": {"mfc_edge"},
    "hardware": {"mfc_edge", "hardware"},
    "offline_cache": {"mfc_edge", "hardware", "offline_cache"},
    "hub": {"mfc_edge", "hub"},
    "city": {"mfc_edge", "city"},
    **{room: {"mfc_edge", "hardware", "offline_cache", room} for room in DEVICE_ROOMS},
}


def layer_of(module: str) -> str | None:
    if module == TOP or module.startswith(TOP + "."):
        return TOP
    head = module.split(".")[0]
    return head if head in PACKAGES else None


def imports_of(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, those inside functions included."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def forbidden_imports(root: Path) -> list[str]:
    problems = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            source = layer_of(module)
            if source == TOP:
                continue
            for line, imported in imports_of(path, root):
                target = layer_of(imported)
                if target is None or source is None:
                    continue
                if target == TOP or target not in ALLOWED[source]:
                    problems.append(f"{path.relative_to(root)}:{line}: {source} may not import {imported}")
    return problems


def test_imports_point_one_way():
    assert forbidden_imports(ROOT) == []


def test_the_walk_finds_a_forbidden_import_wherever_it_hides(tmp_path):
    for package, text in {
        "mfc_edge/config.py": "def load():\n    from kiosk.config import load_section\n",
        "mfc_edge/cli/__init__.py": "import hub.api\nimport kiosk.app\n",
        "hardware/printer.py": "import offline_cache.outbox\n",
        "kiosk/app.py": "from signage import wiring\nfrom offline_cache.outbox import DeviceStore\n",
        "signage/app.py": "from . import widgets\nfrom ..hub import api\n",
        "hub/api.py": "from mfc_edge.cli import main\nfrom hub import db\n",
    }.items():
        (tmp_path / package).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / package).write_text(text)
    assert forbidden_imports(tmp_path) == [
        "mfc_edge/config.py:2: mfc_edge may not import kiosk.config",
        "hardware/printer.py:1: hardware may not import offline_cache.outbox",
        "kiosk/app.py:1: kiosk may not import signage",
        "signage/app.py:2: signage may not import hub",
        "hub/api.py:1: hub may not import mfc_edge.cli",
    ]
