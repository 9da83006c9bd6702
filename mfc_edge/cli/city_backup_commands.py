from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands to `mfc-edge city` (`sub`: its subparsers)."""
    del sub


__all__ = ["argparse", "register"]
