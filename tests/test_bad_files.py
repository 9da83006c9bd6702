"""Files a technician or a failing SD card can spoil: each gets one line naming it, never a traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mfc_edge.catalog import CatalogError, load_catalog
from mfc_edge.cli.doctor import Doctor
from mfc_edge.config import ConfigError, load_config
from mfc_edge.playlist import PlaylistError, load_playlists
from offline_cache.content import load_bundle_key
from offline_cache.hub_client import CredentialError, connect, load_token
from tests.helpers.devices import write_config


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen"}
    return subprocess.run([sys.executable, "-m", "mfc_edge.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def spoil(tmp_path, how: str):
    path = tmp_path / "spoiled.toml"
    if how == "not UTF-8":
        path.write_bytes('[center]\nname = "Строгино"\n'.encode("cp1251"))
    elif how == "a folder":
        path.mkdir()
    elif how == "a symbolic link that loops":
        path.symlink_to(path)
    elif how == "nested too deeply":
        path.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    elif how == "larger than":
        path.write_text("# " + "x" * (5 * 2**20) + "\n")
    return path


HOW = ["not UTF-8", "a folder", "a symbolic link that loops", "nested too deeply", "larger than"]


@pytest.mark.parametrize("how", HOW)
def test_device_files_catalogs_and_playlists_that_cannot_be_read_say_why(tmp_path, how):
    path = spoil(tmp_path, how)
    for load, error in ((load_config, ConfigError), (load_catalog, CatalogError), (load_playlists, PlaylistError)):
        with pytest.raises(error) as caught:
            load(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and how.split()[0] in message and "\n" not in message


@pytest.mark.parametrize("how", ["not UTF-8", "a folder"])
def test_the_command_says_it_in_one_line(tmp_path, how):
    path = spoil(tmp_path, how)
    done = run("check-config", "--config", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith(f"mfc-edge: error: {path}: ") and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage\x00", b"short", "токен-из-блокнота".encode()])
def test_a_spoiled_device_token_is_named_and_the_device_works_alone(tmp_path, content):
    device = load_config(write_config(tmp_path))
    device.data_dir.mkdir(parents=True)
    (device.data_dir / "device-token").write_bytes(content)
    with pytest.raises(CredentialError, match="device-token: not a device token: enroll the device again"):
        load_token(device.data_dir)
    assert connect(device) is None
    checks = {c.name: c for c in Doctor(device).checks() if c.name == "token"}
    assert not checks["token"].ok and "not a device token" in checks["token"].detail
    done = run("status", "--config", str(device.path))
    assert done.returncode == 0 and "not a device token" in done.stdout and "Traceback" not in done.stderr


def test_a_spoiled_bundle_key_stops_the_kiosk_with_one_line(tmp_path):
    device = load_config(write_config(tmp_path))
    device.data_dir.mkdir(parents=True)
    (device.data_dir / "bundle-key").write_bytes(b"\x00\x01not base64")
    with pytest.raises(CredentialError, match="bundle-key: not a bundle key"):
        load_bundle_key(device.data_dir)
    done = run("kiosk", "--config", str(device.path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "bundle-key: not a bundle key: enroll the device again" in done.stderr
