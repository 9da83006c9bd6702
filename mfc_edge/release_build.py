"""Building a release: the project's wheel and each role's dependency wheels, per machine.

    mfc-edge release build --out DIR [--machine aarch64 --machine x86_64] [--role console ...]

writes DIR/wheels/*.whl and DIR/release.json, the unsigned description the hub checks and signs
(`mfc-edge hub release DIR`, hub/releases.py):

    {"format": 1, "version": "0.2.0", "python": "cp311",
     "wheels": [{"name": ..., "sha256": ..., "size": ...}, ...],
     "machines": {"aarch64": {"kiosk": [wheel names], ...}, "x86_64": {...}}}

pip downloads each role's wheels for the target machine rather than this one: the platform tags
below, and environment markers judged here for the target (pip judges them by the machine it runs
on). benchmarks/arm64_wheels.py uses the same functions to check that every role resolves.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mfc_edge import bundle
from mfc_edge.bundle import ManifestError, canonical_json
from mfc_edge.files import atomic_write
from mfc_edge.release import MACHINES, PYTHON, ROLES, Wheel, wheel_name_problem

FORMAT = 1
DESCRIPTION = "release.json"
WHEELS = "wheels"
MAX_DESCRIPTION_BYTES = 1024 * 1024
# 64-bit Raspberry Pi OS Bookworm has glibc 2.36 and Debian 12 on a PC too, so every manylinux tag up
# to 2.36 installs there. pip takes --platform tags literally (lgpio ships manylinux_2_34 only): all are named.
GLIBC_MINORS = range(17, 37)
# The markers of CPython 3.11 on 64-bit Linux; platform_machine is the target's.
_LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "python_version": "3.11",
          "python_full_version": "3.11.2", "implementation_name": "cpython",
          "platform_python_implementation": "CPython"}
# pip says where each wheel went: "Saved <path>" or "File was already downloaded <path>".
_WHEEL_LINE = re.compile(r"^\s*(?:Saved|File was already downloaded) (\S+\.whl)$", re.MULTILINE)
_MISSING_LINE = re.compile(r"^ERROR: (?:Could not find a version that satisfies the requirement|"
                           r"No matching distribution found for) .*$", re.MULTILINE)
# What the working tree has besides the project's source (.gitignore, and tools' caches).
_NOT_SOURCE = (".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
               ".mypy_cache", ".ruff_cache")


class BuildError(RuntimeError):
    """A release that cannot be built; the message is one line."""


class DescriptionError(ValueError):
    """A release folder whose release.json cannot be used; the message is one line."""


@dataclass(frozen=True)
class Description:
    version: str
    wheels: tuple[Wheel, ...]
    machines: dict[str, dict[str, tuple[str, ...]]]  # machine -> role -> wheel names

    def encode(self) -> bytes:
        return canonical_json({
            "format": FORMAT, "version": self.version, "python": PYTHON,
            "wheels": [{"name": w.name, "sha256": w.sha256, "size": w.size} for w in self.wheels],
            "machines": {m: {r: list(names) for r, names in roles.items()} for m, roles in self.machines.items()}})


def platform_args(machine: str) -> list[str]:
    """pip's options for binary wheels that CPython 3.11 on 64-bit Linux of `machine` installs."""
    tags = [f"manylinux2014_{machine}", *(f"manylinux_2_{minor}_{machine}" for minor in GLIBC_MINORS)]
    return ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
            *(arg for tag in tags for arg in ("--platform", tag))]


def for_machine(requirement: str, machine: str) -> str | None:
    """The requirement without its marker if `machine` needs it, else None."""
    try:  # pytest and pip's build tools bring it; devices and hubs, which never build, need not have it
        from packaging.requirements import Requirement
    except ImportError:
        raise BuildError("building a release needs the Python package 'packaging': pip install packaging") from None
    parsed = Requirement(requirement)
    if parsed.marker is not None and not parsed.marker.evaluate({**_LINUX, "platform_machine": machine}):
        return None
    parsed.marker = None
    return str(parsed)


def role_requirements(pyproject: Path, role: str, machine: str) -> tuple[list[str], bool]:
    """The base dependencies plus the role's extra as `machine` needs them, and whether pyproject has that extra."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    wanted = (for_machine(line, machine) for line in list(project.get("dependencies", [])) + list(extras.get(role, [])))
    return [line for line in wanted if line], role in extras


def download(requirements: list[str], dest: Path, machine: str) -> tuple[list[str], list[str]]:
    """(wheel file names, pip's error lines) for one resolve of `requirements` for `machine`."""
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                             "--progress-bar", "off", "-d", str(dest), *platform_args(machine), *requirements],
                            capture_output=True, text=True)
    wheels = sorted({Path(found).name for found in _WHEEL_LINE.findall(result.stdout)})
    errors = [] if result.returncode == 0 else (_MISSING_LINE.findall(result.stderr + result.stdout)
                                                or (result.stderr.strip().splitlines() or ["pip failed"])[-1:])
    return wheels, errors


def foreign(wheels: list[str], machine: str) -> list[str]:
    """The wheels that are neither pure Python nor built for `machine`."""
    return [w for w in wheels if not (w.endswith("-any.whl") or w.endswith(f"_{machine}.whl"))]


def build_project_wheel(root: Path, dest: Path) -> str:
    """Build the project's wheel from the working tree at `root` into `dest`; its file name.

    From a copy without the ignored folders: setuptools builds through build/lib, where a module
    deleted since an earlier build would still be, and would ship in the wheel."""
    with tempfile.TemporaryDirectory(prefix="mfc-edge-wheel-") as scratch:
        source = Path(scratch) / "source"
        shutil.copytree(root, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE), symlinks=True)
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                                 "-w", scratch, str(source)], capture_output=True, text=True)
        built = list(Path(scratch).glob("*.whl"))
        if result.returncode != 0 or len(built) != 1:
            last = (result.stderr.strip().splitlines() or ["no wheel was made"])[-1]
            raise BuildError(f"pip could not build the project's wheel from {root}: {last}")
        built[0].replace(dest / built[0].name)
        return built[0].name


def build(root: Path, out: Path, machines: list[str], roles: list[str]) -> Description:
    """Build the release of the project at `root` into `out` for these machines and roles."""
    wheels_dir = out / WHEELS
    wheels_dir.mkdir(parents=True, exist_ok=True)
    project = build_project_wheel(root, wheels_dir)
    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    described: dict[str, dict[str, tuple[str, ...]]] = {}
    for machine in machines:
        described[machine] = {}
        for role in roles:
            requirements, _ = role_requirements(root / "pyproject.toml", role, machine)
            names, errors = download(requirements, wheels_dir, machine)
            if errors:
                raise BuildError(f"{role} for {machine}: {errors[0]}")
            if wrong := foreign(names, machine):
                raise BuildError(f"{role} for {machine}: pip chose {wrong[0]}, which is not for {machine}")
            described[machine][role] = tuple(sorted({*names, project}))
    used = sorted({name for roles_ in described.values() for names in roles_.values() for name in names})
    wheels = tuple(Wheel(name, bundle.hash_file(wheels_dir / name).hexdigest(), (wheels_dir / name).stat().st_size)
                   for name in used)
    description = Description(version, wheels, described)
    atomic_write(out / DESCRIPTION, description.encode())
    return description


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise DescriptionError(message)


def read_description(folder: Path) -> Description:
    """The description of the release built in `folder`, or DescriptionError saying what is wrong."""
    path = folder / DESCRIPTION
    try:
        raw = bundle.load_json(path.read_bytes(), DESCRIPTION, MAX_DESCRIPTION_BYTES)
    except OSError as exc:
        raise DescriptionError(f"{path}: cannot be read ({exc.strerror or exc}): build the release there first "
                               "with `mfc-edge release build --out DIR`") from None
    except ManifestError as exc:
        raise DescriptionError(f"{path}: {exc}") from None
    _require(isinstance(raw, dict) and set(raw) == {"format", "version", "python", "wheels", "machines"},
             f"{path}: expected an object with exactly the keys format, machines, python, version, wheels")
    _require(raw["format"] == FORMAT and raw["python"] == PYTHON,
             f"{path}: format {str(raw['format'])[:20]} for {str(raw['python'])[:20]}: expected {FORMAT} for {PYTHON}")
    _require(isinstance(raw["version"], str) and 0 < len(raw["version"]) <= 64, f"{path}: version is not a string")
    _require(isinstance(raw["wheels"], list) and all(isinstance(w, dict) and set(w) == {"name", "sha256", "size"}
                                                     for w in raw["wheels"]),
             f"{path}: wheels must be a list of objects with the keys name, sha256, size")
    for item in raw["wheels"]:
        problem = wheel_name_problem(item["name"])
        _require(problem is None, f"{path}: {problem}")
    wheels = tuple(Wheel(w["name"], str(w["sha256"]), w["size"]) for w in raw["wheels"])
    names = {w.name for w in wheels}
    machines = raw["machines"]
    _require(isinstance(machines, dict) and bool(machines) and set(machines) <= set(MACHINES)
             and all(isinstance(r, dict) and bool(r) and set(r) <= set(ROLES) for r in machines.values()),
             f"{path}: machines must map some of {', '.join(MACHINES)} to some of the roles {', '.join(ROLES)}")
    for machine, roles in machines.items():
        for role, listed in roles.items():
            _require(isinstance(listed, list) and all(n in names for n in listed),
                     f"{path}: {machine} {role} names a wheel not among the wheels")
    return Description(raw["version"], wheels, {m: {r: tuple(n) for r, n in roles.items()}
                                                for m, roles in machines.items()})
