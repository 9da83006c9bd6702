"""Telling a USB barcode/QR scanner from a person at a keyboard.

A scanner is a keyboard to the kiosk: it types what it reads, very fast, and presses Enter. A
person (a technician at a keyboard plugged in for service) types at most a few keys a second.
So a run of at least MIN_LENGTH characters, each within MAX_GAP_S of the one before, ended by
Enter within MAX_GAP_S, is a scan; anything slower is nobody's code and is dropped.

The detector is fed key by key with the time of each key (the caller's monotonic clock, so a
test gives its own and never depends on how fast the machine runs).
"""
from __future__ import annotations

MIN_LENGTH = 6
MAX_GAP_S = 0.05
LONGEST = 64  # a code is short; a stuck key is not a scan


class ScanDetector:
    def __init__(self, min_length: int = MIN_LENGTH, max_gap_s: float = MAX_GAP_S):
        self.min_length, self.max_gap_s = min_length, max_gap_s
        self._chars: list[str] = []
        self._last: float | None = None

    def char(self, text: str, at: float) -> None:
        """A character typed at `at` (seconds): it continues the run, or begins a new one."""
        if self._last is None or at - self._last > self.max_gap_s or len(self._chars) >= LONGEST:
            self._chars = []
        self._chars.append(text)
        self._last = at

    def enter(self, at: float) -> str | None:
        """Enter pressed at `at`: the scanned text, or None when the run was not a scan."""
        chars, last = self._chars, self._last
        self._chars, self._last = [], None
        fast = last is not None and at - last <= self.max_gap_s
        text = "".join(chars).strip()
        return text if fast and len(text) >= self.min_length else None
