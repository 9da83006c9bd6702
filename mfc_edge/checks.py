"""Checks of single values in configuration files and playlists, for `TableReader.get`.

Each takes a value read from TOML and returns it (converted) or raises ValueError; the reader
turns that into an error naming the file, the key, the value and what is allowed.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Any

_WINDOW = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


def one_of(choices: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError
        return value
    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError
    return value


def whole(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError
        return value
    return check


def number(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValueError
        return float(value)
    return check


def time_windows(value: Any) -> tuple[tuple[time, time], ...]:
    """["08:00-12:00", "22:00-02:00"]: a window may pass midnight; "24:00" ends at midnight."""
    if not isinstance(value, list) or not value:
        raise ValueError
    windows = []
    for text in value:
        match = _WINDOW.match(text) if isinstance(text, str) else None
        if not match:
            raise ValueError
        h1, m1, h2, m2 = map(int, match.groups())
        start, end = time(h1, m1), time(h2 % 24, m2)  # 25:00 raises
        if start == end and h2 != 24:
            raise ValueError
        windows.append((start, end))
    return tuple(windows)
