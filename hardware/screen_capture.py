"""A PNG of what a Kivy window shows: the screenshots a supervisor sees of kiosks and screens
(offline_cache/screenshots.py sends them). Kivy's window is read on Kivy's thread only, so
`capture_png` hands the work to it and waits."""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any


def window_png(window: Any) -> bytes:
    """The window's pixels as PNG bytes (Kivy writes files only, so go through a temporary one).
    The topmost widget is what people see: the app's root, or whatever is shown over it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "screen.png"
        window.children[0].export_to_png(str(path))
        return path.read_bytes()


def capture_png(window: Any = None, timeout: float = 5.0) -> bytes | None:
    """`window_png` of `window` (Kivy's window by default), callable from any thread; None when
    Kivy's thread does not get to it within `timeout` seconds."""
    from kivy.clock import Clock
    from kivy.core.window import Window

    done, result = threading.Event(), {}

    def take(_dt: float) -> None:
        try:
            result["png"] = window_png(window or Window)
        finally:
            done.set()

    if threading.current_thread() is threading.main_thread():
        take(0)
    else:
        Clock.schedule_once(take)
        done.wait(timeout)
    return result.get("png")
