"""`mfc-edge hub tls` and `mfc-edge hub device-file`: the center's trust, and a first-boot file
for each new device (hub/certificates.py, hub/device_file.py, mfc_edge/boot_file.py)."""
from __future__ import annotations

import argparse
import pwd
import socket
import sys
from pathlib import Path

from mfc_edge.cli.arguments import CommandError

TLS_DIR = Path("/etc/mfc-edge/tls")
HTTPS_PORT = 8443


def cmd_hub_tls(args: argparse.Namespace) -> int:
    from hub.certificates import TlsError, ensure_center_tls

    host = socket.gethostname()
    names = list(dict.fromkeys([host, f"{host}.local", *args.name]))
    try:
        files = ensure_center_tls(args.dir, names, args.ip, key_owner=_owner(args.owner))
    except (TlsError, OSError) as exc:
        raise CommandError(str(exc)) from None
    print("\n".join(files.changes) or f"{files.folder}: the CA and the hub's certificate are good; nothing changed")
    print(f"the hub serves HTTPS with: mfc-edge hub --host 0.0.0.0 --port {HTTPS_PORT} --cert {files.cert} "
          f"--key {files.key}")
    return 0


def _owner(user: str | None) -> tuple[int, int] | None:
    if user is None:
        return None
    try:
        found = pwd.getpwnam(user)
    except KeyError:
        raise CommandError(f"--owner {user!r}: no such user on this machine") from None
    return found.pw_uid, found.pw_gid


def cmd_hub_device_file(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.device_file import DeviceFileError, new_boot_file
    from hub.identity import EnrollmentError
    from mfc_edge import boot_file

    ca_pem = _ca_text(args.ca)
    hub = Hub(args.data)
    try:
        center = args.center or _only_center([c["id"] for c in hub.centers.all()])
        found = new_boot_file(hub, role=args.role, center=center, window=args.window,
                              hub_url=args.hub_url or f"https://{socket.gethostname()}.local:{HTTPS_PORT}",
                              ca_pem=ca_pem, wifi_ssid=args.wifi_ssid, wifi_psk=args.wifi_psk,
                              wifi_country=args.wifi_country)
    except (DeviceFileError, EnrollmentError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        hub.close()
    sys.stdout.write(boot_file.render(found))
    numbers = f", numbers {found.ticket_range[0]}-{found.ticket_range[1]}" if found.ticket_range else ""
    print(f"{found.device_id} of center {center}{numbers}: save this as {boot_file.BOOT_FILE} on the device's "
          "boot partition; its code is valid 24 hours", file=sys.stderr)
    return 0


def _ca_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise CommandError(f"--ca {path}: not found: make the center's CA first with `mfc-edge hub tls`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"--ca {path}: cannot be read: {getattr(exc, 'strerror', None) or exc}") from None


def _only_center(centers: list[str]) -> str:
    if len(centers) != 1:
        raise CommandError("--center is needed: this hub has " + (", ".join(centers) if centers else "no centers "
                           "set (`mfc-edge hub set-center`)"))
    return centers[0]


def register(hub_sub: argparse._SubParsersAction) -> None:
    q = hub_sub.add_parser("tls", help="Make the center's CA and the hub's HTTPS certificate (kept if good).",
                           description="Make the center's private certificate authority and the hub's HTTPS "
                                       "certificate signed by it, for this machine's name, NAME.local and the "
                                       "names and addresses given. Files that are there and good are kept; a "
                                       "certificate within 60 days of its end or missing a name is issued again "
                                       "by the same CA. A ca.pem given without ca.key (an organisation's CA) is "
                                       "checked, never replaced.")
    q.add_argument("--dir", type=Path, default=TLS_DIR, help=f"where ca.pem, ca.key, hub.pem, hub.key are "
                                                             f"(default {TLS_DIR})")
    q.add_argument("--name", action="append", default=[], metavar="NAME", help="another host name devices and "
                                                                               "browsers use for the hub")
    q.add_argument("--ip", action="append", default=[], metavar="ADDRESS", help="an IP address devices use for "
                                                                                "the hub")
    q.add_argument("--owner", metavar="USER", help="the user who runs the hub: hub.key (0600) is given to it")
    q.set_defaults(func=cmd_hub_tls)

    q = hub_sub.add_parser("device-file", help="Print a first-boot file (mfc-edge.toml) for one new device.",
                           description="Print a ready first-boot file for one new device of the center: its id "
                                       "(the next free one), for a kiosk its own block of ticket numbers, the "
                                       "hub's address and CA, a fresh one-time enrollment code, optional Wi-Fi.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--role", required=True, choices=("kiosk", "signage", "console"), help="the device's role")
    q.add_argument("--window", help="for a console: the window it stands at")
    q.add_argument("--center", help="center id (default: the hub's only center)")
    q.add_argument("--hub-url", help=f"the address devices reach the hub at (default https://HOSTNAME.local:"
                                     f"{HTTPS_PORT})")
    q.add_argument("--ca", type=Path, default=TLS_DIR / "ca.pem", help=f"the center's CA certificate (default "
                                                                       f"{TLS_DIR / 'ca.pem'})")
    q.add_argument("--wifi-ssid", help="the Wi-Fi network the device joins (none: wired)")
    q.add_argument("--wifi-psk", help="its password")
    q.add_argument("--wifi-country", default="RU", help="where the device is, two letters (default RU): Raspberry "
                                                        "Pi OS keeps the Wi-Fi radio off until it is set")
    q.set_defaults(func=cmd_hub_device_file)
