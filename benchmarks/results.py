"""What every benchmark here shares: percentiles, and its own section of RESULTS.md."""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def write_section(heading: str, section: str) -> None:
    """Replace this benchmark's section of RESULTS.md (it starts with `heading`) where it stands,
    keeping the others; a new section goes at the end."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    section = section.rstrip() + "\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end:] if end != -1 else "")
    RESULTS.write_text(text, encoding="utf-8")
