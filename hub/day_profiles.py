"""The days the simulator replays (hub/simulator.py): when visitors come, what for, how long
each service takes, and how the operators open, pause and close their windows.

The shapes follow a center's load chart (hub/load.py): a morning rise, a lull at lunch, an
evening peak after work on weekdays; a shorter Saturday busiest around noon. Service times
are lognormal (most visits near the median, a long tail of hard cases), per service.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServiceMix:
    id: str
    letter: str  # the ticket's letter, as the center's catalog gives it
    share: float  # of the day's visitors
    median_minutes: float
    sigma: float  # of the log of the service time

    @property
    def mean_minutes(self) -> float:
        return self.median_minutes * math.exp(self.sigma ** 2 / 2)


@dataclass(frozen=True)
class WindowPlan:
    name: str
    services: tuple[str, ...]
    opens: str  # "HH:MM" local
    closes: str | None = None  # an early close; None: serves until the day's line is done
    pauses: tuple[tuple[str, int, str], ...] = ()  # (start "HH:MM", minutes, reason)


@dataclass(frozen=True)
class DayProfile:
    name: str
    opens: str  # the kiosks issue tickets from ...
    closes: str  # ... until
    arrivals: dict[int, float]  # mean visitors per local hour
    priority_share: float
    no_show_share: float
    services: tuple[ServiceMix, ...]
    windows: tuple[WindowPlan, ...] = field(default=())

    @property
    def expected_visitors(self) -> float:
        return sum(self.arrivals.values())


SERVICES = (
    ServiceMix("passport-rf", "П", 0.30, 14.0, 0.45),
    ServiceMix("residence-registration", "П", 0.15, 12.0, 0.5),
    ServiceMix("adult-snils", "С", 0.20, 6.0, 0.5),
    ServiceMix("oms-policy", "В", 0.15, 8.0, 0.45),
    ServiceMix("tax-deduction", "Б", 0.20, 10.0, 0.6),
)
PASSPORTS = ("passport-rf", "residence-registration")
ALL = tuple(s.id for s in SERVICES)


def _lunches(first: str, windows: int, minutes: int, step: int) -> list[tuple[str, int, str]]:
    """Staggered breaks: window i's starts `step` minutes after window i-1's."""
    hour, minute = map(int, first.split(":"))
    starts = [hour * 60 + minute + i * step for i in range(windows)]
    return [(f"{s // 60:02d}:{s % 60:02d}", minutes, "break") for s in starts]


_WEEKDAY_LUNCH = _lunches("12:00", 10, 30, 18)
WEEKDAY = DayProfile(
    name="weekday", opens="08:00", closes="20:00",
    arrivals={8: 18, 9: 30, 10: 40, 11: 40, 12: 34, 13: 30, 14: 32, 15: 34, 16: 38, 17: 40, 18: 34, 19: 20},
    priority_share=0.05, no_show_share=0.03, services=SERVICES,
    windows=(
        WindowPlan("1", PASSPORTS, "08:00", pauses=(_WEEKDAY_LUNCH[0],)),
        WindowPlan("2", PASSPORTS, "08:00", pauses=(_WEEKDAY_LUNCH[1],)),
        WindowPlan("3", PASSPORTS, "08:10", pauses=(_WEEKDAY_LUNCH[2],)),
        WindowPlan("4", ("adult-snils", "oms-policy"), "08:00",
                   pauses=(_WEEKDAY_LUNCH[3], ("16:00", 20, "technical"))),
        WindowPlan("5", ("adult-snils", "oms-policy"), "08:05", pauses=(_WEEKDAY_LUNCH[4],)),
        WindowPlan("6", ("tax-deduction", "adult-snils"), "08:00", pauses=(_WEEKDAY_LUNCH[5],)),
        WindowPlan("7", ("tax-deduction", "adult-snils"), "09:00", pauses=(_WEEKDAY_LUNCH[6],)),
        WindowPlan("8", ALL, "08:00", pauses=(_WEEKDAY_LUNCH[7],)),
        WindowPlan("9", ALL, "08:00", pauses=(_WEEKDAY_LUNCH[8],)),
        WindowPlan("10", ("passport-rf", "tax-deduction"), "10:00", closes="17:00"),
    ))

_SATURDAY_LUNCH = _lunches("13:00", 6, 30, 20)
SATURDAY = DayProfile(
    name="saturday", opens="10:00", closes="17:00",
    arrivals={10: 20, 11: 24, 12: 26, 13: 22, 14: 22, 15: 18, 16: 12},
    priority_share=0.05, no_show_share=0.03, services=SERVICES,
    windows=(
        WindowPlan("1", PASSPORTS, "10:00", pauses=(_SATURDAY_LUNCH[0],)),
        WindowPlan("2", PASSPORTS, "10:00", pauses=(_SATURDAY_LUNCH[1],)),
        WindowPlan("3", ("adult-snils", "oms-policy"), "10:00", pauses=(_SATURDAY_LUNCH[2],)),
        WindowPlan("4", ("tax-deduction", "adult-snils"), "10:00", pauses=(_SATURDAY_LUNCH[3],)),
        WindowPlan("5", ALL, "10:00", pauses=(_SATURDAY_LUNCH[4],)),
        WindowPlan("6", ALL, "10:15", closes="16:00", pauses=(_SATURDAY_LUNCH[5],)),
    ))

# A short quiet morning: two windows, about 25 visitors; what the simulator's test replays.
SHORT = DayProfile(
    name="short", opens="09:00", closes="11:00", arrivals={9: 12, 10: 12},
    priority_share=0.1, no_show_share=0.1, services=SERVICES,
    windows=(WindowPlan("1", ALL, "09:00", pauses=(("09:40", 10, "break"),)),
             WindowPlan("2", ALL, "09:05", closes="10:30")))

PROFILES = {p.name: p for p in (WEEKDAY, SATURDAY, SHORT)}


def profile_for(weekday: int) -> DayProfile | None:
    """The profile of a weekday (Monday 0): Sunday the center is closed."""
    return None if weekday == 6 else SATURDAY if weekday == 5 else WEEKDAY
