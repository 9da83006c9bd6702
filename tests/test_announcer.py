"""Announced calls: the words, the queue (order, no cut-offs, nothing lost), quiet hours, the feed."""
from __future__ import annotations

import math
import threading
import wave
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hardware.audio import AudioError, SimulatedOutput
from hardware.clock import ManualClock
from hardware.speech import EspeakSpeech, SpeechError
from mfc_edge.config import load_config
from signage.announcer import CHIME_ONLY, CHIMED, DISABLED, FAILED, QUIET, SPOKEN, Announcer, NewCalls
from signage.config import AnnouncementConfig
from signage.phrases import (
    LETTER_NAMES_EN,
    LETTER_NAMES_RU,
    english_number,
    english_phrase,
    russian_number,
    russian_phrase,
)
from tests.helpers.day import MONDAY_10AM, TEST_DAY, at
from tests.helpers.sound import sox_stat

MSK = ZoneInfo("Europe/Moscow")
WAIT = 60.0  # generous: the tests assert on what happened, never on how fast


def call(number: str, window: str = "5", minute: int = 0, recall: bool = False) -> dict:
    return {"number": number, "window": window, "at": f"{TEST_DAY}T07:{minute:02d}:00Z", "recall": recall}


class FakeSpeech:
    """Speech without espeak-ng: a tone as long as the text, so tests stay quick. Phrases
    containing a word in `fail_on` raise, as espeak-ng would on a broken install."""

    def __init__(self, folder: Path, fail_on: tuple[str, ...] = ()):
        self.folder, self.fail_on = folder, fail_on
        folder.mkdir(parents=True, exist_ok=True)
        self.rendered: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def render(self, text: str, voice: str = "ru") -> Path:
        if any(word in text for word in self.fail_on):
            raise SpeechError(f"espeak-ng -v {voice} failed for {text!r}: broken")
        with self._lock:
            self.rendered.append((text, voice))
            path = self.folder / f"phrase-{len(self.rendered):03d}.wav"
        frames = 8000 * len(text) // 20
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"".join(int(8000 * math.sin(i / 3)).to_bytes(2, "little", signed=True)
                                   for i in range(frames)))
        return path


def make(tmp_path, config=None, speech=None, clock=None, output=None, kids=False):
    config = config or AnnouncementConfig()
    output = output or SimulatedOutput(sleep=True, speed=50, keep_dir=tmp_path / "heard")
    announcer = Announcer(config, output, speech or FakeSpeech(tmp_path / "speech"), timezone=MSK,
                          clock=clock or ManualClock(MONDAY_10AM),
                          work_dir=tmp_path / "work", kids=kids)
    return announcer, output


def heard(output: SimulatedOutput) -> list[str]:
    return ["chime" if "chime" in p.path.name else "phrase" for p in output.played]


@pytest.mark.parametrize("n, words", [
    (0, "ноль"), (1, "один"), (2, "два"), (7, "семь"), (10, "десять"), (11, "одиннадцать"),
    (12, "двенадцать"), (19, "девятнадцать"), (20, "двадцать"), (21, "двадцать один"), (42, "сорок два"),
    (90, "девяносто"), (100, "сто"), (101, "сто один"), (110, "сто десять"), (111, "сто одиннадцать"),
    (200, "двести"), (340, "триста сорок"), (512, "пятьсот двенадцать"), (999, "девятьсот девяносто девять"),
])
def test_russian_number_words(n, words):
    assert russian_number(n) == words


@pytest.mark.parametrize("n, words", [
    (1, "one"), (11, "eleven"), (12, "twelve"), (19, "nineteen"), (20, "twenty"), (21, "twenty-one"),
    (42, "forty-two"), (100, "one hundred"), (101, "one hundred and one"), (110, "one hundred and ten"),
    (111, "one hundred and eleven"), (200, "two hundred"), (999, "nine hundred and ninety-nine"),
])
def test_english_number_words(n, words):
    assert english_number(n) == words


def test_numbers_outside_what_can_be_said():
    for n in (-1, 1000):
        with pytest.raises(ValueError):
            russian_number(n)
        with pytest.raises(ValueError):
            english_number(n)


def test_phrases_name_the_ticket_and_the_window():
    assert russian_phrase("П042", "5") == "Талон Пэ сорок два, окно пять"
    assert russian_phrase("П007", "12") == "Талон Пэ семь, окно двенадцать"
    assert russian_phrase("Л100", "05") == "Талон Эль сто, окно пять"
    assert russian_phrase("А111", "5А") == "Талон А сто одиннадцать, окно 5А"
    assert russian_phrase("С020", "VIP-1") == "Талон Эс двадцать, окно VIP-1"
    assert english_phrase("П042", "5") == "Ticket P forty-two, window five"
    assert english_phrase("Ж101", "21") == "Ticket Zh one hundred and one, window twenty-one"
    letters = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    assert set(LETTER_NAMES_RU) == set(LETTER_NAMES_EN) == set(letters)
    for bad_number in ("P042", "П42", "П0420", "п042", ""):
        with pytest.raises(ValueError, match="ticket number"):
            russian_phrase(bad_number, "5")
    for bad_window in ("", "123456789", "5 6", "5/6"):
        with pytest.raises(ValueError, match="window"):
            russian_phrase("П042", bad_window)


def test_ten_calls_at_once_are_all_spoken_in_order_without_overlap(tmp_path):
    speech = EspeakSpeech(tmp_path / "speech")
    announcer, output = make(tmp_path, AnnouncementConfig(english=True), speech=speech)
    calls = [call(f"П{i:03d}", str(i % 7 + 1), minute=i) for i in range(1, 11)]
    for c in calls:
        assert announcer.announce(c) is True  # returns at once: the worker speaks
    assert announcer.wait_idle(WAIT)
    announcer.stop()

    assert heard(output) == ["chime", "phrase", "phrase"] * 10
    assert output.overlaps == 0
    for before, after in zip(output.played, output.played[1:], strict=False):
        assert after.start >= before.end  # never cut off, never talked over
    records = announcer.announced
    assert [r.call["number"] for r in records] == [c["number"] for c in calls]
    assert all(r.outcome == SPOKEN and not r.errors for r in records)
    assert records[0].phrases == ["chime", "Талон Пэ один, окно два", "Ticket P one, window two"]
    # Every phrase was really rendered and is speech, not silence, at the configured volume.
    for played in output.played:
        if "phrase" in played.path.name:
            stat = sox_stat(played.copy)
            assert stat["Length (seconds)"] > 0.5 and stat["RMS     amplitude"] > 0.01


def test_repeated_feed_snapshots_announce_each_call_once_and_a_recall_again(tmp_path):
    announcer, output = make(tmp_path)
    new_calls = NewCalls()
    feed = {"calls": [call("А001", minute=1)]}
    assert new_calls(feed) == []  # the first snapshot after start: only remembered
    feed = {"calls": [call("А003", "2", minute=3), call("А002", minute=2), call("А001", minute=1)]}
    for _ in range(3):  # the feed repeats itself on every poll
        for c in new_calls(feed):
            announcer.announce(c)
    feed = {"calls": [call("А002", minute=4, recall=True), *feed["calls"]]}
    for _ in range(2):
        for c in new_calls(feed):
            announcer.announce(c)
    assert announcer.wait_idle(WAIT)
    assert [(r.call["number"], r.call["recall"]) for r in announcer.announced] == [
        ("А002", False), ("А003", False), ("А002", True)]
    assert announcer.announced[1].phrases == ["chime", "Талон А три, окно два"]
    assert heard(output) == ["chime", "phrase"] * 3
    # Handed the same call directly, the announcer refuses it too.
    assert announcer.announce(call("А003", "2", minute=3)) is False
    announcer.stop()


def test_new_calls_from_feed_snapshots():
    new_calls = NewCalls()
    assert new_calls(None) == []  # hub away: not the first snapshot
    assert new_calls({"error": "x"}) == []
    assert new_calls({"calls": [call("Б002", minute=2), call("Б001", minute=1)]}) == []
    later = {"calls": [call("Б005", minute=5), call("Б004", minute=4), {"number": "bad"}, call("Б003", minute=3),
                       call("Б002", minute=2)]}
    assert [c["number"] for c in new_calls(later)] == ["Б003", "Б004", "Б005"]  # oldest first
    assert new_calls(later) == []
    assert new_calls(None) == []
    assert [c["number"] for c in new_calls({"calls": [call("Б006", minute=6), *later["calls"]]})] == ["Б006"]


def test_first_snapshot_is_remembered_even_when_empty():
    new_calls = NewCalls()
    assert new_calls({"calls": []}) == []
    assert [c["number"] for c in new_calls({"calls": [call("В001")]})] == ["В001"]


@pytest.mark.parametrize("local, quiet", [
    (time(20, 59), False), (time(21, 0), True), (time(23, 30), True), (time(0, 0), True), (time(3, 15), True),
    (time(7, 59), True), (time(8, 0), False), (time(12, 0), False),
])
def test_quiet_hours_across_midnight_skip_the_sound_but_record_the_call(tmp_path, local, quiet):
    clock = ManualClock(datetime.combine(TEST_DAY, local, tzinfo=MSK))
    config = AnnouncementConfig(quiet_hours=((time(21, 0), time(8, 0)),))
    announcer, output = make(tmp_path, config, clock=clock)
    announcer.announce(call("Д010"))
    assert announcer.wait_idle(WAIT)
    [record] = announcer.announced
    assert record.outcome == (QUIET if quiet else SPOKEN)
    assert record.handled_at.time() == local
    assert heard(output) == ([] if quiet else ["chime", "phrase"])
    announcer.stop()


def test_quiet_hours_follow_the_centers_time_zone_not_the_devices(tmp_path):
    # 18:30 UTC is 21:30 in Moscow.
    clock = ManualClock(at(18, 30, tz=ZoneInfo("UTC")))
    announcer, output = make(tmp_path, AnnouncementConfig(quiet_hours=((time(21, 0), time(8, 0)),)), clock=clock)
    announcer.announce(call("Д011"))
    assert announcer.wait_idle(WAIT)
    assert announcer.announced[0].outcome == QUIET and output.played == []
    announcer.stop()


def test_the_kids_room_hears_a_gentler_chime_and_no_words(tmp_path):
    speech = FakeSpeech(tmp_path / "speech")
    kids, kids_out = make(tmp_path / "kids", speech=speech, kids=True)
    hall, hall_out = make(tmp_path / "hall")
    for announcer in (kids, hall):
        announcer.announce(call("А015", "3"))
        assert announcer.wait_idle(WAIT)
    [record] = kids.announced
    assert record.outcome == CHIMED and record.phrases == ["chime"] and heard(kids_out) == ["chime"]
    assert speech.rendered == []  # no words over the cartoons
    gentle, ding_dong = (sox_stat(out.played[0].copy) for out in (kids_out, hall_out))
    assert gentle["Maximum amplitude"] < 0.6 * ding_dong["Maximum amplitude"]
    assert gentle["Rough   frequency"] != ding_dong["Rough   frequency"]  # a tune of its own
    assert gentle["RMS     amplitude"] > 0.02  # still heard
    for announcer in (kids, hall):
        announcer.stop()


@pytest.mark.parametrize("config, outcome", [
    (AnnouncementConfig(quiet_hours=((time(9, 0), time(11, 0)),)), QUIET),
    (AnnouncementConfig(chime=False), DISABLED), (AnnouncementConfig(enabled=False), DISABLED)])
def test_the_kids_room_is_silent_in_quiet_hours_or_without_its_chime(tmp_path, config, outcome):
    announcer, output = make(tmp_path, config, kids=True)
    announcer.announce(call("А016", "4"))
    assert announcer.wait_idle(WAIT)
    assert [r.outcome for r in announcer.announced] == [outcome] and output.played == []
    announcer.stop()


@pytest.mark.parametrize("config", [AnnouncementConfig(enabled=False), AnnouncementConfig(volume=0)])
def test_announcements_off_record_the_call_silently(tmp_path, config):
    announcer, output = make(tmp_path, config)
    announcer.announce(call("Е001"))
    announcer.announce(call("Е002"))
    assert announcer.wait_idle(WAIT)
    assert [r.outcome for r in announcer.announced] == [DISABLED, DISABLED]
    assert output.played == []
    announcer.stop()


@pytest.mark.parametrize("chime", [True, False])
def test_a_speech_failure_loses_no_other_call(tmp_path, chime):
    speech = FakeSpeech(tmp_path / "speech", fail_on=("сорок два",))
    announcer, output = make(tmp_path, AnnouncementConfig(chime=chime), speech=speech)
    for n in ("П041", "П042", "П043"):
        announcer.announce(call(n, minute=int(n[1:]) - 40))
    assert announcer.wait_idle(WAIT)
    records = announcer.announced
    assert [r.outcome for r in records] == [SPOKEN, CHIME_ONLY, SPOKEN]
    assert "broken" in records[1].errors[0]
    assert records[1].phrases == ["chime"]  # the chime at least, even when not configured
    expected = ["chime", "phrase"] if chime else ["phrase"]
    assert heard(output) == expected + ["chime"] + expected
    announcer.stop()


def test_english_failing_alone_still_speaks_russian(tmp_path):
    speech = FakeSpeech(tmp_path / "speech", fail_on=("Ticket",))
    announcer, output = make(tmp_path, AnnouncementConfig(english=True), speech=speech)
    announcer.announce(call("П042"))
    assert announcer.wait_idle(WAIT)
    [record] = announcer.announced
    assert record.outcome == SPOKEN and record.phrases == ["chime", "Талон Пэ сорок два, окно пять"]
    assert record.errors and record.errors[0].startswith("en:")
    announcer.stop()


def test_a_failing_sound_output_loses_no_other_call(tmp_path):
    class Flaky(SimulatedOutput):
        def play(self, path):
            if len(self.played) == 2 and not getattr(self, "failed", False):
                self.failed = True
                raise AudioError("aplay could not play: device busy")
            super().play(path)

    announcer, output = make(tmp_path, output=Flaky())
    for n in ("Р001", "Р002", "Р003"):
        announcer.announce(call(n, minute=int(n[1:])))
    assert announcer.wait_idle(WAIT)
    assert [r.outcome for r in announcer.announced] == [SPOKEN, FAILED, SPOKEN]
    assert "device busy" in announcer.announced[1].errors[0]
    announcer.stop()


def test_stop_finishes_what_was_queued_and_refuses_more(tmp_path):
    announcer, output = make(tmp_path)
    for i in range(1, 4):
        announcer.announce(call(f"Т{i:03d}", minute=i))
    announcer.stop(timeout=WAIT)
    assert [r.outcome for r in announcer.announced] == [SPOKEN] * 3
    assert heard(output) == ["chime", "phrase"] * 3
    with pytest.raises(RuntimeError):
        announcer.announce(call("Т004"))


def test_a_malformed_call_is_refused_with_a_clear_error(tmp_path):
    announcer, _ = make(tmp_path)
    with pytest.raises(ValueError, match="ticket number"):
        announcer.announce({"number": "42", "window": "5", "at": f"{TEST_DAY}T07:00:00Z"})
    with pytest.raises(ValueError, match="'at'"):
        announcer.announce({"number": "П042", "window": "5"})
    announcer.stop()


def test_announcer_for_a_screens_device_file(tmp_path):
    path = tmp_path / "screen.toml"
    path.write_text("""\
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
timezone = "Asia/Yekaterinburg"

[device]
id = "screen-1"
role = "signage"

[announcements]
english = true
volume = 60
quiet_hours = ["22:00-07:30"]
""", encoding="utf-8")
    device = load_config(path)
    # 17:00 UTC is 22:00 in Yekaterinburg: quiet there, though not in Moscow.
    clock = ManualClock(at(17, tz=ZoneInfo("UTC")))
    output = SimulatedOutput()
    announcer = Announcer.for_device(device, output, FakeSpeech(tmp_path / "speech"), clock=clock,
                                     work_dir=tmp_path / "work")
    assert announcer.config.volume == 60 and announcer.config.english
    announcer.announce(call("Ф001"))
    assert announcer.wait_idle(WAIT)
    assert announcer.announced[0].outcome == QUIET
    announcer.stop()
    with pytest.raises(ValueError, match="not a waiting-area screen"):
        Announcer.for_device(replace(device, role="console", signage=None), output, FakeSpeech(tmp_path / "speech"))
