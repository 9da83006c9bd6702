"""`mfc-edge provision ROLE --root DIR`: every role rendered into a scratch root with systemd's
own tools (systemd-sysusers, systemd-tmpfiles, systemctl --root), owners read back from the
scratch root's own etc/passwd, a second run changing nothing, and every unit passing
`systemd-analyze verify`. Nothing is installed on this machine."""
from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from mfc_edge.cli import build_parser, main
from mfc_edge.provision import Report, UnsupportedPlatform, check_platform, role_named
from mfc_edge.provision.bootstrap import main as bootstrap
from mfc_edge.provision.python_env import ensure_environment, installed_source, installed_wheels
from mfc_edge.provision.render import units_to_enable

ROLES = ("kiosk", "signage", "console", "hub")
HOST_UNITS = Path("/usr/lib/systemd/system")


@pytest.fixture(autouse=True)
def no_apt_on_this_machine(monkeypatch) -> None:
    """Every test renders into a scratch root; apt would change this machine."""
    def refuse(command: list[str], *_args: object) -> None:
        raise AssertionError(f"a test ran {command} on this machine")
    monkeypatch.setattr("mfc_edge.provision.debian.run", refuse)


def provision(root: Path, role: str, *more: str) -> int:
    return main(["provision", role, "--root", str(root), "--no-packages", *more])


def ids(root: Path, table: str) -> dict[str, int]:
    rows = (line.split(":") for line in (root / "etc" / table).read_text().splitlines())
    return {row[0]: int(row[2]) for row in rows}


def members(root: Path) -> set[str]:
    rows = (line.split(":") for line in (root / "etc/group").read_text().splitlines())
    return {row[0] for row in rows if "mfc-edge" in row[3].split(",")}


def owner_mode(path: Path) -> tuple[int, int, int]:
    found = path.stat()
    return found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under `root` with its type, owner, mode and contents (or link target)."""
    seen: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        found = path.lstat()
        what = str(path.readlink()) if path.is_symlink() else path.read_bytes() if path.is_file() else "dir"
        seen[str(path.relative_to(root))] = (found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode), what)
    return seen


def unit_text(root: Path, unit: str) -> str:
    return (root / "etc/systemd/system" / unit).read_text()


def exec_start(root: Path, unit: str) -> list[str]:
    line = next(x for x in unit_text(root, unit).splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


@pytest.mark.parametrize("role", ROLES)
def test_a_role_is_rendered_with_its_user_folders_and_enabled_units(tmp_path: Path, role: str, capsys) -> None:
    assert provision(tmp_path, role) == 0
    said = capsys.readouterr().out
    assert "enabled mfc-edge-firstboot.service" in said

    users, groups = ids(tmp_path, "passwd"), ids(tmp_path, "group")
    uid, gid = users["mfc-edge"], groups["mfc-edge"]
    assert 0 < uid < 1000  # a system user, allocated in the scratch root
    assert "mfc-edge" not in ids(Path("/"), "passwd")  # and not on this machine
    assert owner_mode(tmp_path / "etc/mfc-edge") == (0, gid, 0o750)
    assert owner_mode(tmp_path / "var/lib/mfc-edge") == (uid, gid, 0o750)
    expected_groups = {"kiosk": {"video", "render", "input", "lp", "dialout"},
                       "signage": {"video", "render", "input", "audio"},
                       "console": {"gpio"}, "hub": set()}[role]
    assert members(tmp_path) == expected_groups

    wants = tmp_path / "etc/systemd/system/multi-user.target.wants"
    timers = tmp_path / "etc/systemd/system/timers.target.wants"  # the software updater's timer
    enabled = [p.name for p in wants.iterdir()] + [p.name for p in timers.glob("*")]
    assert sorted(enabled) == sorted(units_to_enable(role_named(role)))
    assert (wants / f"mfc-edge-{role}.service").readlink() == Path(f"/etc/systemd/system/mfc-edge-{role}.service")

    if role == "hub":
        tls = tmp_path / "etc/mfc-edge/tls"
        assert owner_mode(tmp_path / "var/lib/mfc-edge/hub") == (uid, gid, 0o700)
        assert owner_mode(tls) == (0, gid, 0o750)
        assert owner_mode(tls / "ca.key") == (0, 0, 0o600)  # the CA's key never reaches the service
        assert owner_mode(tls / "hub.key") == (uid, gid, 0o600)
        assert not (tmp_path / "etc/mfc-edge/hub.toml").exists()
    else:
        assert owner_mode(tmp_path / f"etc/mfc-edge/{role}.toml") == (0, gid, 0o640)
        assert (tmp_path / f"etc/mfc-edge/{role}.toml").read_bytes() == \
            (Path("mfc_edge/data") / f"{role}.example.toml").read_bytes()


@pytest.mark.parametrize("role", (*ROLES, "base"))
def test_a_second_run_changes_nothing_and_says_so(tmp_path: Path, role: str, capsys) -> None:
    assert provision(tmp_path, role) == 0
    first = snapshot(tmp_path)
    capsys.readouterr()
    assert provision(tmp_path, role) == 0
    assert capsys.readouterr().out == f"nothing to do: {tmp_path} is already provisioned as {role}\n"
    assert snapshot(tmp_path) == first


def test_a_changed_file_and_mode_are_put_back_one_line_each(tmp_path: Path, capsys) -> None:
    assert provision(tmp_path, "console") == 0
    unit = tmp_path / "etc/systemd/system/mfc-edge-console.service"
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    (tmp_path / "var/lib/mfc-edge").chmod(0o777)
    capsys.readouterr()
    assert provision(tmp_path, "console") == 0
    assert capsys.readouterr().out.splitlines() == [
        "updated /etc/systemd/system/mfc-edge-console.service",
        "/var/lib/mfc-edge: 0750 mfc-edge:mfc-edge",
    ]
    assert "Type=notify" in unit.read_text()


def test_a_hub_and_a_kiosk_share_one_machine(tmp_path: Path, capsys) -> None:
    assert provision(tmp_path, "hub") == 0
    assert provision(tmp_path, "kiosk") == 0
    uid, gid = ids(tmp_path, "passwd")["mfc-edge"], ids(tmp_path, "group")["mfc-edge"]
    wants = tmp_path / "etc/systemd/system/multi-user.target.wants"
    assert (wants / "mfc-edge-hub.service").is_symlink() and (wants / "mfc-edge-kiosk.service").is_symlink()
    assert members(tmp_path) == {"video", "render", "input", "lp", "dialout"}
    # The hub's folder is still in the boot's tmpfiles: put back when a kiosk run finds it loosened.
    (tmp_path / "var/lib/mfc-edge/hub").chmod(0o755)
    capsys.readouterr()
    assert provision(tmp_path, "kiosk") == 0
    assert capsys.readouterr().out == "/var/lib/mfc-edge/hub: 0700 mfc-edge:mfc-edge\n"
    assert owner_mode(tmp_path / "var/lib/mfc-edge/hub") == (uid, gid, 0o700)
    for role in ("hub", "kiosk"):
        assert provision(tmp_path, role) == 0
        assert capsys.readouterr().out.startswith("nothing to do")


def test_the_base_role_is_the_first_boot_unit_alone(tmp_path: Path) -> None:
    assert provision(tmp_path, "base") == 0
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if not p.is_dir()) == [
        "etc/systemd/system/mfc-edge-firstboot.service",
        "etc/systemd/system/multi-user.target.wants/mfc-edge-firstboot.service",
    ]


def test_an_existing_device_file_is_never_overwritten(tmp_path: Path, capsys) -> None:
    device_file = tmp_path / "etc/mfc-edge/kiosk.toml"
    device_file.parent.mkdir(parents=True)
    device_file.write_text('[hub]\nurl = "https://hub.center.lan:8443"\n')
    device_file.chmod(0o644)
    assert provision(tmp_path, "kiosk") == 0
    assert device_file.read_text() == '[hub]\nurl = "https://hub.center.lan:8443"\n'
    assert stat.S_IMODE(device_file.stat().st_mode) == 0o640  # tightened, not replaced
    assert "kiosk.toml from the example" not in capsys.readouterr().out
    # Its hub is the device's time server, public ones after it.
    timesyncd = (tmp_path / "etc/systemd/timesyncd.conf.d/mfc-edge.conf").read_text()
    assert "\nNTP=hub.center.lan 0.debian.pool.ntp.org" in timesyncd


def test_the_examples_placeholder_hub_is_no_time_server(tmp_path: Path) -> None:
    assert provision(tmp_path, "signage") == 0
    assert not (tmp_path / "etc/systemd/timesyncd.conf.d").exists()


def test_units_run_the_real_commands_supervised_and_hardened(tmp_path: Path) -> None:
    parser = build_parser()
    for role in ROLES:
        root = tmp_path / role
        assert provision(root, role) == 0
        unit = f"mfc-edge-{role}.service"
        command = exec_start(root, unit)
        assert command[0] == "/opt/mfc-edge/current/bin/mfc-edge"
        args = parser.parse_args(command[1:])  # arguments the command really takes
        text = unit_text(root, unit)
        for line in ("Type=notify", "NotifyAccess=main", "Restart=always", "RestartSec=2", "User=mfc-edge",
                     "RuntimeDirectory=mfc-edge", "ProtectSystem=strict", "ReadWritePaths=/var/lib/mfc-edge",
                     "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes"):
            assert f"\n{line}\n" in text, (role, line)
        if role == "hub":
            assert (args.data, args.host, args.port) == (Path("/var/lib/mfc-edge/hub"), "0.0.0.0", 8443)
            assert (args.cert, args.key) == (Path("/etc/mfc-edge/tls/hub.pem"), Path("/etc/mfc-edge/tls/hub.key"))
            assert "WatchdogSec" not in text and "PrivateDevices=yes" in text
        else:
            assert args.config == Path(f"/etc/mfc-edge/{role}.toml")
            assert "\nWatchdogSec=30\n" in text
            assert "PrivateDevices" not in text  # GPU, touch, printers, sound or GPIO chips
        assert ("SDL_VIDEODRIVER=kmsdrm" in text) == (role in ("kiosk", "signage"))
    assert "DeviceAllow=char-gpiochip rw" in unit_text(tmp_path / "console", "mfc-edge-console.service")


def test_system_settings_keep_the_card_alive(tmp_path: Path) -> None:
    assert provision(tmp_path, "kiosk") == 0
    journald = (tmp_path / "etc/systemd/journald.conf.d/mfc-edge.conf").read_text()
    assert "Storage=volatile" in journald and "RuntimeMaxUse=" in journald
    assert "RuntimeWatchdogSec=15" in (tmp_path / "etc/systemd/system.conf.d/mfc-edge.conf").read_text()
    assert "[zram0]" in (tmp_path / "etc/systemd/zram-generator.conf.d/mfc-edge.conf").read_text()
    rules = (tmp_path / "etc/udev/rules.d/60-mfc-edge-kiosk.rules").read_text()
    assert 'ATTR{idVendor}=="04b8|' in rules and "*:0701??:*" in rules and 'GROUP="mfc-edge"' in rules
    assert 'SUBSYSTEM=="backlight"' in rules and "chgrp video /sys%p/bl_power" in rules  # the panel sleeps
    assert "consoleblank - - - - 0" in (tmp_path / "etc/tmpfiles.d/mfc-edge-kiosk.conf").read_text()

    console = tmp_path / "console"
    assert provision(console, "console") == 0
    console_rules = (console / "etc/udev/rules.d/60-mfc-edge-console.rules").read_text()
    assert 'KERNEL=="gpiochip*", GROUP="gpio"' in console_rules and "backlight" not in console_rules


def test_the_swap_file_on_the_card_is_disabled(tmp_path: Path, capsys) -> None:
    # Raspberry Pi OS's dphys-swapfile, enabled, in the scratch root.
    unit = tmp_path / "usr/lib/systemd/system/dphys-swapfile.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
    subprocess.run(["systemctl", f"--root={tmp_path}", "--quiet", "enable", "dphys-swapfile.service"], check=True)
    assert provision(tmp_path, "console") == 0
    assert "disabled dphys-swapfile.service" in capsys.readouterr().out
    assert not (tmp_path / "etc/systemd/system/multi-user.target.wants/dphys-swapfile.service").exists()


def test_with_a_root_packages_are_listed_not_installed(tmp_path: Path, capsys) -> None:
    assert main(["provision", "console", "--root", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    packages = next(line for line in said.splitlines() if line.startswith(f"to install in {tmp_path} "))
    assert packages.split(": ")[1].split() == ["python3", "python3-venv", "systemd-zram-generator", "fake-hwclock",
                                               "systemd-timesyncd"]  # a console draws nothing: no GL
    assert f"to install in {tmp_path}/opt/mfc-edge/venv" in said and "[console]" in said
    assert not (tmp_path / "opt").exists()


@pytest.mark.parametrize(("system", "machine", "python", "sentence"), [
    ("Linux", "armv7l", (3, 11), "Raspberry Pi OS 32-bit is not supported: kivy, ffpyplayer, pillow and cffi have "
                                 "no 32-bit wheels; flash Raspberry Pi OS Lite (64-bit)"),
    ("Darwin", "arm64", (3, 11), "Darwin is not supported"),
    ("Linux", "aarch64", (3, 9), "Python 3.9 is too old"),
])
def test_unsupported_platforms_are_refused_in_one_sentence(system, machine, python, sentence) -> None:
    with pytest.raises(UnsupportedPlatform, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        check_platform(system, machine, python)
    check_platform("Linux", "aarch64", (3, 11))
    check_platform("Linux", "x86_64", (3, 13))


def test_the_command_refuses_a_32_bit_pi_in_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("platform.machine", lambda: "armv7l")
    assert provision(tmp_path, "kiosk") == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Raspberry Pi OS 32-bit is not supported" in err
    assert list(tmp_path.iterdir()) == []


def test_a_root_that_cannot_be_written_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "etc").write_text("a file where a folder should be")
    assert provision(tmp_path, "console") == 2
    err = capsys.readouterr().err
    assert err.startswith("mfc-edge provision: ") and err.count("\n") == 1 and "etc" in err


def test_this_machine_is_provisioned_by_root_only(monkeypatch, capsys) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert main(["provision", "kiosk", "--no-packages"]) == 2
    assert capsys.readouterr().err == "mfc-edge provision: provisioning this machine needs root: sudo mfc-edge provision " \
                                      "kiosk\n"


def test_an_unknown_role_is_one_line(tmp_path: Path, capsys) -> None:
    assert provision(tmp_path, "printer") == 2
    assert capsys.readouterr().err == ("mfc-edge provision: role 'printer': expected one of kiosk, signage, console, "
                                       "hub, base\n")


@pytest.fixture(scope="module")
def systemd_skeleton(tmp_path_factory) -> Path:
    """What `systemd-analyze verify --root` needs besides our files: the system's own units
    (sysinit.target, getty@.service...) and, as stand-in executables for the verify test only,
    every command our units run (the real program lives in a venv a scratch root lacks)."""
    skeleton = tmp_path_factory.mktemp("skeleton")
    shutil.copytree(HOST_UNITS, skeleton / "usr/lib/systemd/system", symlinks=True)
    (skeleton / "lib").symlink_to("usr/lib")
    (skeleton / "bin").symlink_to("usr/bin")
    for command in ("opt/mfc-edge/current/bin/mfc-edge", "usr/bin/rm", "usr/bin/systemctl"):
        stand_in = skeleton / command
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\nexit 0\n")
        stand_in.chmod(0o755)
    return skeleton


@pytest.mark.parametrize("role", ROLES)
def test_every_unit_passes_systemd_analyze_verify(tmp_path: Path, role: str, systemd_skeleton: Path) -> None:
    assert provision(tmp_path, role) == 0
    shutil.copytree(systemd_skeleton, tmp_path, symlinks=True, dirs_exist_ok=True)
    units = sorted(p.name for p in (tmp_path / "etc/systemd/system").glob("mfc-edge-*"))
    assert len(units) == {"hub": 2}.get(role, 6)
    for unit in units:
        done = subprocess.run(["systemd-analyze", "verify", f"--root={tmp_path}", f"/etc/systemd/system/{unit}"],
                              capture_output=True, text=True, check=False)
        # Unknown keys are only warnings to systemd: any word from it is a failure here.
        assert (done.returncode, done.stdout + done.stderr) == (0, ""), unit


# A build backend inside the fake checkout: the build needs nothing from the wheel folder (a
# real checkout's setuptools comes from it), so the test runs with no Internet and no cache.
FAKE_BACKEND = """
import zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "mfc_edge-0.1.0-py3-none-any.whl"
    info = "mfc_edge-0.1.0.dist-info/"
    with zipfile.ZipFile(f"{wheel_directory}/{name}", "w") as wheel:
        wheel.write("mfc_edge/__init__.py")
        wheel.writestr(info + "METADATA", "Metadata-Version: 2.1\\nName: mfc-edge\\nVersion: 0.1.0\\n")
        wheel.writestr(info + "WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        wheel.writestr(info + "entry_points.txt", "[console_scripts]\\nmfc-edge = mfc_edge:main\\n")
        wheel.writestr(info + "RECORD", "")
    return name
"""


def fake_checkout(folder: Path) -> Path:
    """A project shaped like mfc-edge (its package and its `mfc-edge` command), with no dependencies."""
    (folder / "mfc_edge").mkdir(parents=True)
    (folder / "mfc_edge/__init__.py").write_text("def main():\n    print('fake mfc-edge')\n")
    (folder / "backend.py").write_text(FAKE_BACKEND)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n')
    return folder


@pytest.mark.slow
def test_the_program_is_installed_from_a_wheel_folder_alone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # this machine's pip settings play no part
    wheels = tmp_path / "wheels"  # empty: pip may look nowhere else
    wheels.mkdir()
    source, root = fake_checkout(tmp_path / "src"), tmp_path / "root"
    said: list[str] = []
    ensure_environment(role_named("base"), source, wheels, Report(said.append), root)
    assert said == [f"made the venv {root}/opt/mfc-edge/venv", f"installed mfc-edge into {root}/opt/mfc-edge/venv",
                    f"{root}/opt/mfc-edge/current -> venv"]
    program = root / "opt/mfc-edge/current/bin/mfc-edge"
    assert subprocess.run([program], capture_output=True, text=True, check=True).stdout == "fake mfc-edge\n"
    assert installed_source(root) == source
    assert installed_wheels(root) == wheels  # a card made so installs its role at first boot from there too

    said.clear()
    ensure_environment(role_named("base"), source, wheels, Report(said.append), root)
    assert said == []
    (source / "mfc_edge/__init__.py").write_text("def main():\n    print('newer')\n")
    ensure_environment(role_named("base"), source, wheels, Report(said.append), root)
    assert said == [f"installed mfc-edge into {root}/opt/mfc-edge/venv"]
    assert subprocess.run([program], capture_output=True, text=True, check=True).stdout == "newer\n"


def test_a_missing_checkout_or_wheel_folder_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["provision", "console", "--root", str(tmp_path), "--source", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"mfc-edge provision: --source {tmp_path}: no pyproject.toml there; give the "
                                       "folder of the mfc-edge checkout\n")
    source = fake_checkout(tmp_path / "src")
    assert bootstrap(["console", "--source", str(source), "--wheels", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err == f"mfc-edge provision: --wheels {tmp_path / 'none'}: not a folder\n"
