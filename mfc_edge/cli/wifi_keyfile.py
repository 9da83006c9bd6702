"""The Wi-Fi a first-boot file names, as a NetworkManager keyfile (Raspberry Pi OS Bookworm
manages its network with NetworkManager; wpa_supplicant.conf on the boot partition is gone)."""
from __future__ import annotations

import uuid
from pathlib import Path

from mfc_edge.files import atomic_write

CONNECTION = "mfc-edge-wifi"


def keyfile_text(ssid: str, psk: str | None) -> str:
    """A connection that joins `ssid` at every boot; WPA2/WPA3-personal with `psk`, else open."""
    lines = [
        "[connection]", f"id={CONNECTION}",
        # The same network always gets the same id: writing it again replaces, never adds.
        f"uuid={uuid.uuid5(uuid.NAMESPACE_URL, 'mfc-edge-wifi:' + ssid)}",
        "type=wifi", "autoconnect=true", "",
        "[wifi]", "mode=infrastructure", f"ssid={_escape(ssid)}", "",
    ]
    if psk is not None:
        lines += ["[wifi-security]", "key-mgmt=wpa-psk", f"psk={_escape(psk)}", ""]
    lines += ["[ipv4]", "method=auto", "", "[ipv6]", "method=auto", ""]
    return "\n".join(lines)


def write_keyfile(folder: Path, ssid: str, psk: str | None) -> Path:
    """Write the keyfile into NetworkManager's `folder`, 0600 (it holds the password; NetworkManager
    also ignores a keyfile others can read)."""
    return atomic_write(folder / f"{CONNECTION}.nmconnection", keyfile_text(ssid, psk), mode=0o600)


def _escape(value: str) -> str:
    # GKeyFile's escapes: a backslash doubled, a leading space kept as \s (values are printable text).
    escaped = value.replace("\\", "\\\\")
    return "\\s" + escaped[1:] if escaped.startswith(" ") else escaped
