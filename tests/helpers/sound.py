"""Sound measured by sox."""
from __future__ import annotations

import subprocess
from pathlib import Path


def sox_stat(path: Path) -> dict[str, float]:
    """sox's own measurement of a WAV file (it writes `stat` to stderr)."""
    done = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, check=True)
    figures = {}
    for line in done.stderr.splitlines():
        name, _, value = line.partition(":")
        try:
            figures[name.strip()] = float(value)
        except ValueError:
            pass
    return figures
