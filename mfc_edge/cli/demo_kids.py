"""The kids' room screen's part of the demo: a `kids` screen enrolled with the demo hub plays
its cartoons' slide. The visitor last called in the hall is a parent in the kids' room: the
operator calls the ticket again, and it shows in the strip at the screen's foot with the
gentle chime (recorded, as the hall screen's announcements are)."""
from __future__ import annotations

import shutil
from pathlib import Path

KIDS_CONFIG = """\
# A demo kids' room screen. See mfc_edge/data/signage.example.toml for a real one.
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
name_en = "Strogino public services center"
timezone = "Europe/Moscow"

[device]
id = "screen-kids"
role = "signage"
data_dir = "data"

[signage]
profile = "kids"
kids_calls = true

[announcements]
quiet_hours = ["20:00-08:00"]

[hub]
url = "{hub_url}"
"""


def kids_scene(center, out: Path, shots: Path) -> str:
    """Enroll the kids' room screen, recall the hall's last call, and take screenshot 30."""
    from hardware.audio import SimulatedOutput
    from hardware.headless_display import HeadlessDisplay
    from mfc_edge.cli.demo_screen import _wait
    from mfc_edge.config import load_config
    from offline_cache.enrollment import enroll
    from signage.app import SignageApp
    from signage.wiring import open_screen

    folder = out / "kids-screen"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = folder / "screen.toml"
    config.write_text(KIDS_CONFIG.format(hub_url=center.server.url), encoding="utf-8")
    device = load_config(config)
    enroll(device, center.hub.identity.create_code("strogino", "signage"))
    screen = open_screen(device, center.clock, audio=SimulatedOutput(keep_dir=folder / "heard"))
    try:
        result = screen.bundles.check() if screen.bundles else None
        if result is None or result.status not in ("applied", "unchanged"):
            raise RuntimeError(f"the kids' room screen did not apply the signage bundle: {result}")
        screen.content.refresh()
        if not screen.feed.poll_once():  # the screen starts knowing the queue: calls made before it are old
            raise RuntimeError("the kids' room screen could not reach the hub's queue feed")
        last = (screen.feed.latest() or {}).get("calls") or []
        if not last:
            raise RuntimeError("no call in the hall to make again for the kids' room")
        window = last[0]["window"]
        app = SignageApp(device, screen, center.clock, new_calls=screen.calls_to_announce)
        with HeadlessDisplay(app, device.signage.size) as d:
            _wait(d, lambda: getattr(app.player.current, "item", None) is not None, "the kids' playlist")
            center.clock.advance(minutes=1)  # the parent does not come: after a minute, a second call
            called = center.hub.queue.recall("strogino", window)["number"]
            screen.feed.poll_once()
            _wait(d, lambda: [c.number for c in app.kids_strip.ids.calls.children][-1:] == [called],
                  f"{called} in the strip")
            _wait(d, lambda: screen.announcer.wait_idle(0.1) and screen.announcer.announced, "the chime")
            d.frames(10)
            d.screenshot(shots / "30-kids-screen-call.png")
        heard = screen.announcer.announced[-1]
        return (f"Window {window} called {called} again: the kids' room screen showed it in its strip "
                f"«Талон {called} — окно {window}» and played its gentle chime ({heard.outcome}).")
    finally:
        screen.close()

