"""Identifiers made on devices: valid where the protocol expects them, unique, in time order."""
from __future__ import annotations

import re
import uuid
from datetime import UTC

from mfc_edge import ids, protocol
from tests.helpers.day import TEST_DAY, at


def test_event_ids_are_version_7_uuids_in_their_usual_spelling():
    made = uuid.UUID(ids.event_id())
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ids.event_id())


def test_the_time_in_a_uuid7_is_the_time_it_was_made(monkeypatch):
    moment = at(12, 30, 15, 250_000, tz=UTC)
    whole_seconds = int(moment.replace(microsecond=0).timestamp())
    monkeypatch.setattr(ids.time, "time_ns", lambda: whole_seconds * 10 ** 9 + 250_000_123)
    made = ids.uuid7()
    assert made.int >> 80 == whole_seconds * 1000 + 250


def test_identifiers_made_later_sort_after_earlier_ones(monkeypatch):
    clock = {"ns": 1_790_000_000 * 10 ** 9}
    monkeypatch.setattr(ids.time, "time_ns", lambda: clock["ns"])
    monkeypatch.setattr(ids.time, "time", lambda: clock["ns"] / 1e9)
    made = []
    for _ in range(50):
        made.append((ids.event_id(), ids.ticket_id(), ids.status_token()))
        clock["ns"] += 1_000_000_000  # a second later: the coarsest part, the token's, moves too
    for column in zip(*made, strict=True):
        assert list(column) == sorted(column)


def test_identifiers_made_in_the_same_instant_still_differ(monkeypatch):
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_790_000_000 * 10 ** 9)
    monkeypatch.setattr(ids.time, "time", lambda: 1_790_000_000.0)
    assert len({ids.event_id() for _ in range(10_000)}) == 10_000
    assert len({ids.ticket_id() for _ in range(10_000)}) == 10_000
    assert len({ids.status_token() for _ in range(10_000)}) == 10_000


def test_a_status_token_keeps_128_random_bits_after_its_time(monkeypatch):
    monkeypatch.setattr(ids.time, "time", lambda: 1_790_000_000.0)
    tokens = [ids.status_token() for _ in range(200)]
    assert {t[:8] for t in tokens} == {f"{1_790_000_000:08x}"}
    secrets_part = [t[8:] for t in tokens]
    assert all(len(s) == 22 for s in secrets_part)  # 16 bytes in URL-safe base64
    # Every position of the random part varies: nothing there is fixed or derived from the time.
    for position in range(21):  # the last character carries only 2 of the 128 bits
        assert len({s[position] for s in secrets_part}) > 10


def test_a_kiosk_ticket_event_made_with_these_ids_is_accepted_by_the_protocol():
    moment = at(9, tz=UTC)
    event = protocol.make_event(protocol.TICKET_ISSUED, "strogino", "kiosk-1", moment, {
        "ticket": ids.ticket_id(), "number": "П001", "service": "passport-rf", "day": TEST_DAY.isoformat(),
        "priority": False, "issued_at": moment.isoformat(), "status_token": ids.status_token()})
    assert protocol.event_problem(event) is None


def test_identifiers_made_in_one_millisecond_sort_in_the_order_they_were_made(monkeypatch):
    """A kiosk issues several tickets in a millisecond; their ids once sorted at random."""
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_790_000_000 * 10 ** 9)
    for make in (ids.event_id, ids.ticket_id):
        made = [make() for _ in range(1000)]
        assert made == sorted(made) and len(set(made)) == len(made)
