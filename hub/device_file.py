"""A first-boot file for one new device of a center: its id, its ticket numbers and a fresh code.

Ids are the role's prefix and the smallest number no device of the center has taken, enrolled
(revoked ones too: their id needs a replacing code) or meant for an outstanding code: kiosk-3,
screen-2, console-4.

A kiosk's numbers follow from its id, in blocks of KIOSK_BLOCK: kiosk-1 gives 1-200, kiosk-2
201-400, ... kiosk-5 801-999. Kiosks cut off from each other and from the hub then never print
the same number for a service on the same day, and a kiosk's block never moves when others come
or go. A kiosk set up by hand under another id keeps whatever range its file says: give it one
of a block no kiosk-N uses.
"""
from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

from hub.hub import Hub
from mfc_edge import boot_file
from mfc_edge.boot_file import BootFile

KIOSK_BLOCK = 200
MAX_NUMBER = 999
MAX_KIOSKS = -(-MAX_NUMBER // KIOSK_BLOCK)
ID_PREFIX = {"kiosk": "kiosk", "signage": "screen", "console": "console"}


class DeviceFileError(ValueError):
    """A device file that cannot be made; the message says why and what to do."""


def kiosk_ticket_range(number: int) -> tuple[int, int]:
    """The numbers kiosk-`number` of a center gives."""
    if not 1 <= number <= MAX_KIOSKS:
        raise DeviceFileError(f"kiosk-{number}: a center has at most {MAX_KIOSKS} kiosks with numbers of their "
                              f"own ({KIOSK_BLOCK} each); revoke one and reuse its id with --replace")
    return (number - 1) * KIOSK_BLOCK + 1, min(number * KIOSK_BLOCK, MAX_NUMBER)


def next_device_id(taken: set[str], role: str) -> tuple[str, int]:
    """The role's first free id and its number."""
    number = 1
    while f"{ID_PREFIX[role]}-{number}" in taken:
        number += 1
    return f"{ID_PREFIX[role]}-{number}", number


def new_boot_file(hub: Hub, *, role: str, center: str, hub_url: str, ca_pem: str, window: str | None = None,
                  wifi_ssid: str | None = None, wifi_psk: str | None = None,
                  wifi_country: str | None = None) -> BootFile:
    """A first-boot file for the next device of `role` in `center`, with a new one-time code."""
    found = hub.centers.get(center)
    if not found or not found["name"]:
        raise DeviceFileError(f"center {center} has no name on this hub (devices show it to visitors): set it with "
                              f"`mfc-edge hub set-center --center {center} --timezone Europe/Moscow --name NAME`")
    device_id, number = next_device_id(hub.identity.taken_ids(center), role)
    ticket_range = kiosk_ticket_range(number) if role == "kiosk" else None
    made = BootFile(role=role, device_id=device_id, center=center, center_name=found["name"],
                    timezone=found["timezone"], hub_url=hub_url, ca_pem=ca_pem, code=None, window=window,
                    ticket_range=ticket_range, wifi_ssid=wifi_ssid, wifi_psk=wifi_psk,
                    wifi_country=wifi_country if wifi_ssid else None)
    try:
        # The device reads it by the same rules: what it would refuse is refused here, not on a Pi,
        # and before a code is made (which would hold the id for a day).
        boot_file.parse(Path(boot_file.BOOT_FILE), tomllib.loads(boot_file.render(made)))
    except boot_file.BootFileError as exc:
        raise DeviceFileError(str(exc).removeprefix(f"{boot_file.BOOT_FILE}: ")) from None
    return replace(made, code=hub.identity.create_code(center, role, window=window, device=device_id))
