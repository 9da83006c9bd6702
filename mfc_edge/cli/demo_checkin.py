"""The kiosk's check-in scenes of the demo: a visitor types their booking code on the keypad and
takes a booked ticket, another holds theirs to the scanner, and a third asks whether their
documents are ready and takes a ticket to collect them (screenshots 35-38).

The bookings and the applications' readiness are the ones the booking system and the back
office posted to the demo hub (mfc_edge/cli/demo_bookings.py), in the kiosk's copy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mfc_edge.cli.demo_bookings import BY_KEYPAD, BY_SCAN, READY

KEY_GAP_S = 0.01  # a scanner's pace: well under the 50 ms that tells it from a person


def scan(k: Any, app: Any, text: str) -> None:
    """A USB scanner reads `text`: its keys, then Enter, through the window as the kiosk gets
    them. Timed by a clock of the scene's own, so a busy machine never makes it a person."""
    from kivy.core.window import Window

    desk, now = app.checkin, [0.0]
    real = desk.monotonic
    desk.monotonic = lambda: now[0]
    try:
        for char in text:
            now[0] += KEY_GAP_S
            Window.dispatch("on_textinput", char)
        now[0] += KEY_GAP_S
        Window.dispatch("on_key_down", 13, 40, None, [])
    finally:
        desk.monotonic = real
    k.frames(3)


def on_time(k: Any) -> None:
    """The scene needs the visitor on time: a demo whose clock has run past the slot says so."""
    if k.screen != "booking-outcome" or not any(getattr(w, "tag", "") == "take-booked" for w in k.widgets()):
        said = k.find(tag="outcome").text if k.screen == "booking-outcome" else k.screen
        raise RuntimeError(f"the demo's booked visitor is not on time at {k.app.clock_text}: {said}")


def checkin_scenes(k: Any, app: Any, shots: Path) -> str:
    app.go_home()
    k.frames(2)
    k.tap("booking")
    for char in BY_KEYPAD:
        k.tap(tag=f"key:{char}")
    k.screenshot(shots / "35-kiosk-booking-keypad.png")
    k.tap("check")
    on_time(k)
    k.tap("take-booked")
    k.screenshot(shots / "36-kiosk-booking-ticket.png")
    keypad_ticket = k.find(tag="ticket-number").text
    k.tap("done")

    scan(k, app, BY_SCAN)  # on the start screen: no button touched
    on_time(k)
    k.screenshot(shots / "37-kiosk-booking-scan.png")
    k.tap("take-booked")
    scan_ticket = k.find(tag="ticket-number").text
    k.tap("done")

    k.tap("documents")
    for char in READY:
        k.tap(tag=f"key:{char}")
    k.tap("check")
    k.screenshot(shots / "38-kiosk-document-ready.png")
    k.tap("take-collection")
    collection_ticket = k.find(tag="ticket-number").text
    k.tap("done")
    return (f"Checked in at the kiosk: {BY_KEYPAD} by keypad ({keypad_ticket}) and {BY_SCAN} by scanner "
            f"({scan_ticket}), both marked with their slot; application {READY} ready, collection ticket "
            f"{collection_ticket}.")
