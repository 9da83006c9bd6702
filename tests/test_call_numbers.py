"""Call numbers of repeated printed numbers (hub/placement.py call_numbers), against a real hub file."""
from __future__ import annotations

from hub.db import HubDB
from hub.placement import call_numbers


def add(db: HubDB, center: str, tickets: list[tuple[str, str]]) -> list[str]:
    """Number `tickets` (printed number, day) as ingest does, then store them as it would."""
    with db.transaction() as d:
        numbers = call_numbers(d, center, tickets)
        start = d.execute("SELECT count(*) FROM tickets").fetchone()[0]
        for i, ((printed, day), number) in enumerate(zip(tickets, numbers, strict=True), start=start):
            d.execute("INSERT INTO tickets (id, center, number, printed_number, day, state) "
                      "VALUES (?, ?, ?, ?, ?, 'waiting')", [f"t{i}", center, number, printed, day])
    return numbers


def test_a_number_repeated_past_nine_counts_on_by_value_not_by_spelling(tmp_path):
    db = HubDB(tmp_path)
    day = "2026-11-23"
    # "П505/10" sorts before "П505/2": the next after it must still be /11, never a taken one.
    assert add(db, "c", [("П505", day)] * 4) == ["П505", "П505/2", "П505/3", "П505/4"]
    assert add(db, "c", [("П505", day)] * 7) == [f"П505/{n}" for n in range(5, 12)]
    assert add(db, "c", [("П505", day), ("П506", day), ("П505", day)]) == ["П505/12", "П506", "П505/13"]


def test_numbers_repeat_freely_across_days_centers_and_neighbours(tmp_path):
    db = HubDB(tmp_path)
    add(db, "c", [("П505", "2026-11-23"), ("П505", "2026-11-23"), ("П500", "2026-11-23")])
    # Another day, another center, and neighbouring numbers (П050, П500, П506) are not repeats.
    assert add(db, "c", [("П505", "2026-11-24")]) == ["П505"]
    assert add(db, "other", [("П505", "2026-11-23")]) == ["П505"]
    assert add(db, "c", [("П050", "2026-11-23"), ("П506", "2026-11-23")]) == ["П050", "П506"]
    assert add(db, "c", [("П505", "2026-11-23")]) == ["П505/3"]


def test_a_batch_of_many_numbers_is_numbered_in_one_go(tmp_path):
    db = HubDB(tmp_path)
    day = "2026-11-23"
    first = [(f"С{n:03d}", day) for n in range(1, 1000)] * 2  # more numbers than one statement takes
    assert add(db, "c", first) == [f"С{n:03d}" for n in range(1, 1000)] + [f"С{n:03d}/2" for n in range(1, 1000)]
    assert add(db, "c", [("С999", day), ("С001", day)]) == ["С999/3", "С001/3"]
