"""The kiosk's attract loop, put together here: only the command layer may join two rooms.

The loop is the screens' own slide player (signage/loop.py) playing the kiosk bundle's `kiosk`
playlist, or, while the bundle has none, the slides it draws itself: the week's load, the
rules of the standard and today's ratings (mfc_edge/playlist.py BUILT_IN_KIOSK_LOOP). The
kiosk (kiosk/attract.py) gets a factory and only starts and stops what it makes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hardware.clock import Clock
from kiosk.wiring import Kiosk
from mfc_edge.load_summary import read_load
from mfc_edge.playlist import built_in_playlist


def attract_loop(kiosk: Kiosk, clock: Clock) -> Callable[[], Any]:
    """A factory of the kiosk's attract loop; call it once the display is prepared."""

    def make() -> Any:
        from signage.content import ScreenContent
        from signage.loop import SlideLoop
        from signage.slides import SlideData

        device = kiosk.device

        def local_now():
            return clock.now().astimezone(device.timezone)

        def data() -> SlideData:
            ratings = kiosk.ratings.latest() if kiosk.ratings else None
            return SlideData(center_name=device.center_name, load=read_load(kiosk.load_figures()),
                             ratings=ratings, now=local_now())

        source = ScreenContent(kiosk.content, "kiosk", default=built_in_playlist("kiosk"))
        return SlideLoop(source, data=data, local_now=local_now, utc_now=clock.now)

    return make
