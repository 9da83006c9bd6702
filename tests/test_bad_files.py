"""Files a technician or a failing SD card can spoil: each gets one line naming it, never a traceback."""
from __future__ import annotations

import base64
import json
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
from tests.helpers.devices import BASE_CONFIG, write_config


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


# ---- the hub's data folder, its TLS files and ports; ids, logins; devices' data folders ----

def one_line(done: subprocess.CompletedProcess | tuple[int, str], code: int = 2) -> str:
    """The one error line of a command that failed with `code`, without a traceback; it may follow
    log lines (Kivy's, the hub's)."""
    returncode, stderr = (done.returncode, done.stderr) if isinstance(done, subprocess.CompletedProcess) else done
    assert returncode == code and "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert [line for line in lines if "error" in line] == lines[-1:], stderr
    assert lines[-1].startswith("mfc-edge: error: "), stderr
    return lines[-1].removeprefix("mfc-edge: error: ")


def main_in_process(capsys, *args: str) -> tuple[int, str]:
    from mfc_edge.cli import main

    code = main(list(args))
    return code, capsys.readouterr().err


def hub_data(tmp_path, how: str):
    folder = tmp_path / "hub"
    if how == "a file":
        folder.write_text("not a folder")
    elif how == "under a file":
        folder.write_text("not a folder")
        folder = folder / "data"
    elif how == "a corrupt database":
        folder.mkdir()
        (folder / "hub.sqlite").write_bytes(b"SQLite format 2\0" + os.urandom(4096))
    elif how == "a folder for a database":
        (folder / "hub.sqlite").mkdir(parents=True)
    return folder


HUB_DATA = {"a file": "hub: is a file, not a folder",
            "under a file": "hub/data: cannot be made: {tmp}/hub is a file, not a folder",
            "a corrupt database": "hub/hub.sqlite: not a hub database (file is not a database): restore it from "
                                  "a backup, or move it away for the hub to start an empty one",
            "a folder for a database": "hub/hub.sqlite: cannot be opened: Is a directory"}


@pytest.mark.parametrize("how", HUB_DATA)
def test_a_hub_data_folder_that_cannot_be_used_is_one_line(tmp_path, capsys, how):
    data = hub_data(tmp_path, how)
    message = one_line(main_in_process(capsys, "hub", "enroll-code", "--data", str(data), "--center", "strogino",
                                       "--role", "kiosk"))
    assert message == f"{tmp_path}/" + HUB_DATA[how].format(tmp=tmp_path)


def test_the_hub_itself_says_it_in_one_line_too(tmp_path):
    data = hub_data(tmp_path, "a corrupt database")
    done = run("hub", "--data", str(data), "--port", "9")
    assert one_line(done).startswith(f"{data}/hub.sqlite: not a hub database")


def test_ports_out_of_range_are_refused_not_wrapped_around(tmp_path):
    """`--port 99999` once printed 99999 and listened on 34463."""
    for args in (["hub", "--data", str(tmp_path / "hub"), "--port", "99999"],
                 ["virtual-printer", "--port", "70000", "--out", str(tmp_path / "jobs")]):
        done = subprocess.run([sys.executable, "-m", "mfc_edge.cli", *args], capture_output=True, text=True,
                              timeout=20)
        assert one_line(done) == f"--port {args[-1] if args[0] == 'hub' else '70000'}: expected a TCP port " \
                                 f"from {1 if args[0] == 'hub' else 0} to 65535"
    assert not (tmp_path / "hub").exists()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    from tests.helpers.hubprocess import make_test_ca

    folder = tmp_path_factory.mktemp("tls")
    cert, key, ca_cert = make_test_ca(folder)
    encrypted = folder / "encrypted.key"
    subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256", "-passout", "pass:secret", "-out",
                    str(encrypted)], check=True, capture_output=True)
    (folder / "garbage.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    return {"cert": cert, "key": key, "other key": folder / "ca.key", "encrypted": encrypted,
            "garbage": folder / "garbage.pem", "missing": folder / "missing.pem", "folder": folder}


@pytest.mark.parametrize("cert, key, message", [
    ("missing", "key", "--cert {missing}: cannot be read: No such file or directory"),
    ("cert", "missing", "--key {missing}: cannot be read: No such file or directory"),
    ("folder", "key", "--cert {folder}: cannot be read: Is a directory"),
    ("garbage", "key", "--cert {garbage}: not a PEM certificate"),
    ("key", "key", "--cert {key}: not a PEM certificate"),
    ("cert", "garbage", "--key {garbage}: not the PEM private key of the certificate {cert}"),
    ("cert", "other key", "--key {other key}: not the PEM private key of the certificate {cert}"),
    ("cert", "encrypted", "--key {encrypted}: the key is protected by a passphrase: give the hub an unencrypted "
                          "key, readable by its user only"),
    ("cert", None, "--cert and --key go together"),
])
def test_missing_or_garbage_tls_files_are_one_line(tls, tmp_path, capsys, cert, key, message):
    args = ["hub", "--data", str(tmp_path / "hub"), "--port", "9", "--cert", str(tls[cert])]
    if key:
        args += ["--key", str(tls[key])]
    assert one_line(main_in_process(capsys, *args)) == message.format_map({k: str(v) for k, v in tls.items()})
    assert not (tmp_path / "hub").exists()


def test_a_good_certificate_and_key_pass_the_check(tls):
    from mfc_edge.cli.arguments import tls_files

    tls_files(tls["cert"], tls["key"])
    tls_files(None, None)


@pytest.mark.parametrize("args, message", [
    (["enroll-code", "--center", "", "--role", "kiosk"], "--center '': expected lowercase latin letters, digits "
                                                         "and hyphens, up to 40"),
    (["enroll-code", "--center", "../strogino", "--role", "kiosk"], "--center '../strogino': expected lowercase"),
    (["enroll-code", "--center", "strogino/1", "--role", "kiosk"], "--center 'strogino/1': expected lowercase"),
    (["set-center", "--center", "Строгино", "--timezone", "Europe/Moscow"], "--center 'Строгино': expected"),
    (["publish", ".", "--center", " strogino", "--role", "kiosk"], "--center ' strogino': expected"),
    (["devices", "--center", "strogino\n"], "--center 'strogino\\n': expected"),
    (["revoke", "--center", "strogino", "--device", "../kiosk-1"], "--device '../kiosk-1': expected lowercase"),
    (["add-operator", "--center", "strogino", "--login", "", "--name", "Иванова"],
     "--login '': expected letters, digits, dots, underscores and hyphens, starting with a letter or digit, "
     "up to 60"),
    (["add-operator", "--center", "strogino", "--login", "../ivanova", "--name", "Иванова"], "--login '../ivanova'"),
    (["add-operator", "--center", "strogino", "--login", "a/b", "--name", "Иванова"], "--login 'a/b'"),
])
def test_empty_or_path_like_ids_and_logins_are_one_line(tmp_path, capsys, args, message):
    data = tmp_path / "hub"
    assert one_line(main_in_process(capsys, "hub", *args, "--data", str(data))).startswith(message)
    assert not data.exists()  # refused before the hub's file is made


def test_ordinary_ids_and_logins_pass(tmp_path, capsys, monkeypatch):
    import io

    for login in ("i.ivanova_2", "иванова", "Petrov-1"):
        monkeypatch.setattr("sys.stdin", io.StringIO("a good password\n"))
        code, err = main_in_process(capsys, "hub", "add-operator", "--data", str(tmp_path / "hub"), "--center",
                                    "strogino-2", "--login", login, "--name", "Иванова")
        assert code == 0, err


class CannedHub:
    """An HTTP server on loopback answering every POST with one canned reply."""

    def __init__(self, status: int, body: bytes, content_type: str):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


ENROLLED = json.dumps({"center": "strogino", "device_id": "kiosk-1", "role": "kiosk", "window": None,
                       "token": "t" * 32, "bundle_key": base64.b64encode(bytes(32)).decode()}).encode()


@pytest.mark.parametrize("body, content_type", [
    (b"<!doctype html><title>Wi-Fi sign-in</title>", "text/html"),
    (b"<!doctype html><title>Wi-Fi sign-in</title>", "application/json"),
    (b'{"status": "ok"}', "application/json"),
    (b'{"center": "strogino", "role": "kiosk"}', "application/json"),
    (b'{"center": "strogino", "role": "kiosk", "token": 12345}', "application/json"),
])
def test_enroll_against_a_server_that_answers_200_with_something_else_is_one_line(tmp_path, capsys, body,
                                                                                  content_type):
    config = write_config(tmp_path)
    hub = CannedHub(200, body, content_type)
    try:
        message = one_line(main_in_process(capsys, "enroll", "--config", str(config), "--hub", hub.url,
                                           "--code", "K7QF-9M2X-WX7R-LZUR"), code=1)
    finally:
        hub.close()
    assert message == f"the hub at {hub.url} answered something that is not an enrollment"
    assert not (tmp_path / "data" / "device-token").exists()


def test_a_device_data_folder_that_cannot_be_made_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("a file where the data folder should go")
    config = write_config(tmp_path, BASE_CONFIG.format(printer_uri="tcp://127.0.0.1:9").replace(
        'data_dir = "data"', 'data_dir = "taken/data"'))
    expected = f"{tmp_path}/taken/data: cannot be made: {tmp_path}/taken is a file, not a folder"
    hub = CannedHub(200, ENROLLED, "application/json")
    try:
        assert one_line(main_in_process(capsys, "enroll", "--config", str(config), "--hub", hub.url,
                                        "--code", "K7QF-9M2X-WX7R-LZUR")) == expected
    finally:
        hub.close()
    done = run("kiosk", "--config", str(config))
    assert one_line(done) == expected


def test_a_hub_file_from_a_newer_mfc_edge_is_one_line(tmp_path, capsys):
    import sqlite3
    from contextlib import closing

    from hub.db import HubDB
    from hub.schema import MIGRATIONS

    HubDB(tmp_path / "hub").close()
    with closing(sqlite3.connect(tmp_path / "hub" / "hub.sqlite")) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    for args in (["hub", "devices", "--center", "strogino"], ["hub", "--port", "9"]):
        message = one_line(main_in_process(capsys, *args, "--data", str(tmp_path / "hub")))
        assert message.startswith(f"{tmp_path}/hub/hub.sqlite: its schema is version {len(MIGRATIONS) + 1}, newer")
