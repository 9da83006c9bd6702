"""Telling a scanner's burst from a person's typing (kiosk/scanner.py), key by key."""
from __future__ import annotations

from kiosk.scanner import ScanDetector


def typed(detector: ScanDetector, text: str, gap: float, start: float = 100.0) -> str | None:
    at = start
    for char in text:
        at += gap
        detector.char(char, at)
    return detector.enter(at + gap)


def test_a_fast_run_of_six_or_more_ended_by_enter_is_a_scan():
    detector = ScanDetector()
    assert typed(detector, "KD4821", 0.008) == "KD4821"
    assert typed(detector, "77-0012/34", 0.049) == "77-0012/34"


def test_slow_or_short_runs_are_not():
    detector = ScanDetector()
    assert typed(detector, "KD4821", 0.2) is None  # a person at a keyboard
    assert typed(detector, "KD48", 0.01) is None  # too short for a code
    assert detector.enter(500.0) is None  # Enter alone


def test_a_pause_before_enter_or_inside_the_run_breaks_it():
    detector = ScanDetector()
    for i, char in enumerate("KD4821"):
        detector.char(char, 1.0 + i * 0.01)
    assert detector.enter(2.0) is None  # Enter a second later: someone pressed it
    for at, char in ((1.0, "A"), (1.01, "B"), (1.5, "K"), (1.51, "D"), (1.52, "4"), (1.53, "8"), (1.54, "2"),
                     (1.55, "1")):
        detector.char(char, at)
    assert detector.enter(1.56) == "KD4821"  # the run began again after the pause
