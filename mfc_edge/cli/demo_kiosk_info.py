"""The kiosk as the center's information point, in the demo: the attract loop it plays when left
alone, and «Когда лучше прийти». `k` is the HeadlessKiosk of mfc_edge.cli.demo's scripted visit."""
from __future__ import annotations

from pathlib import Path


def info_scenes(k, app, clock, shots: Path) -> None:
    """Nobody touches the kiosk for a while: it plays its loop (screenshot 25); a touch brings the
    start screen, from which «Когда лучше прийти» shows the load and the waits now (26)."""
    clock.advance(seconds=app.device.attract_after + 1)
    app.tick()
    if not k.wait_until(lambda: k.screen == "attract", timeout=15):
        raise RuntimeError("the kiosk did not start its attract loop")
    k.frames(5)
    k.screenshot(shots / "25-kiosk-attract-loop.png")
    k.tap("attract-caption")
    k.tap("when")
    k.screenshot(shots / "26-kiosk-when-to-come.png")
    k.tap("home")
