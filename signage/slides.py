"""The slides of the main zone: one widget class per playlist item type.

A slide is made, then `prepare()`d while the slide before it is still on screen; only a
slide whose `ready` is True is ever shown, so there is no frame without content. A slide
that cannot be prepared sets `failure` to (reason, detail) and is skipped by the player.
Layouts are in slides.kv; what the drawn slides show comes from `SlideData`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.video import Video as CoreVideo
from kivy.core.video import video_ffpyplayer
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout

from mfc_edge.catalog import BUNDLED_CATALOG, Catalog, CatalogError, Consultation, load_catalog
from mfc_edge.load_summary import LoadSummary, hour_span
from mfc_edge.playlist import Item
from signage.media import AssetError, Picture, decode_picture, qr_picture, video_decoder
from signage.texts import tr

log = logging.getLogger(__name__)

VIDEO_LOAD_TIMEOUT_S = 8.0  # a video with no first frame by then is taken as undecodable
MAX_VIDEO_S = 3600.0  # a video that never reports its end still ends
# A bundle's own catalog, under the name the kiosk's bundle uses for it (kiosk/content.py).
CATALOG_ASSET = "catalog.toml"


@dataclass
class SlideData:
    """What drawn slides need, read when a slide is prepared."""

    center_name: str = ""
    load: LoadSummary | None = None
    ratings: dict[str, Any] | None = None
    now: Any = None  # the center's local time
    asset_path: Callable[[str], Path | None] = field(default=lambda name: None)


def texture_of(picture: Picture) -> Texture:
    texture = Texture.create(size=picture.size, colorfmt="rgba")
    texture.blit_buffer(picture.rgba, colorfmt="rgba", bufferfmt="ubyte")
    texture.flip_vertical()  # Pillow's rows run top down, OpenGL's bottom up
    return texture


class Slide(FloatLayout):
    item = ObjectProperty(None, allownone=True)
    data = ObjectProperty(None)
    ready = BooleanProperty(False)
    finished = BooleanProperty(False)  # for slides that end by themselves (videos)
    failure = ObjectProperty(None, allownone=True)  # (reason, detail)

    def __init__(self, item: Item | None, data: SlideData, **kwargs):
        super().__init__(item=item, data=data, **kwargs)  # before the layout rules, which read them

    @property
    def duration(self) -> float:
        return self.item.duration if self.item and self.item.duration else 10.0

    def prepare(self) -> None:
        self.ready = True

    def begin(self) -> None:
        """The slide is now on screen."""

    def release(self) -> None:
        """The slide left the screen (or was never shown): free what it holds."""

    def fail(self, reason: str, detail: str) -> None:
        self.failure = (reason, detail)


class TextureSlide(Slide):
    texture = ObjectProperty(None, allownone=True)

    def fitted(self, texture: Texture | None, size: tuple[float, float]) -> tuple[float, float]:
        """The texture's size scaled to fill `size` (the slide's) without distortion."""
        if texture is None or not texture.width or not texture.height:
            return 0.0, 0.0
        scale = min(size[0] / texture.width, size[1] / texture.height)
        return texture.width * scale, texture.height * scale


class PictureSlide(TextureSlide):
    """An image of the bundle, decoded on a worker thread."""

    fit = ListProperty([1920, 1080])

    def prepare(self) -> None:
        path, fit = self.data.asset_path(self.item.asset), tuple(int(v) for v in self.fit)
        threading.Thread(target=self._decode, args=(path, fit), name="picture", daemon=True).start()

    def _decode(self, path: Path | None, fit: tuple[int, int]) -> None:
        try:
            picture = decode_picture(path, fit, self.item.asset)
        except AssetError as exc:
            reason, detail = exc.reason, exc.detail
            Clock.schedule_once(lambda _dt: self.fail(reason, detail))
            return
        Clock.schedule_once(lambda _dt: self._show(picture))

    def _show(self, picture: Picture) -> None:
        self.texture = texture_of(picture)
        self.ready = True

    def release(self) -> None:
        self.texture = None


class NamedDecoderVideo(video_ffpyplayer.VideoFFPy):
    """Kivy's ffpyplayer video that asks FFmpeg for a decoder by name (ffpyplayer's `vcodec`).

    Kivy builds the player's options inside play() with no way to add one, so its provider's
    MediaPlayer is swapped for the length of that call, which always runs on the Kivy thread."""

    def __init__(self, decoder: str, **kwargs):
        self.decoder = decoder
        super().__init__(**kwargs)

    def play(self) -> None:
        original, decoder = video_ffpyplayer.MediaPlayer, self.decoder

        def with_decoder(*args: Any, ff_opts: dict[str, Any], **kwargs: Any) -> Any:
            return original(*args, ff_opts={**ff_opts, "vcodec": decoder}, **kwargs)

        video_ffpyplayer.MediaPlayer = with_decoder
        try:
            super().play()
        finally:
            video_ffpyplayer.MediaPlayer = original


class VideoSlide(TextureSlide):
    """A video of the bundle: loaded and paused on its first frame until its turn.

    H.264 is decoded in hardware where the Pi has a decoder (signage/media.py video_decoder);
    a video that shows no picture that way is tried once more in software."""

    def __init__(self, item: Item, data: SlideData, volume: float = 1.0, decoders: str = "auto", **kwargs):
        super().__init__(item, data, **kwargs)
        self.volume = volume if item.sound else 0.0
        self.decoders = decoders  # the [signage] video_decoder setting
        self.decoder: str | None = None  # what this video is decoded with; None: FFmpeg's software choice
        self.video: CoreVideo | None = None
        self._started = self._shown = 0.0

    @property
    def duration(self) -> float:
        return self.item.duration or MAX_VIDEO_S

    def prepare(self) -> None:
        path = self.data.asset_path(self.item.asset)
        if path is None or not path.is_file():
            self.fail("missing", f"{self.item.asset} is not in the content folder")
            return
        self._started = time.monotonic()
        self._open(path, video_decoder(path, self.decoders))

    def _open(self, path: Path, decoder: str | None) -> None:
        self.decoder = decoder
        self.video = CoreVideo(filename=str(path), eos="stop") if decoder is None else \
            NamedDecoderVideo(decoder, filename=str(path), eos="stop")
        self.video.bind(on_frame=self._on_frame, on_eos=self._on_eos)
        self.video.volume = 0
        self.video.play()
        Clock.schedule_once(self._check_loaded, VIDEO_LOAD_TIMEOUT_S)

    def _on_frame(self, *_: Any) -> None:
        if self.video is None:
            return
        self.texture = self.video.texture
        if not self.ready and not self._shown:
            self.video.pause()  # hold the first frame until the slide is shown
            self.ready = True

    def _check_loaded(self, _dt: float) -> None:
        if self.ready or self.video is None:
            return
        decoder, path = self.decoder, Path(self.video.filename)
        self.release()
        if decoder is not None:  # the hardware decoder may be busy with another video, or refuse the stream
            log.warning("%s: no picture from %s after %.0f s; decoding in software", self.item.asset, decoder,
                        VIDEO_LOAD_TIMEOUT_S)
            self._open(path, None)
            return
        self.fail("undecodable", f"{self.item.asset}: no picture after {VIDEO_LOAD_TIMEOUT_S:.0f} s")

    def _on_eos(self, *_: Any) -> None:
        if self._shown:
            self.finished = True

    def begin(self) -> None:
        self._shown = time.monotonic()
        if self.video is not None:
            self.video.volume = self.volume
            self.video.play()

    def release(self) -> None:
        Clock.unschedule(self._check_loaded)
        if self.video is not None:
            video, self.video = self.video, None
            video.unbind(on_frame=self._on_frame, on_eos=self._on_eos)
            video.unload()
        self.texture = None


class TextSlide(Slide):
    pass


class QrSlide(Slide):
    texture = ObjectProperty(None, allownone=True)

    def prepare(self) -> None:
        self.texture = texture_of(qr_picture(self.item.url))
        self.ready = True


@lru_cache(maxsize=4)
def _catalog(path: Path) -> Catalog:
    """Read once: a bundle's files are stored by their hash, so one path is one content."""
    return load_catalog(path)


def find_consultation(consultation_id: str, asset_path: Callable[[str], Path | None]) -> Consultation:
    """The catalog's video consultation: the catalog of the bundle being played when it has one
    (a center's own, as on its kiosks), else the built-in catalog. AssetError when the catalog
    cannot be read or has no such consultation."""
    path = asset_path(CATALOG_ASSET)
    source = f"the bundle's {CATALOG_ASSET}" if path else "the built-in catalog"
    try:
        catalog = _catalog(path or BUNDLED_CATALOG)
    except CatalogError as exc:
        raise AssetError("bad-catalog", str(exc).replace(str(path), source)) from None  # stored by hash
    found = next((c for c in catalog.consultations if c.id == consultation_id), None)
    if found is None:
        known = ", ".join(c.id for c in catalog.consultations) or "none"
        raise AssetError("unknown-consultation", f"no video consultation {consultation_id!r} in {source} "
                                                 f"(it has {known})")
    return found


class ConsultationSlide(Slide):
    """A video consultation of the catalog: the agency, its topics, when specialists are on
    line, and a large QR code of its page for the visitor's phone. Looked up and drawn on a
    worker thread; an id the catalog does not have is skipped, never shown blank."""

    consultation = ObjectProperty(None, allownone=True)
    texture = ObjectProperty(None, allownone=True)
    hours_ru = StringProperty("")
    hours_en = StringProperty("")

    def prepare(self) -> None:
        threading.Thread(target=self._look_up, args=(self.item.consultation, self.data.asset_path),
                         name="consultation", daemon=True).start()

    def _look_up(self, consultation_id: str, asset_path: Callable[[str], Path | None]) -> None:
        try:
            found = find_consultation(consultation_id, asset_path)
        except AssetError as exc:
            reason, detail = exc.reason, exc.detail
            Clock.schedule_once(lambda _dt: self.fail(reason, detail))
            return
        code = qr_picture(found.url)
        Clock.schedule_once(lambda _dt: self._show(found, code))

    def _show(self, found: Consultation, code: Picture) -> None:
        self.hours_ru = ", ".join(found.hours.describe(lambda m: tr(m, "ru")))
        self.hours_en = ", ".join(found.hours.describe(lambda m: tr(m, "en")))
        self.texture, self.consultation = texture_of(code), found
        self.ready = True

    def release(self) -> None:
        self.texture = None


class RulesSlide(Slide):
    """The eight rules of the Moscow public-service standard."""


class FallbackSlide(Slide):
    """What a screen shows with nothing to play: the center's name, the time, the standard."""


class LoadChartSlide(Slide):
    summary = ObjectProperty(None, allownone=True)

    @staticmethod
    def quietest_text(summary: LoadSummary | None, weekday: int) -> str:
        day = summary.day(weekday) if summary else None
        if not day or not day.quietest:
            return ""
        spans = ", ".join(hour_span(h) for h in sorted(day.quietest))
        return f"{tr('Best time to come today')}: {spans} · {tr('Best time to come today', 'en')}"

    @staticmethod
    def busiest_text(summary: LoadSummary | None, weekday: int) -> str:
        day = summary.day(weekday) if summary else None
        if not day or day.busiest is None:
            return ""
        span = hour_span(day.busiest)
        return f"{tr('Busiest today')}: {span} · {tr('Busiest today', 'en')}: {span}"

    def prepare(self) -> None:
        if self.data.load is None:
            self.fail("no-data", "no load statistics from the hub yet")
            return
        self.summary = self.data.load
        self.ready = True


class SatisfactionSlide(Slide):
    happy_percent = StringProperty("")
    count = StringProperty("")

    def prepare(self) -> None:
        total = (self.data.ratings or {}).get("total") or {}
        if not total.get("count"):
            self.fail("no-data", "no ratings today yet")
            return
        self.count = str(total["count"])
        self.happy_percent = f"{round(100 * total['happy'] / total['count'])}%"
        self.ready = True


SLIDE_TYPES: dict[str, type[Slide]] = {
    "image": PictureSlide, "video": VideoSlide, "text": TextSlide, "qr": QrSlide, "consultation": ConsultationSlide,
    "rules": RulesSlide, "load-chart": LoadChartSlide, "satisfaction": SatisfactionSlide,
}


def make_slide(item: Item | None, data: SlideData, fit: tuple[int, int], video_volume: float = 1.0,
               video_decoders: str = "auto") -> Slide:
    """The slide for `item`; None makes the built-in fallback."""
    if item is None:
        return FallbackSlide(None, data)
    kind = SLIDE_TYPES[item.type]
    if kind is VideoSlide:
        return VideoSlide(item, data, video_volume, video_decoders)
    slide = kind(item, data)
    if isinstance(slide, PictureSlide):
        slide.fit = list(fit)
    return slide
