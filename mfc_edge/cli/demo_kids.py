"""The kids' room screen's part of the demo: a `kids` screen enrolled with the demo hub plays
its cartoons' slide. The visitor last called in the hall is a parent in the kids' room: the
operator calls the ticket again, and it shows in the strip at the screen's foot with the
gentle chime (recorded, as the hall screen's announcements are)."""
from __future__ import annotations

from pathlib import Path


def kids_scene(center, out: Path, shots: Path) -> str:
    """Enroll the kids' room screen, recall the hall's last call, and take screenshot 30."""
    from hardware.headless_display import HeadlessDisplay
    from mfc_edge.cli.demo_screen import SCREEN_CONFIG, _wait, enrolled_screen
    from signage.app import SignageApp

    # The hall screen's settings, for a device of its own with the kids' profile (calls in a strip).
    config = SCREEN_CONFIG.replace('"screen-hall"', '"screen-kids"').replace('"waiting-area"', '"kids"')
    device, screen = enrolled_screen(out / "kids-screen", config, center, "the kids' room screen")
    try:
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

