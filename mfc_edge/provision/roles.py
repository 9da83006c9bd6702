"""What each role of a center's device needs from the system it runs on."""
from __future__ import annotations

from dataclasses import dataclass

# Every role's system: swap in memory, the time kept over a power cut and set from the network.
_SYSTEM = ("python3", "python3-venv", "systemd-zram-generator", "fake-hwclock")
# Devices set their clocks from the hub; chrony counts as well (a hub on the same machine serves
# the time with it, and Debian lets only one of the two be installed).
_TIME = "systemd-timesyncd|chrony"
# What Kivy's wheel does not bring: OpenGL (Mesa), touch input, SDL's libraries, a Cyrillic font.
_SCREEN = ("libgl1", "libegl1", "libgl1-mesa-dri", "libmtdev1", "libsdl2-2.0-0", "fonts-dejavu-core",
           "v4l-utils")  # cec-ctl: a TV panel sleeps outside opening hours over HDMI-CEC


@dataclass(frozen=True)
class Role:
    name: str
    title: str  # what the unit's description calls it
    extra: str | None  # the project's pip extra; None: the program alone
    debian_packages: tuple[str, ...]
    groups: tuple[str, ...] = ()  # the mfc-edge user's supplementary groups

    @property
    def unit(self) -> str | None:
        """Its service; a device's runs the `mfc-edge` subcommand of the role's name."""
        return None if self.name == "base" else f"mfc-edge-{self.name}.service"

    @property
    def is_device(self) -> bool:
        return self.name in DEVICE_ROLES

    @property
    def draws(self) -> bool:
        """Whether it runs a Kivy app on the panel."""
        return self.name in ("kiosk", "signage")


DEVICE_ROLES = ("kiosk", "signage", "console")

ROLES: dict[str, Role] = {role.name: role for role in (
    Role("kiosk", "ticket kiosk", "kiosk",
         # libusb: USB receipt printers; glib and expat for ffpyplayer (the attract loop's videos).
         (*_SYSTEM, _TIME, *_SCREEN, "libusb-1.0-0", "libglib2.0-0", "libexpat1"),
         groups=("video", "render", "input", "lp", "dialout")),
    Role("signage", "waiting-area screen", "signage",
         # ffpyplayer's wheel needs glib and expat; espeak-ng speaks the calls, aplay plays them.
         (*_SYSTEM, _TIME, *_SCREEN, "libglib2.0-0", "libexpat1", "espeak-ng", "alsa-utils"),
         groups=("video", "render", "input", "audio")),
    Role("console", "window console", "console", (*_SYSTEM, _TIME),
         groups=("gpio",)),
    # chrony, not timesyncd: the hub serves the time to its devices.
    Role("hub", "center hub", "hub", (*_SYSTEM, "chrony")),
    # A card image whose role is chosen at its first boot: the program and the first-boot unit.
    Role("base", "program only", None, ("python3", "python3-venv")),
)}


class UnknownRole(ValueError):
    pass


def role_named(name: str) -> Role:
    try:
        return ROLES[name]
    except KeyError:
        raise UnknownRole(f"role {name!r}: expected one of {', '.join(ROLES)}") from None
