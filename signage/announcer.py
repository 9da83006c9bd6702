"""Announced calls: a chime and «Талон Пэ сорок два, окно пять», one call after another.

`Announcer.announce()` only queues; one worker thread renders and plays each call in the
order it came, chime → Russian → English (if configured), and a new call waits for the one
being spoken, so nobody hears half of their window. The kids' room screen (`kids=True`) only
chimes, softly and with a tune of its own: cartoons play there, and the strip at its foot
shows the parent who is called. Speech comes from espeak-ng on the
device: a screen cut off from the hub by a broken link still has its voice.

Nothing is dropped silently: every call ends up in `announced` with what happened to it
(spoken, quiet hours, disabled, chime only when speech failed, failed when even the sound
could not play), because the screen shows the call either way and a technician asks why
one was not heard. `NewCalls` turns the hub's repeated feed snapshots into the calls that
are new, so a call is announced once, a recall again, and a restart replays nothing.
"""
from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from hardware.audio import AudioOutput, prepare_wav, write_chime
from hardware.clock import SystemClock
from signage.config import AnnouncementConfig
from signage.phrases import check_call, english_phrase, russian_phrase

log = logging.getLogger(__name__)

# How many calls are remembered to refuse repeats; the feed holds the last 10.
REMEMBERED_CALLS = 1000
BACKLOG_WARNING = 10

SPOKEN, QUIET, DISABLED, CHIME_ONLY, FAILED = "spoken", "quiet", "disabled", "chime-only", "failed"
CHIMED = "chimed"  # the kids' room: the gentle chime, as meant, without words
# The kids' room's chime: three rising notes (C5, E5, G5), pure, at half the hall chime's
# loudness and dying away slowly, so it is heard over cartoons without startling a child.
GENTLE_CHIME: dict[str, Any] = {"notes": ((523.25, 0.0), (659.25, 0.3), (783.99, 0.6)),
                                "loudness": 0.4, "brightness": 0.0, "decay": 3.0}


class Speech(Protocol):
    def render(self, text: str, voice: str = "ru") -> Path: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


def call_key(call: dict) -> tuple[str, str, str]:
    """Same number, window and time is the same call; a recall has a time of its own."""
    return call["number"], call["window"], call["at"]


@dataclass
class Announcement:
    call: dict
    outcome: str = ""
    handled_at: datetime | None = None  # the center's local time when it was handled
    phrases: list[str] = field(default_factory=list)  # what was actually heard, in order
    errors: list[str] = field(default_factory=list)


class Announcer:
    def __init__(self, config: AnnouncementConfig, output: AudioOutput, speech: Speech, *,
                 timezone: ZoneInfo, clock: Clock | None = None, work_dir: Path | None = None,
                 kids: bool = False):
        self.config, self.output, self.speech, self.timezone = config, output, speech, timezone
        self.kids = kids
        self.clock = clock or SystemClock()
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="mfc-announce-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._chime = write_chime(self.work_dir / "chime.wav", **(GENTLE_CHIME if kids else {}))
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        # What happened to the latest calls, for tests, the demo and a technician's look.
        self._records: deque[Announcement] = deque(maxlen=REMEMBERED_CALLS)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._serial = 0
        self._thread: threading.Thread | None = None
        self._stopped = False

    @classmethod
    def for_device(cls, device: Any, output: AudioOutput, speech: Speech, **kw: Any) -> Announcer:
        """The announcer a screen's device file asks for (`[announcements]`, the center's time
        zone, the gentle chime alone for the kids' room)."""
        if device.signage is None:
            raise ValueError(f"{device.path}: not a waiting-area screen (role = {device.role!r})")
        return cls(device.signage.announcements, output, speech, timezone=device.timezone,
                   kids=device.signage.profile == "kids", **kw)

    def start(self) -> Announcer:
        with self._lock:  # two workers would talk over each other
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._work, name="announcer", daemon=True)
                self._thread.start()
        return self

    def announce(self, call: dict) -> bool:
        """Queue a call from the feed; returns at once. False for a call already announced."""
        call = check_call(call)
        key = call_key(call)
        with self._lock:
            if self._stopped:
                raise RuntimeError("the announcer has been stopped")
            if key in self._seen:
                return False
            self._seen[key] = None
            while len(self._seen) > REMEMBERED_CALLS:
                self._seen.popitem(last=False)
            self._pending += 1
            backlog = self._pending
        if backlog > BACKLOG_WARNING:
            log.warning("announcer: %d calls waiting to be announced", backlog)
        self._queue.put(call)
        self.start()
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued call has been handled; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop after the calls already queued (a sound is never cut off); then clean up."""
        with self._lock:
            self._stopped = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("announcer: still speaking after %s s; left to finish on its own", timeout)
                return
            self._thread = None
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    @property
    def announced(self) -> list[Announcement]:
        with self._lock:
            return list(self._records)

    def _work(self) -> None:
        while True:
            call = self._queue.get()
            if call is None:
                return
            record = Announcement(call)
            try:
                self._handle(record)
            except Exception as exc:  # the worker must outlive any one call
                record.outcome = record.outcome or FAILED
                record.errors.append(f"{type(exc).__name__}: {exc}")
                log.error("announcer: %s at window %s not heard: %s: %s", call["number"], call["window"],
                          type(exc).__name__, exc)
            with self._idle:
                self._records.append(record)
                self._pending -= 1
                self._idle.notify_all()

    def _handle(self, record: Announcement) -> None:
        call, config = record.call, self.config
        local = self.clock.now().astimezone(self.timezone)
        record.handled_at = local
        what = f"{call['number']} at window {call['window']}" + (" (recall)" if call["recall"] else "")
        if not config.enabled or config.volume == 0 or (self.kids and not config.chime):
            record.outcome = DISABLED
            log.info("announcer: %s shown, not announced (announcements off, volume 0, "
                     "or a kids' room without its chime)", what)
            return
        if config.quiet_at(local.time()):
            record.outcome = QUIET
            log.info("announcer: %s shown, not announced (quiet hours, %s)", what, local.strftime("%H:%M"))
            return
        if self.kids:
            self._play(self._chime)
            record.phrases.append("chime")
            record.outcome = CHIMED
            log.info("announcer: %s chimed (kids' room)", what)
            return
        # Rendered before the chime, so the phrase follows it without a pause.
        spoken: list[tuple[str, Path]] = []
        texts = [(russian_phrase(call["number"], call["window"]), "ru")]
        if config.english:
            texts.append((english_phrase(call["number"], call["window"]), "en"))
        for text, voice in texts:
            try:
                spoken.append((text, self.speech.render(text, voice)))
            except Exception as exc:
                record.errors.append(f"{voice}: {exc}")
                log.error("announcer: speech failed for %s (%s): %s", what, voice, exc)
        if config.chime or not spoken:  # with no voice at all, the chime is what is left
            self._play(self._chime)
            record.phrases.append("chime")
        for text, path in spoken:
            self._play(path)
            record.phrases.append(text)
        record.outcome = SPOKEN if spoken else CHIME_ONLY
        log.info("announcer: %s announced: %s", what, " / ".join(record.phrases))

    def _play(self, source: Path) -> None:
        with self._lock:
            self._serial += 1
            serial = self._serial
        ready = self.work_dir / f"play-{serial:06d}-{source.stem}.wav"
        try:
            self.output.play(prepare_wav(source, ready, self.config.volume))
        finally:
            ready.unlink(missing_ok=True)


class NewCalls:
    """The calls in a feed snapshot that were not in earlier ones, oldest first.

    The feed lists the latest calls newest first and repeats them on every poll. The first
    snapshot after start is only remembered: its calls were made before this screen came
    up (or before a restart) and have been announced already or are stale.
    """

    def __init__(self, remember: int = REMEMBERED_CALLS):
        self.remember = remember
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        self._primed = False

    def __call__(self, feed: dict | None) -> list[dict]:
        calls = feed.get("calls") if isinstance(feed, dict) else None
        if not isinstance(calls, list):
            # No feed (hub away) or a broken one: not a snapshot, so not the first one either.
            if feed is not None:
                log.warning("announcer: feed without a list of calls ignored")
            return []
        fresh = []
        for raw in reversed(calls):
            try:
                call = check_call(raw)
            except ValueError as exc:
                log.warning("announcer: feed call ignored: %s", exc)
                continue
            key = call_key(call)
            if key in self._seen:
                continue
            self._seen[key] = None
            if self._primed:
                fresh.append(call)
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        self._primed = True
        return fresh
