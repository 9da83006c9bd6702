"""Refusing, in one sentence, a system the devices cannot run on."""
from __future__ import annotations

import platform
import sys


class UnsupportedPlatform(RuntimeError):
    pass


_32_BIT_ARM = ("armv6l", "armv7l", "armv8l", "arm")


def check_platform(system: str | None = None, machine: str | None = None,
                   python: tuple[int, int] | None = None) -> None:
    """UnsupportedPlatform naming what to install instead; the arguments default to this machine."""
    system = system or platform.system()
    machine = machine or platform.machine()
    python = python or (sys.version_info.major, sys.version_info.minor)
    if system != "Linux":
        raise UnsupportedPlatform(f"{system} is not supported: a center's devices and hub run on Linux "
                                  "(Raspberry Pi OS Lite 64-bit or Debian 12)")
    if machine in _32_BIT_ARM:
        raise UnsupportedPlatform("Raspberry Pi OS 32-bit is not supported: kivy, ffpyplayer, pillow and cffi "
                                  "have no 32-bit wheels; flash Raspberry Pi OS Lite (64-bit)")
    if python < (3, 11):
        raise UnsupportedPlatform(f"Python {python[0]}.{python[1]} is too old: mfc-edge needs 3.11 or newer "
                                  "(Raspberry Pi OS Bookworm and Debian 12 ship it)")
