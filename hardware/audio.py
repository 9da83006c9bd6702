"""Sound out of a waiting-area screen's speakers: WAV files, played one at a time.

Like the buttons over a pin factory, the announcer talks to a small output with two
backends: `AplayOutput` plays through ALSA's `aplay` and returns only when the sound has
finished, and `SimulatedOutput` (tests, the headless demo) records what would have been
heard, when, and whether two sounds were ever played at once.

Volume is not the backend's business: `prepare_wav` scales the samples into the copy that
is played, so a screen sounds the same through `aplay`, PulseAudio or a test, and no mixer
control has to exist on the device. The chime is made here too, so no binary asset ships.
"""
from __future__ import annotations

import array
import logging
import math
import shutil
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

RATE = 22050  # espeak-ng's own rate: a chime at the same rate plays without a resampling click
# Beyond the sound's own length: how long aplay may take to open the device and drain.
APLAY_GRACE_S = 15.0


class AudioError(RuntimeError):
    """A sound that could not be played; the message says why."""


class AudioOutput(Protocol):
    def play(self, path: Path) -> None:
        """Play a WAV file and return when it has finished."""


def wav_duration(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / w.getframerate()
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioError(f"{path}: not a playable WAV file: {exc}") from None


_TYPECODES = {1: "B", 2: "h", 4: "i"}


def prepare_wav(src: Path, dst: Path, volume: int) -> Path:
    """Copy `src` to `dst` with every sample scaled to `volume` percent (linear amplitude)."""
    if not 0 <= volume <= 100:
        raise ValueError(f"volume {volume}: expected a whole percent from 0 to 100")
    try:
        with wave.open(str(src), "rb") as w:
            params = w.getparams()
            frames = w.readframes(params.nframes)
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioError(f"{src}: not a usable WAV file: {exc}") from None
    code = _TYPECODES.get(params.sampwidth)
    if code is None or array.array(code).itemsize != params.sampwidth:
        raise AudioError(f"{src}: {8 * params.sampwidth}-bit samples are not supported")
    samples = array.array(code, frames)
    if volume != 100:
        factor = volume / 100
        if code == "B":  # 8-bit WAV is unsigned around 128
            samples = array.array(code, (128 + round((s - 128) * factor) for s in samples))
        else:
            big_endian = sys.byteorder == "big"
            if big_endian:  # WAV is little-endian; array works in the machine's order
                samples.byteswap()
            samples = array.array(code, (round(s * factor) for s in samples))
            if big_endian:
                samples.byteswap()
    with wave.open(str(dst), "wb") as out:
        out.setparams(params)
        out.writeframes(samples.tobytes())
    return dst


DING_DONG = ((659.25, 0.0), (523.25, 0.45))  # the hall's chime: E5 then C5, (frequency Hz, start s)


def write_chime(path: Path, rate: int = RATE, *, notes: tuple[tuple[float, float], ...] = DING_DONG,
                loudness: float = 0.8, brightness: float = 0.25, decay: float = 4.0) -> Path:
    """A soft two-note "ding-dong" (E5 then C5), about 1.2 s, 16-bit mono at `loudness` of
    full scale: the volume is applied later, like for speech. Other `notes`, a lower
    `loudness`, less `brightness` (the octave's share) and a slower `decay` make other chimes."""
    length = int(rate * (max(start for _, start in notes) + 0.8))
    mix = [0.0] * length
    for freq, start in notes:
        first = int(start * rate)
        for i in range(length - first):
            t = i / rate
            # A fast attack (no click) and an exponential decay make it sound struck, like a bell;
            # the quiet octave adds the bell's brightness without sharpness.
            envelope = min(1.0, t / 0.01) * math.exp(-t * decay)
            wave_ = math.sin(2 * math.pi * freq * t) + brightness * math.sin(4 * math.pi * freq * t)
            mix[first + i] += envelope * wave_
    peak = max(abs(v) for v in mix) or 1.0
    fade = int(rate * 0.05)  # the last samples go to zero so the end does not click
    samples = array.array("h", (
        round(loudness * 32767 * v / peak * min(1.0, (length - i) / fade)) for i, v in enumerate(mix)))
    if sys.byteorder == "big":
        samples.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


class AplayOutput:
    """ALSA's `aplay`, blocking until the sound has played. `device` is an ALSA PCM name
    (`default`, `plughw:1,0`, `null` for tests); None leaves aplay its default."""

    def __init__(self, device: str | None = None, binary: str = "aplay"):
        self.device, self.binary = device, binary
        # Two callers must not talk over each other: the second waits for the first to end.
        self._lock = threading.Lock()

    def command(self, path: Path) -> list[str]:
        return [self.binary, "-q", *(("-D", self.device) if self.device else ()), str(path)]

    def play(self, path: Path) -> None:
        if shutil.which(self.binary) is None:
            raise AudioError(f"{self.binary} not found: install the Debian package alsa-utils")
        timeout = wav_duration(path) + APLAY_GRACE_S
        with self._lock:
            try:
                done = subprocess.run(self.command(path), capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise AudioError(f"{self.binary} did not finish {path.name} within {timeout:.0f} s") from None
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise AudioError(f"{self.binary} could not play {path.name}: {reason}")


@dataclass(frozen=True)
class Played:
    path: Path  # the file as given
    copy: Path | None  # a copy kept for inspection (the original may be temporary)
    start: float
    end: float
    duration: float  # the sound's own length, from its header


class SimulatedOutput:
    """Plays nothing; records each sound with its start and end on `clock`. With `sleep`,
    it takes the sound's real length divided by `speed`, so a caller that plays two
    sounds at once shows up as overlapping intervals and in `overlaps`."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep: bool = False,
                 speed: float = 1.0, keep_dir: Path | None = None):
        self.clock, self.sleep, self.speed, self.keep_dir = clock, sleep, speed, keep_dir
        self.played: list[Played] = []
        self.overlaps = 0
        self._lock = threading.Lock()
        self._playing = 0

    def play(self, path: Path) -> None:
        duration = wav_duration(path)  # also refuses what is not a WAV file, as aplay would
        with self._lock:
            self._playing += 1
            if self._playing > 1:
                self.overlaps += 1
                log.warning("simulated audio: %s started while another sound was playing", path.name)
            copy = None
            if self.keep_dir is not None:
                self.keep_dir.mkdir(parents=True, exist_ok=True)
                copy = self.keep_dir / f"{len(self.played) + 1:04d}-{path.name}"
        try:
            if copy is not None:
                shutil.copyfile(path, copy)
            start = self.clock()
            if self.sleep:
                time.sleep(duration / self.speed)
            end = self.clock()
        finally:
            with self._lock:
                self._playing -= 1
        with self._lock:
            self.played.append(Played(path, copy, start, end, duration))
