"""The device's screen: Kivy settings that must be made before Kivy opens its window, and
what the screen tells systemd once it runs.

Call `prepare_kivy()` before importing anything that imports `kivy.core.window`.
Headless runs draw offscreen through SDL with Mesa's software renderer and take no
input devices, so nothing on the machine can touch the screens but the script.
On the device itself (no desktop: SDL draws through KMS/DRM) the screen is locked down:
full screen, no cursor, no screensaver, each touch read once.
"""
from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Callable, Mapping

from mfc_edge.service_notify import ServiceNotifier

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter

# Under KMS/DRM, SDL reads the touch panel's evdev node itself and turns each touch into mouse
# events, which Kivy's `mouse` provider makes a touch; Kivy's Linux default, `probesysfs`, makes
# the same touch again from the same node. One reader must go. Kept: Kivy's own evdev reader
# (probesysfs finding the panel, hidinput reading it): true multi-touch, the panel's own
# coordinates rotated by Kivy's [graphics] rotation, pure Python (mtdev would need libmtdev).
# `select_all=0` takes only multi-touch devices, so keyboards (a barcode scanner is one) stay with
# SDL alone and keys arrive once too. Dropped: the mouse provider, hence any mouse pointer, which
# a kiosk has no use for. A single-touch (old resistive) panel is not found this way.
DEVICE_INPUT = {"touchscreen": "probesysfs,provider=hidinput,select_all=0"}
# On a desktop (development) SDL, through X11, delivers a touch as the mouse: that one provider
# alone, and a right button that leaves no red multi-touch dots.
DESKTOP_INPUT = {"mouse": "mouse,multitouch_on_demand"}


def has_display(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def on_device_panel(env: Mapping[str, str] | None = None) -> bool:
    """Whether SDL draws straight on the device's panel (KMS/DRM): no desktop, not offscreen."""
    env = os.environ if env is None else env
    return not has_display(env) and env.get("SDL_VIDEODRIVER") != "offscreen"


def input_providers(*, headless: bool, locked_down: bool) -> dict[str, str]:
    """Kivy's [input] section: none headless, the panel alone on the device, the mouse on a desktop."""
    if headless:
        return {}
    return dict(DEVICE_INPUT if locked_down else DESKTOP_INPUT)


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
    """Kivy's settings for this run; `fullscreen` on the device's own panel also locks it down."""
    locked_down = fullscreen and not headless and on_device_panel()
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
    Config.set("graphics", "resizable", "0" if locked_down else "1")
    Config.set("graphics", "show_cursor", "0" if locked_down else "1")
    # Kivy lets the screensaver run by default. On the device no desktop blanks the panel and,
    # while Kivy holds the DRM plane, the kernel's console blanking cannot either; provisioning
    # still sets the kernel's consoleblank to 0 so the text console before Kivy starts stays lit.
    # Sleeping outside opening hours is hardware/panel_power.py's, on a schedule.
    Config.set("graphics", "allow_screensaver", "0" if locked_down else "1")
    # No multisampled frame buffer (Kivy asks for one by default). Our screens draw pictures,
    # text and axis-aligned rectangles, which antialiasing does not change (only the rounded
    # corners of the newest call's row lose some smoothness), and with Mesa's llvmpipe the
    # samples cost a large share of an empty window's memory (benchmarks/RESULTS.md).
    Config.set("graphics", "multisamples", "0")
    Config.set("kivy", "exit_on_escape", "0")
    for name, _ in Config.items("input"):
        Config.remove_option("input", name)
    for name, value in input_providers(headless=headless, locked_down=locked_down).items():
        Config.set("input", name, value)


def supervise_screen(notifier: ServiceNotifier, name: str) -> Callable[[], None]:
    """Tell systemd the screen is up once its first frame is shown, and ping the watchdog from
    Kivy's own loop: the loop a visitor would see freeze is the one whose silence gets the app
    restarted. Call from the app's build(); returns what ends the pings (for on_stop)."""
    from kivy.clock import Clock
    from kivy.core.window import Window

    def shown(_dt: float) -> None:
        log.info("%s ready: first frame drawn", name)
        notifier.ready(f"{name}: showing")

    def first_frame(window: object) -> None:
        Window.unbind(on_flip=first_frame)
        # on_flip's handlers run before the buffers swap: ready on the loop's next turn, after it.
        Clock.schedule_once(shown)

    Window.bind(on_flip=first_frame)
    interval = notifier.watchdog_interval
    pings = Clock.schedule_interval(lambda _dt: notifier.ping(), interval) if interval else None

    def stop() -> None:
        Window.unbind(on_flip=first_frame)
        if pings is not None:
            pings.cancel()
        notifier.stopping()
        notifier.close()

    return stop
