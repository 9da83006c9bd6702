"""The first-boot file: one `mfc-edge.toml` on a device's boot partition that makes it a device
of its center without a keyboard.

The hub prints it (`mfc-edge hub device-file`), a technician copies it onto the SD card's FAT
partition, and `mfc-edge firstboot` reads it on the device's first start. Both sides use this
module, so the file is written and read by one set of rules. The partition can be read by
anyone holding the card, so the one-time enrollment code and the Wi-Fi password are scrubbed
from it once used (`scrub`), keeping the rest, comments included, for whoever looks later.

Its [hub] gives the address devices reach the hub by. The hub's public address for visitors'
phones (`[hub] public_url`, mfc_edge/config.py) is not in it: it is the same for all of a
center's kiosks, so the center's kiosk bundle gives it to them (kiosk.toml, [hub] public_url).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import tomlkit
from cryptography import x509

from mfc_edge.config import ID_RULE, ROLES, ConfigError, TableReader, is_ident, nonempty_text
from mfc_edge.files import atomic_write, read_toml
from mfc_edge.protocol import WINDOW_PATTERN

BOOT_FILE = "mfc-edge.toml"
SECRETS = (("hub", "enrollment_code"), ("wifi", "psk"))
_WINDOW = re.compile(WINDOW_PATTERN)


class BootFileError(ValueError):
    """A first-boot file that cannot be used: the message names the file, the key and the value."""


@dataclass(frozen=True)
class BootFile:
    role: str
    device_id: str
    center: str
    center_name: str
    timezone: str
    hub_url: str
    ca_pem: str
    code: str | None  # None once used and scrubbed
    window: str | None = None  # consoles
    ticket_range: tuple[int, int] | None = None  # kiosks
    wifi_ssid: str | None = None
    wifi_psk: str | None = None
    wifi_country: str | None = None  # ISO 3166 letters: Pi OS keeps the radio off until it is set


def render(boot: BootFile) -> str:
    """The file's text, each key with a short comment for the technician."""
    def v(value: object) -> str:
        return tomlkit.item(value).as_string()

    lines = [
        f"# First-boot file for {boot.device_id}, a {boot.role} of center {boot.center}.",
        f"# Copy it as {BOOT_FILE} onto the SD card's boot partition (the one a computer shows",
        "# as \"bootfs\") after flashing Raspberry Pi OS Lite (64-bit), then start the device.",
        "# The enrollment code works once, within 24 hours; the device removes it (and the",
        "# Wi-Fi password) from this file once used.",
        "",
        "[device]",
        f"role = {v(boot.role)}  # kiosk | signage | console",
        f"id = {v(boot.device_id)}  # this device's name at the hub",
    ]
    if boot.ticket_range:
        lines.append(f"ticket_range = {v(list(boot.ticket_range))}  # the numbers this kiosk gives; other "
                     "kiosks of the center have others")
    if boot.window:
        lines.append(f"window = {v(boot.window)}  # the window this console stands at")
    lines += [
        "",
        "[center]",
        f"id = {v(boot.center)}",
        f"name = {v(boot.center_name)}  # shown to visitors",
        f"timezone = {v(boot.timezone)}",
        "",
        "[hub]",
        f"url = {v(boot.hub_url)}  # the center's hub",
    ]
    if boot.code:
        lines.append(f"enrollment_code = {v(boot.code)}  # one-time; removed after use")
    lines.append("# the center's certificate authority: the device trusts the hub only if this signed its certificate")
    lines.append("ca = " + tomlkit.string(boot.ca_pem.strip() + "\n", multiline=True, literal=True).as_string())
    if boot.wifi_ssid:
        lines += ["", "[wifi]", f"ssid = {v(boot.wifi_ssid)}  # the network's name"]
        if boot.wifi_psk:
            lines.append(f"psk = {v(boot.wifi_psk)}  # its password; removed after use")
        if boot.wifi_country:
            lines.append(f"country = {v(boot.wifi_country)}  # where the device is: the radio's legal channels")
    return "\n".join(lines) + "\n"


def read(path: Path) -> BootFile:
    """The first-boot file at `path`, validated; BootFileError on the first problem."""
    return parse(path, read_toml(path, BootFileError))


def parse(path: Path, data: dict[str, Any]) -> BootFile:
    """`data`, a first-boot file's TOML read from `path`, validated."""
    try:
        return _parse(path, data)
    except ConfigError as exc:
        raise BootFileError(str(exc)) from None


def scrub(path: Path) -> None:
    """Rewrite the file without its secrets (atomically: a power cut leaves the old or the new)."""
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    for section, key in SECRETS:
        table = document.get(section)
        if isinstance(table, dict) and key in table:
            del table[key]
    atomic_write(path, tomlkit.dumps(document), mode=None)  # FAT: a chmod would fail


def device_file(boot: BootFile, example: str, ca_file: str, data_dir: str) -> str:
    """The device's own file: its role's example (`example`, its text) with what `boot` says
    filled in, comments kept. `ca_file` is where the CA was put, `data_dir` its data folder."""
    document = tomlkit.parse(example)
    center = document["center"]
    center["id"], center["name"], center["timezone"] = boot.center, boot.center_name, boot.timezone
    center.pop("name_en", None)  # the example's English name is another center's
    device = document["device"]
    device["id"], device["role"], device["data_dir"] = boot.device_id, boot.role, data_dir
    if boot.ticket_range:
        document["kiosk"]["ticket_range"] = list(boot.ticket_range)
    if boot.window:
        document["console"]["window"] = boot.window
        document["help_button"]["point"] = f"Окно {boot.window}"  # the operators can make it more precise
    document["hub"]["url"] = boot.hub_url
    document["hub"]["ca_file"] = ca_file
    return tomlkit.dumps(document)


def _parse(path: Path, data: dict[str, Any]) -> BootFile:
    top = TableReader(path, "top level", data)
    device = TableReader(path, "device", top.get("device", dict, "a [device] table"))
    center = TableReader(path, "center", top.get("center", dict, "a [center] table"))
    hub = TableReader(path, "hub", top.get("hub", dict, "a [hub] table"))
    wifi = TableReader(path, "wifi", top.get("wifi", dict, "a table", {}))
    top.finish()
    role = device.get("role", lambda r: ROLES[ROLES.index(r)], "one of " + ", ".join(ROLES))
    found = BootFile(
        role=role,
        device_id=device.get("id", _ident, ID_RULE),
        window=device.get("window", _window, "a window such as 5 (up to 8 letters, digits or -)", None),
        ticket_range=device.get("ticket_range", _ticket_range, "[first, last] with 1 <= first < last <= 999", None),
        center=center.get("id", _ident, ID_RULE),
        center_name=center.get("name", nonempty_text, "the center's name"),
        timezone=center.get("timezone", _zone, "an IANA time zone such as Europe/Moscow", "Europe/Moscow"),
        hub_url=hub.get("url", _https_url, "the hub's https:// address"),
        code=hub.get("enrollment_code", nonempty_text, "the code from `mfc-edge hub device-file`", None),
        ca_pem=hub.get("ca", _pem_certificate, "the center CA's certificate in PEM (-----BEGIN CERTIFICATE-----)"),
        wifi_ssid=wifi.get("ssid", _ssid, "a network name of 1 to 32 bytes, printable", None),
        wifi_psk=wifi.get("psk", _psk, "a password of 8 to 63 characters", None),
        wifi_country=wifi.get("country", _country, "two capital letters such as RU", None),
    )
    for reader in (device, center, hub, wifi):
        reader.finish()
    if role == "console" and found.window is None:
        raise BootFileError(f"{path}: [device] window is missing: a console needs the window it stands at")
    if role != "console" and found.window is not None:
        raise BootFileError(f"{path}: [device] window = {found.window!r}: only a console stands at a window")
    if role != "kiosk" and found.ticket_range is not None:
        raise BootFileError(f"{path}: [device] ticket_range: only a kiosk gives tickets")
    if found.wifi_psk is not None and found.wifi_ssid is None:
        raise BootFileError(f"{path}: [wifi] ssid is missing: the password is for which network?")
    return found


def _ident(value: Any) -> str:
    if not is_ident(value):
        raise ValueError
    return value


def _window(value: Any) -> str:
    if not isinstance(value, str) or not _WINDOW.fullmatch(value):
        raise ValueError
    return value


def _ticket_range(value: Any) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in value)
            or not 1 <= value[0] < value[1] <= 999):
        raise ValueError
    return value[0], value[1]


def _zone(value: Any) -> str:
    ZoneInfo(nonempty_text(value))
    return value


def _https_url(value: Any) -> str:
    # Enrolling sends the one-time code and receives the device's token: never in clear text.
    if not isinstance(value, str) or not re.fullmatch(r"https://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ValueError
    return value.rstrip("/")


def _pem_certificate(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    x509.load_pem_x509_certificate(value.encode())
    return value.strip() + "\n"


def _ssid(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value.encode()) <= 32 or not value.isprintable():
        raise ValueError
    return value


def _country(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError
    return value


def _psk(value: Any) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 63 or not value.isprintable():
        raise ValueError
    return value
