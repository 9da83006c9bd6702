"""The main zone's rotation: the next slide is prepared while the current one plays.

Rules that keep a screen from ever going blank:
- a slide goes on screen only once it is ready, laid over the one before, which leaves
  only when the newcomer has fully faded in;
- the current slide stays up past its time while the next is still loading;
- a slide that fails to prepare is skipped (and reported once per bundle) and the item
  after it is tried; when every scheduled item fails, or nothing is scheduled, the
  built-in fallback slide is shown.
A newer bundle is taken at the next slide change: what is prepared from the old one is dropped.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from kivy.animation import Animation
from kivy.uix.widget import Widget

from mfc_edge import protocol
from mfc_edge.playlist import Item, Playlist
from signage.slides import FallbackSlide, Slide, SlideData, make_slide

log = logging.getLogger(__name__)

FADE_S = 0.4
RETRY_S = 30.0  # how long the fallback stays before failed items are tried again


class PlaylistSource(Protocol):
    def current(self) -> tuple[Playlist | None, int | None]:
        """The screen's playlist and the version of the bundle it came from (None, None: no bundle)."""

    def asset_path(self, name: str) -> Path | None: ...


class Player:
    def __init__(self, zone: Widget, source: PlaylistSource, *, data: Callable[[], SlideData],
                 local_now: Callable[[], datetime], utc_now: Callable[[], datetime],
                 report: Callable[[str, dict[str, Any]], Any], video_volume: float = 1.0,
                 video_decoders: str = "auto"):
        self.zone, self.source, self.data = zone, source, data
        self.local_now, self.utc_now, self.report = local_now, utc_now, report
        self.video_volume = video_volume
        self.video_decoders = video_decoders  # [signage] video_decoder
        self.current: Slide | None = None
        self.next: Slide | None = None
        self.version: int | None = -1  # no playlist read yet
        self.playlist: Playlist | None = None
        self._last_item: Item | None = None
        self._failures_in_a_row = 0
        self._shown_at = 0.0
        self._started_at: datetime | None = None
        self._reported_skips: set[tuple[int | None, int, str]] = set()
        self.on_change: Callable[[Slide], None] = lambda slide: None

    def tick(self, _dt: float = 0.0) -> None:
        playlist, version = self.source.current()
        if version != self.version:
            self.version, self.playlist = version, playlist
            self._drop_next()
            self._last_item, self._failures_in_a_row = None, 0
        if self.next is not None and self.next.failure:
            self._skip(self.next)
            self.next = None
        if self.next is None:
            self.next = self._prepare_next()
        if self.next is not None and self.next.ready and self._current_done():
            self._swap()

    def stop(self) -> None:
        self._drop_next()
        if self.current is not None:
            self._report_played(self.current)
            self.current.release()
            self.current = None

    # --- choosing ---------------------------------------------------------------

    def _prepare_next(self) -> Slide | None:
        scheduled = self.playlist.scheduled(self.local_now()) if self.playlist else []
        exhausted = self._failures_in_a_row >= len(scheduled)
        on_fallback = isinstance(self.current, FallbackSlide)
        if scheduled and exhausted and on_fallback and time.monotonic() - self._shown_at >= RETRY_S:
            self._failures_in_a_row, exhausted = 0, False
        if not scheduled or exhausted:
            if on_fallback:
                return None  # the fallback stays up until there is something to play
            item = None
        else:
            item = self.playlist.next_after(self._last_item, self.local_now())
            self._last_item = item
        slide = make_slide(item, self._slide_data(), self._fit(), self.video_volume, self.video_decoders)
        slide.prepare()
        return slide

    def _slide_data(self) -> SlideData:
        data = self.data()
        data.asset_path = self.source.asset_path
        return data

    def _fit(self) -> tuple[int, int]:
        return max(int(self.zone.width), 1), max(int(self.zone.height), 1)

    def _current_done(self) -> bool:
        slide = self.current
        if slide is None or slide.finished:
            return True
        if isinstance(slide, FallbackSlide):
            return self.next is not None and not isinstance(self.next, FallbackSlide)
        return time.monotonic() - self._shown_at >= slide.duration

    # --- showing ----------------------------------------------------------------

    def _swap(self) -> None:
        incoming, outgoing = self.next, self.current
        self.next = None
        if incoming.item is not None:
            self._failures_in_a_row = 0
        if outgoing is not None:
            self._report_played(outgoing)
        incoming.opacity = 0 if outgoing is not None else 1
        self.zone.add_widget(incoming)
        incoming.begin()
        self.current, self._shown_at, self._started_at = incoming, time.monotonic(), self.utc_now()
        if outgoing is not None:
            fade = Animation(opacity=1, duration=FADE_S)
            fade.bind(on_complete=lambda *_: self._remove(outgoing))
            fade.start(incoming)
        self.on_change(incoming)

    def _remove(self, slide: Slide) -> None:
        self.zone.remove_widget(slide)
        slide.release()

    def _drop_next(self) -> None:
        if self.next is not None:
            self.next.release()
            self.next = None

    # --- reporting --------------------------------------------------------------

    def _body(self, slide: Slide) -> dict[str, Any]:
        item = slide.item
        return {"item": item.index if item else -1, "kind": item.type if item else "fallback",
                "asset": item.asset if item else None, "bundle": self.version if item else None}

    def _report_played(self, slide: Slide) -> None:
        if self._started_at is None:
            return
        seconds = time.monotonic() - self._shown_at
        self.report(protocol.SLIDE_PLAYED, {**self._body(slide), "started_at": self._started_at.isoformat(),
                                            "duration_s": round(seconds, 3)})

    def _skip(self, slide: Slide) -> None:
        reason, detail = slide.failure
        self._failures_in_a_row += 1
        slide.release()
        key = (self.version, slide.item.index if slide.item else -1, reason)
        log.warning("slide %s skipped: %s: %s", key[1], reason, detail)
        if key not in self._reported_skips:
            self._reported_skips.add(key)
            self.report(protocol.SLIDE_SKIPPED, {**self._body(slide), "reason": reason, "detail": detail[:1000]})
