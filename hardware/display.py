"""The device's screen: Kivy settings that must be made before Kivy opens its window.

Call `prepare_kivy()` before importing anything that imports `kivy.core.window`.
Headless runs draw offscreen through SDL with Mesa's software renderer and take no
input devices, so nothing on the machine can touch the screens but the script.
"""
from __future__ import annotations

import ctypes
import os

M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def return_large_buffers_to_the_system() -> None:
    """Have glibc map large buffers (text textures, QR images) on their own.

    By default glibc raises its mmap threshold after the first large free, and later
    buffers land in the heap, which fragments and never shrinks: a kiosk's memory grew by
    tens of MB over a few hundred tickets. A fixed threshold gives each large buffer its
    own mapping, returned to the system when freed.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 256 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def prepare_kivy(size: tuple[int, int] = (1280, 800), *, headless: bool = False,
                 fullscreen: bool = False) -> None:
    return_large_buffers_to_the_system()
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our command line is ours, not Kivy's
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")  # we log through `logging`
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_VIDEO", "ffpyplayer")  # the one video provider we install and test
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ["KIVY_USE_DEFAULTCONFIG"] = "1"  # no user's ~/.kivy settings in tests
    from kivy.config import Config

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "1")
    # No multisampled frame buffer (Kivy asks for one by default). Our screens draw pictures,
    # text and axis-aligned rectangles, which antialiasing does not change (only the rounded
    # corners of the newest call's row lose some smoothness), and with Mesa's llvmpipe the
    # samples cost a large share of an empty window's memory (benchmarks/RESULTS.md).
    Config.set("graphics", "multisamples", "0")
    Config.set("kivy", "exit_on_escape", "0")
    if headless:
        for name, _ in Config.items("input"):
            Config.remove_option("input", name)
    else:
        # A kiosk's touchscreen; a mouse's right button must not leave red touch dots.
        Config.set("input", "mouse", "mouse,multitouch_on_demand")
