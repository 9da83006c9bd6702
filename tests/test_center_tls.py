"""The center's trust: its own CA and the hub's HTTPS certificate (`mfc-edge hub tls`), and the
first-boot files the hub prints for new devices (`mfc-edge hub device-file`)."""
from __future__ import annotations

import os
import socket
import ssl
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from hub.certificates import SERVER_LIFETIME, TlsError, ensure_center_tls
from hub.device_file import DeviceFileError, kiosk_ticket_range, new_boot_file
from hub.hub import Hub
from mfc_edge import boot_file
from mfc_edge.cli import main
from mfc_edge.config import load_config
from offline_cache.enrollment import EnrollmentError, enroll
from tests.helpers.hubprocess import HubProcess, make_test_ca

EXAMPLES = Path(__file__).resolve().parent.parent / "mfc_edge" / "data"


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def alt_names(path: Path) -> set[str]:
    found = cert(path).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in found}


def test_hub_tls_keeps_keys_private_and_a_second_run_changes_nothing(tmp_path, capsys):
    tls = tmp_path / "tls"
    assert main(["hub", "tls", "--dir", str(tls), "--name", "hub.strogino.lan", "--ip", "127.0.0.1"]) == 0
    first = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tls.iterdir()}
    assert sorted(first) == ["ca.key", "ca.pem", "hub.key", "hub.pem"]
    assert (tls / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (tls / "hub.key").stat().st_mode & 0o777 == 0o600
    assert {"hub.strogino.lan", "127.0.0.1"} <= alt_names(tls / "hub.pem")
    cert(tls / "hub.pem").verify_directly_issued_by(cert(tls / "ca.pem"))
    assert cert(tls / "ca.pem").extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    capsys.readouterr()

    assert main(["hub", "tls", "--dir", str(tls), "--name", "hub.strogino.lan", "--ip", "127.0.0.1"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tls.iterdir()} == first


def test_a_certificate_near_its_end_or_missing_a_name_is_issued_again_by_the_same_ca(tmp_path):
    made = ensure_center_tls(tmp_path, ["hub"], ["192.0.2.10"])
    ca_before = made.ca_cert.read_bytes()
    old = cert(made.cert)

    later = datetime.now(UTC) + SERVER_LIFETIME - timedelta(days=30)
    renewed = ensure_center_tls(tmp_path, ["hub"], ["192.0.2.10"], now=later)
    assert renewed.changes == [f"issued {made.cert} (the old one ended on {old.not_valid_after_utc:%Y-%m-%d})"]
    assert made.ca_cert.read_bytes() == ca_before  # devices keep trusting the hub
    assert cert(made.cert).not_valid_after_utc > old.not_valid_after_utc

    widened = ensure_center_tls(tmp_path, ["hub-2"], [], now=later)
    assert widened.changes == [f"issued {made.cert} (it lacked hub-2)"]
    assert alt_names(made.cert) == {"hub", "hub-2", "192.0.2.10"}  # old names kept
    cert(made.cert).verify_directly_issued_by(cert(made.ca_cert))
    assert made.ca_cert.read_bytes() == ca_before


def test_a_ca_given_without_its_key_is_checked_and_never_replaced(tmp_path):
    given_cert, given_key, given_ca = make_test_ca(tmp_path / "org")
    tls = tmp_path / "tls"
    tls.mkdir()
    for source, name in ((given_cert, "hub.pem"), (given_key, "hub.key"), (given_ca, "ca.pem")):
        (tls / name).write_bytes(source.read_bytes())
    kept = {p.name: p.read_bytes() for p in tls.iterdir()}

    # make_test_ca's certificates last two days: usable, with a warning, and for 127.0.0.1 only.
    ends = f"{cert(tls / 'hub.pem').not_valid_after_utc:%Y-%m-%d}"
    assert ensure_center_tls(tls, ["hub.example"], ["127.0.0.1"]).changes == [
        f"warning: {tls / 'hub.pem'} ends on {ends}: have the CA that issued it issue a new one",
        f"warning: {tls / 'hub.pem'} is not for hub.example: devices using that address will refuse the hub"]
    with pytest.raises(TlsError, match=r"hub.pem: ended on"):
        ensure_center_tls(tls, [], ["127.0.0.1"], now=datetime.now(UTC) + timedelta(days=3))
    other_cert, other_key, _ = make_test_ca(tmp_path / "other")
    (tls / "hub.key").write_bytes(other_key.read_bytes())
    with pytest.raises(TlsError, match=r"hub.key: not the key of the hub's certificate"):
        ensure_center_tls(tls, [], ["127.0.0.1"])
    (tls / "hub.pem").write_bytes(other_cert.read_bytes())
    with pytest.raises(TlsError, match=r"hub.pem: not issued by the CA in"):
        ensure_center_tls(tls, [], ["127.0.0.1"])
    assert not (tls / "ca.key").exists()
    kept.update({"hub.pem": other_cert.read_bytes(), "hub.key": other_key.read_bytes()})
    assert {p.name: p.read_bytes() for p in tls.iterdir()} == kept


def test_bad_names_and_a_lone_ca_key_are_one_line(tmp_path, capsys):
    assert main(["hub", "tls", "--dir", str(tmp_path / "a"), "--name", "not a name"]) == 2
    assert capsys.readouterr().err == ("mfc-edge: error: name 'not a name': expected a host name such as hub or "
                                       "hub.local\n")
    assert main(["hub", "tls", "--dir", str(tmp_path / "a"), "--ip", "300.1.1.1"]) == 2
    assert "IP '300.1.1.1': expected an IPv4 or IPv6 address" in capsys.readouterr().err

    made = ensure_center_tls(tmp_path / "b", ["hub"], [])
    made.ca_cert.unlink()
    assert main(["hub", "tls", "--dir", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the CA's key is here but its certificate" in err


def named_center(data: Path) -> Hub:
    hub = Hub(data)
    hub.centers.set("strogino", "Europe/Moscow", "Центр госуслуг района Строгино")
    return hub


def test_device_files_take_the_next_free_id_and_kiosks_numbers_of_their_own(tmp_path):
    ca_pem = ensure_center_tls(tmp_path / "tls", ["hub"], []).ca_cert.read_text()
    hub = named_center(tmp_path / "hub")
    try:
        def next_file(role: str, window: str | None = None) -> boot_file.BootFile:
            return new_boot_file(hub, role=role, center="strogino", hub_url="https://hub.local:8443",
                                 ca_pem=ca_pem, window=window)

        first, second = next_file("kiosk"), next_file("kiosk")
        assert (first.device_id, first.ticket_range) == ("kiosk-1", (1, 200))
        assert (second.device_id, second.ticket_range) == ("kiosk-2", (201, 400))  # kiosk-1's code is outstanding
        hub.identity.enroll(first.code, "kiosk-1")
        hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-3")  # enrolled by hand
        assert next_file("kiosk").device_id == "kiosk-4"
        console = next_file("console", window="7")
        assert (console.device_id, console.window, console.ticket_range) == ("console-1", "7", None)
        assert next_file("signage").device_id == "screen-1"
        with pytest.raises(DeviceFileError, match="window is missing: a console needs the window it stands at"):
            next_file("console")
        assert next_file("console", window="8").device_id == "console-2"  # the refused one took no id
        # The code is the one the hub takes, for this center, role and window.
        device, _ = hub.identity.enroll(console.code, "console-1")
        assert (device.center, device.role, device.window) == ("strogino", "console", "7")
        with pytest.raises(DeviceFileError, match="center elsewhere has no name on this hub"):
            new_boot_file(hub, role="kiosk", center="elsewhere", hub_url="https://h", ca_pem="")
    finally:
        hub.close()

    blocks = [kiosk_ticket_range(n) for n in range(1, 6)]
    assert blocks[-1] == (801, 999)
    numbers = [set(range(low, high + 1)) for low, high in blocks]
    assert all(not (a & b) for i, a in enumerate(numbers) for b in numbers[i + 1:])
    with pytest.raises(DeviceFileError, match="at most 5 kiosks"):
        kiosk_ticket_range(6)


def device_from(text: str, folder: Path) -> object:
    """The device file first boot makes from a printed first-boot file, written into `folder`."""
    found = boot_file.parse(folder / "mfc-edge.toml", tomllib.loads(text))
    (folder / "hub-ca.pem").write_text(found.ca_pem)
    example = (EXAMPLES / f"{found.role}.example.toml").read_text(encoding="utf-8")
    path = folder / f"{found.role}.toml"
    path.write_text(boot_file.device_file(found, example, "hub-ca.pem", str(folder / "data")))
    return load_config(path), found.code


@pytest.mark.slow
def test_the_hub_serves_https_with_its_own_ca_and_a_printed_file_enrolls_a_device(tmp_path, capsys):
    tls = tmp_path / "tls"
    assert main(["hub", "tls", "--dir", str(tls), "--ip", "127.0.0.1"]) == 0
    named_center(tmp_path / "hub").close()
    with HubProcess(tmp_path / "hub", tls=(tls / "hub.pem", tls / "hub.key", tls / "ca.pem")) as running:
        capsys.readouterr()
        assert main(["hub", "device-file", "--data", str(tmp_path / "hub"), "--role", "kiosk", "--ca",
                     str(tls / "ca.pem"), "--hub-url", running.url]) == 0
        printed = capsys.readouterr()
        assert "kiosk-1 of center strogino, numbers 1-200" in printed.err
        (tmp_path / "kiosk").mkdir()
        device, code = device_from(printed.out, tmp_path / "kiosk")
        assert device.ticket_range == (1, 200) and device.hub_url == running.url
        enrolled = enroll(device, code)
        assert (enrolled.center, enrolled.device_id, enrolled.role) == ("strogino", "kiosk-1", "kiosk")
        assert enrolled.token_file.is_file()

        # A device given another CA refuses this hub before sending its code.
        _, _, other_ca = make_test_ca(tmp_path / "other")
        assert main(["hub", "device-file", "--data", str(tmp_path / "hub"), "--role", "signage", "--ca",
                     str(other_ca), "--hub-url", running.url]) == 0
        (tmp_path / "screen").mkdir()
        device, code = device_from(capsys.readouterr().out, tmp_path / "screen")
        with pytest.raises(EnrollmentError) as refused:
            enroll(device, code)
        assert str(refused.value) == (f"the hub at {running.url} is not trusted: its certificate is not signed by "
                                      f"the CA in {tmp_path / 'screen' / 'hub-ca.pem'} or is not for that address")
        assert not (device.data_dir / "device-token").exists()


def test_device_file_for_the_hubs_only_center_and_one_line_errors(tmp_path, capsys):
    data = str(tmp_path / "hub")
    assert main(["hub", "device-file", "--data", data, "--role", "kiosk", "--ca", str(tmp_path / "none.pem")]) == 2
    assert capsys.readouterr().err == (f"mfc-edge: error: --ca {tmp_path / 'none.pem'}: not found: make the "
                                       "center's CA first with `mfc-edge hub tls`\n")
    made = ensure_center_tls(tmp_path / "tls", ["hub"], [])
    ca = ["--ca", str(made.ca_cert)]
    assert main(["hub", "device-file", "--data", data, "--role", "kiosk", *ca]) == 2
    assert "--center is needed: this hub has no centers set" in capsys.readouterr().err
    named_center(tmp_path / "hub").close()

    assert main(["hub", "device-file", "--data", data, "--role", "signage", "--hub-url", "https://hub.lan:8443", *ca,
                 "--wifi-ssid", "MFC", "--wifi-psk", "short"]) == 2
    assert capsys.readouterr().err == ("mfc-edge: error: [wifi] psk = 'short': expected a password of 8 to 63 "
                                       "characters\n")
    assert main(["hub", "device-file", "--data", data, "--role", "signage", "--hub-url", "https://hub.lan:8443",
                 *ca]) == 0
    found = boot_file.parse(Path("mfc-edge.toml"), tomllib.loads(capsys.readouterr().out))
    assert (found.center, found.device_id, found.hub_url) == ("strogino", "screen-1", "https://hub.lan:8443")
    assert found.ca_pem == made.ca_cert.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root (CI runs as root)")
def test_hub_key_goes_to_the_hubs_user_and_a_renewed_one_stays_with_it(tmp_path):
    made = ensure_center_tls(tmp_path, ["hub"], [], key_owner=(4321, 4321))
    assert (made.key.stat().st_uid, made.key.stat().st_gid) == (4321, 4321)
    assert made.ca_key.stat().st_uid == os.geteuid()  # the CA's key stays with whoever runs `hub tls`
    ensure_center_tls(tmp_path, ["hub", "hub-2"], [])
    assert (made.key.stat().st_uid, made.key.stat().st_mode & 0o777) == (4321, 0o600)


def test_a_device_clock_behind_the_hubs_certificate_is_named_as_the_cause(tmp_path):
    """A fresh card starts from the date it was made: the hub's certificate looks not valid yet."""
    made = ensure_center_tls(tmp_path / "tls", [], ["127.0.0.1"], now=datetime.now(UTC) + timedelta(days=30))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(made.cert, made.key)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def handshake_once() -> None:
            conn, _ = listener.accept()
            with conn:
                try:
                    context.wrap_socket(conn, server_side=True).close()
                except (ssl.SSLError, OSError):
                    pass  # the device hangs up: what is tested is what it says

        server = threading.Thread(target=handshake_once, daemon=True)
        server.start()
        text = boot_file.render(boot_file.BootFile(
            role="signage", device_id="screen-1", center="strogino", center_name="Центр", timezone="Europe/Moscow",
            hub_url=f"https://127.0.0.1:{listener.getsockname()[1]}", ca_pem=made.ca_cert.read_text(),
            code="AAAA-BBBB-CCCC-DDDD"))
        device, code = device_from(text, tmp_path)
        with pytest.raises(EnrollmentError, match=r"^the hub's certificate is not valid yet by this device's clock "
                                                  r"\(20\d\d-\d\d-\d\d \d\d:\d\d UTC\): the clock is wrong"):
            enroll(device, code)
        server.join(timeout=5)
