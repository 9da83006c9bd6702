"""`mfc-edge simulate`: replay simulated days through the hub's real queue and say how far the
printed wait estimates were from the waits (hub/simulator.py, the days in hub/day_profiles.py)."""
from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from mfc_edge.cli.arguments import CommandError
from mfc_edge.cli.device_commands import AddCommand

MAX_DAYS = 366


def cmd_simulate(args: argparse.Namespace) -> int:
    from hub.day_profiles import PROFILES
    from hub.simulator import DaySimulator

    if not 1 <= args.days <= MAX_DAYS:
        raise CommandError(f"--days {args.days}: expected 1 to {MAX_DAYS}")
    try:
        first = date.fromisoformat(args.start)
    except ValueError:
        raise CommandError(f"--from {args.start!r}: expected a date as YYYY-MM-DD") from None
    simulator = DaySimulator(seed=args.seed)
    try:
        outcome = simulator.run(first, args.days, PROFILES[args.profile] if args.profile else None)
    finally:
        simulator.close()
    found = outcome.as_dict()
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=1))
    else:
        print(render(found))
    return 0


def render(found: dict[str, Any]) -> str:
    """The figures as a plain table: the days, then each rule's error per service."""
    lines = [f"{'day':<11} {'profile':<9} {'visitors':>8}  states at the day's end"]
    for day in found["days"]:
        states = ", ".join(f"{k} {v}" for k, v in sorted(day["states"].items()))
        lines.append(f"{day['day']:<11} {day['profile']:<9} {day['visitors']:>8}  {states}")
    lines.append(f"never called (no wait to compare): {found['never_called']}")
    for rule, by_service in found["accuracy"].items():
        lines += ["", f"rule {rule}: estimate − wait, minutes",
                  f"{'service':<24} {'tickets':>7} {'MAE':>6} {'bias':>6} {'≤5 min':>7}"]
        for service, a in sorted(by_service.items(), key=lambda kv: (kv[0] != "all", kv[0])):
            lines.append(f"{service:<24} {a['count']:>7} {a['mae_minutes']:>6.2f} {a['bias_minutes']:>6.2f} "
                         f"{a['within_5_min']:>7.1%}")
    return "\n".join(lines)


def register(add: AddCommand) -> None:
    p = add("simulate", cmd_simulate,
            "Replay simulated days of a center through the hub's queue (arrivals by weekday and hour, "
            "service times per service, windows opening, pausing and closing) and report the error of "
            "the printed wait estimates: the plan rule and the simple rule, per service.")
    p.add_argument("--days", type=int, default=7, help=f"calendar days to replay, 1 to {MAX_DAYS} (default 7; "
                                                       "Sundays are closed)")
    p.add_argument("--from", dest="start", default="2026-03-02", metavar="YYYY-MM-DD",
                   help="the first day (default 2026-03-02, a Monday)")
    p.add_argument("--profile", choices=("weekday", "saturday", "short"),
                   help="replay every day with this profile rather than by its weekday")
    p.add_argument("--seed", type=int, default=1, help="the random seed: the same seed replays the same days")
    p.add_argument("--json", action="store_true", help="the figures as JSON")
