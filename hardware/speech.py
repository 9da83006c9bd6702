"""Offline speech: espeak-ng renders a phrase to a WAV file; nothing goes to the network.

A center's calls repeat all day ("Талон А один, окно пять" comes back every morning), so
rendered phrases are kept in a small cache by voice, speed and text. The cache is bounded
in files, and each file appears by an atomic rename, so a phrase being played is never a
half-written file.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import wave
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

# espeak-ng's default is 175 words a minute; older visitors in a noisy hall follow 130 better.
SLOW_WPM = 130
VOICES = {"ru": "ru", "en": "en"}
RENDER_TIMEOUT_S = 20.0
_PREFIX = "phrase-"


class SpeechError(RuntimeError):
    """A phrase that could not be rendered; the message says why."""


class EspeakSpeech:
    """Renders text with espeak-ng into `cache_dir` (a private temporary folder if None)."""

    def __init__(self, cache_dir: Path | None = None, *, binary: str = "espeak-ng", speed: int = SLOW_WPM,
                 cache_size: int = 200):
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.binary, self.speed, self.cache_size = binary, speed, cache_size
        self.cache_dir = Path(cache_dir) if cache_dir is not None else Path(tempfile.mkdtemp(prefix="mfc-speech-"))
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # Files left by an earlier run are not in the index, so they would never be evicted.
        for old in self.cache_dir.glob(_PREFIX + "*"):
            old.unlink(missing_ok=True)
        self._cache: OrderedDict[str, Path] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0  # how many times espeak-ng actually ran: tests check the cache works

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def render(self, text: str, voice: str = "ru") -> Path:
        """The phrase as a WAV file. The file stays valid until the cache evicts it, which
        takes `cache_size` other phrases; copy it if it must live longer."""
        if voice not in VOICES:
            raise SpeechError(f"voice {voice!r}: expected one of {', '.join(VOICES)}")
        text = " ".join(text.split())
        if not text:
            raise SpeechError("nothing to say: the phrase is empty")
        key = hashlib.sha256(f"{voice}\0{self.speed}\0{text}".encode()).hexdigest()[:24]
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.exists():
                self._cache.move_to_end(key)
                return cached
        path = self._run(text, voice, self.cache_dir / f"{_PREFIX}{key}.wav")
        with self._lock:
            self._cache[key] = path
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                _, evicted = self._cache.popitem(last=False)
                evicted.unlink(missing_ok=True)
        return path

    def _run(self, text: str, voice: str, path: Path) -> Path:
        if not self.available():
            raise SpeechError(f"{self.binary} not found: install the Debian package espeak-ng")
        fd, partial = tempfile.mkstemp(prefix=".partial-", suffix=".wav", dir=self.cache_dir)
        os.close(fd)
        # The text goes in on stdin as UTF-8 (-b 1): a service's locale may be C, and
        # nothing in a phrase can then be taken for an option.
        command = [self.binary, "-v", VOICES[voice], "-s", str(self.speed), "-b", "1", "--stdin", "-w", partial]
        try:
            try:
                done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                                      timeout=RENDER_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise SpeechError(f"{self.binary} took over {RENDER_TIMEOUT_S:.0f} s for {text!r}") from None
            if done.returncode != 0:
                # One log line per event: espeak-ng's own lines are joined.
                lines = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines()]
                reason = "; ".join(line for line in lines if line) or f"exit status {done.returncode}"
                raise SpeechError(f"{self.binary} -v {voice} failed for {text!r}: {reason}")
            try:
                with wave.open(partial, "rb") as w:
                    frames = w.getnframes()
            except (wave.Error, EOFError) as exc:
                raise SpeechError(f"{self.binary} wrote no usable WAV for {text!r}: {exc}") from None
            if frames == 0:
                raise SpeechError(f"{self.binary} wrote an empty WAV for {text!r}")
            os.replace(partial, path)
            self.renders += 1
            log.debug("speech: rendered %r (%s, %d frames)", text, voice, frames)
            return path
        finally:
            Path(partial).unlink(missing_ok=True)
