"""The center's load by weekday and hour, as the hub publishes it: read for the screens' load
chart and the kiosk's "fewest visitors" hint.

The hub averages its ticket history (see hub/load.py). A reply that does not have the
expected shape is refused as a whole, so the chart never draws half-read figures.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mfc_edge.protocol import WEEKDAYS

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class DayLoad:
    weekday: int
    hours: tuple[int, ...]  # the hours the center worked on this weekday, in order
    visitors: tuple[float, ...]  # average visitors in each of those hours
    busiest: int | None
    quietest: tuple[int, ...]

    @property
    def peak(self) -> float:
        return max(self.visitors, default=0.0)


@dataclass(frozen=True)
class LoadSummary:
    days: tuple[DayLoad, ...]  # Monday first

    def day(self, weekday: int) -> DayLoad:
        return self.days[weekday]

    @property
    def peak(self) -> float:
        return max((d.peak for d in self.days), default=0.0)


def hour_span(hour: int) -> str:
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"


def read_load(reply: dict[str, Any] | None) -> LoadSummary | None:
    """The summary in a `GET /api/v1/load` reply, or None when there is none or it is malformed."""
    if not reply:
        return None
    try:
        days = []
        for index, name in enumerate(WEEKDAYS):
            averages = [float(v) for v in reply["hours"][name]]
            if len(averages) != 24 or any(v < 0 for v in averages):
                raise ValueError(f"{name}: expected 24 averages of zero or more")
            busiest = reply["busiest"].get(name)
            quietest = tuple(int(h) for h in reply["quietest"].get(name) or ())
            worked = tuple(h for h, v in enumerate(averages) if v > 0)
            days.append(DayLoad(index, worked, tuple(averages[h] for h in worked),
                                None if busiest is None else int(busiest), quietest))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("load statistics from the hub are malformed, ignored: %s", exc)
        return None
    if not any(d.hours for d in days):
        return None
    return LoadSummary(tuple(days))
