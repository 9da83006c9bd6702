"""Audio output, volume, chime and espeak-ng speech, measured on the WAV files themselves."""
from __future__ import annotations

import array
import shutil
import threading
import wave
from pathlib import Path

import pytest

from hardware.audio import AplayOutput, AudioError, SimulatedOutput, prepare_wav, wav_duration, write_chime
from hardware.speech import EspeakSpeech, SpeechError
from tests.helpers.sound import sox_stat


def peak(path: Path) -> int:
    with wave.open(str(path), "rb") as w:
        return max(abs(s) for s in array.array("h", w.readframes(w.getnframes())))


def test_chime_is_a_short_audible_sound(tmp_path):
    chime = write_chime(tmp_path / "chime.wav")
    stat = sox_stat(chime)
    assert 0.5 < stat["Length (seconds)"] < 2.0
    assert stat["RMS     amplitude"] > 0.05
    assert stat["Maximum amplitude"] < 0.95  # headroom: no clipping on cheap speakers
    with wave.open(str(chime), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)


def test_espeak_renders_russian_and_english_speech(tmp_path):
    speech = EspeakSpeech(tmp_path / "cache")
    for text, voice in (("Талон Пэ сорок два, окно пять", "ru"), ("Ticket P forty-two, window five", "en")):
        stat = sox_stat(speech.render(text, voice))
        assert stat["Length (seconds)"] > 0.5, text
        assert stat["RMS     amplitude"] > 0.01, text  # not silence


def test_speech_is_slower_than_espeaks_default(tmp_path):
    text = "Талон Пэ сорок два, окно пять"
    slow = EspeakSpeech(tmp_path / "slow").render(text)
    usual = EspeakSpeech(tmp_path / "usual", speed=175).render(text)
    assert wav_duration(slow) > wav_duration(usual) * 1.1


def test_phrases_are_cached_by_text_and_voice_within_a_bound(tmp_path):
    speech = EspeakSpeech(tmp_path / "cache", cache_size=2)
    first = speech.render("Талон А один, окно пять")
    assert speech.render("Талон  А один, окно пять ") == first and speech.renders == 1
    speech.render("Talon A one", "en")
    speech.render("Талон А два, окно пять")
    assert speech.renders == 3
    assert len(list((tmp_path / "cache").glob("*.wav"))) == 2  # the oldest was evicted
    assert not first.exists()
    speech.render("Талон А один, окно пять")
    assert speech.renders == 4


def test_missing_or_failing_espeak_is_a_clear_error(tmp_path):
    with pytest.raises(SpeechError, match="espeak-ng-absent not found: install the Debian package espeak-ng"):
        EspeakSpeech(tmp_path / "a", binary="espeak-ng-absent").render("Талон А один")
    with pytest.raises(SpeechError, match="failed"):
        EspeakSpeech(tmp_path / "b", binary="false").render("Талон А один")
    with pytest.raises(SpeechError, match="voice"):
        EspeakSpeech(tmp_path / "c").render("Talon", "de")
    with pytest.raises(SpeechError, match="empty"):
        EspeakSpeech(tmp_path / "d").render("  ")


def test_volume_scales_the_amplitude(tmp_path):
    spoken = EspeakSpeech(tmp_path / "cache").render("Талон Пэ сорок два, окно пять")
    full = prepare_wav(spoken, tmp_path / "100.wav", 100)
    half = prepare_wav(spoken, tmp_path / "50.wav", 50)
    silent = prepare_wav(spoken, tmp_path / "0.wav", 0)
    full_rms, half_rms = sox_stat(full)["RMS     amplitude"], sox_stat(half)["RMS     amplitude"]
    assert half_rms == pytest.approx(full_rms / 2, rel=0.02)
    assert peak(half) == pytest.approx(peak(full) / 2, abs=1)
    assert peak(silent) == 0
    assert wav_duration(half) == wav_duration(full)
    with pytest.raises(ValueError):
        prepare_wav(spoken, tmp_path / "x.wav", 101)


def test_eight_bit_wav_is_scaled_around_its_midpoint(tmp_path):
    src = tmp_path / "u8.wav"
    with wave.open(str(src), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128, 228, 28, 128]))
    with wave.open(str(prepare_wav(src, tmp_path / "half.wav", 50)), "rb") as w:
        assert list(w.readframes(4)) == [128, 178, 78, 128]


def test_simulated_output_records_order_copies_and_overlaps(tmp_path):
    chime = write_chime(tmp_path / "chime.wav")
    out = SimulatedOutput(sleep=True, speed=25, keep_dir=tmp_path / "heard")
    out.play(chime)
    out.play(chime)
    assert [p.copy.name for p in out.played] == ["0001-chime.wav", "0002-chime.wav"]
    assert out.played[1].start >= out.played[0].end and out.overlaps == 0
    # Two callers at once, as an announcer must never do: the simulation notices.
    both = [threading.Thread(target=out.play, args=(chime,)) for _ in range(2)]
    for t in both:
        t.start()
    for t in both:
        t.join()
    assert out.overlaps == 1


def test_aplay_command_and_missing_binary(tmp_path):
    chime = write_chime(tmp_path / "chime.wav")
    assert AplayOutput().command(chime) == ["aplay", "-q", str(chime)]
    assert AplayOutput("plughw:1,0").command(chime) == ["aplay", "-q", "-D", "plughw:1,0", str(chime)]
    with pytest.raises(AudioError, match="aplay-absent not found: install the Debian package alsa-utils"):
        AplayOutput(binary="aplay-absent").play(chime)
    with pytest.raises(AudioError, match="could not play"):
        AplayOutput(binary="false").play(chime)


@pytest.mark.skipif(shutil.which("aplay") is None, reason="aplay (alsa-utils) is not installed")
def test_aplay_plays_to_alsas_null_device(tmp_path):
    AplayOutput("null").play(write_chime(tmp_path / "chime.wav"))  # no sound card needed
    with pytest.raises(AudioError, match="could not play"):
        AplayOutput("no-such-pcm").play(write_chime(tmp_path / "chime2.wav"))


def test_a_file_that_is_not_a_wav_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav at all")
    with pytest.raises(AudioError, match="not a"):
        prepare_wav(junk, tmp_path / "out.wav", 50)
    with pytest.raises(AudioError, match="not a playable WAV"):
        SimulatedOutput().play(junk)
    with pytest.raises(AudioError, match="not a playable WAV"):
        AplayOutput(binary="true").play(tmp_path / "missing.wav")
