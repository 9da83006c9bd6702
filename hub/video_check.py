"""Whether the waiting-area screens can play a bundle's videos smoothly, checked before publishing.

A screen is a Raspberry Pi 4 or 5 playing through Kivy's ffpyplayer provider, whose bundled FFmpeg
decides what is decoded in hardware:

- Pi 4: H.264 in hardware (V4L2 M2M, `h264_v4l2m2m`) up to 1080p60, 8-bit 4:2:0 only (no High 10).
- Pi 5: no H.264 decoder block; its Cortex-A76 cores decode H.264 1080p30 in software.
- HEVC: both Pis have a hardware decoder, but a stateless one that FFmpeg reaches only through the
  V4L2 request API of Raspberry Pi's own FFmpeg fork (jc-kynesim/rpi-ffmpeg; its author: the
  stateful `hevc_v4l2m2m` "doesn't work and is never going to"). Upstream FFmpeg, and so
  ffpyplayer's wheel, has no such path yet: on the screens HEVC is decoded in software, which we
  take as smooth up to 720p30 only.
- VP9 and AV1: software only on both, up to 720p30.
- Anything larger than 1080p (4K) no screen plays smoothly, whatever the codec.

A video that no target screen plays smoothly is refused; one that only some play gets a warning.
Either message names the file, says what it is and gives the ffmpeg command that converts it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

MODELS = {"pi4": "Pi 4", "pi5": "Pi 5"}
# Profiles the Pi 4's H.264 block decodes (8-bit 4:2:0); others are High 10, 4:2:2, 4:4:4.
H264_PROFILES = frozenset({"Baseline", "Constrained Baseline", "Main", "High"})
FPS_SLACK = 0.5  # 29.97 and 59.94 fps count as 30 and 60


@dataclass(frozen=True)
class Decoder:
    """What one Pi model decodes smoothly of one codec."""

    how: str  # "hardware" or "software"
    size: tuple[int, int]  # the long side and the short side, so portrait videos fit too
    fps: float
    profiles: frozenset[str] | None = None  # None: any profile of the codec
    max_bits: int = 8


_SOFTWARE_720P = Decoder("software", (1280, 720), 30)
SCREENS: dict[str, dict[str, Decoder]] = {
    "pi4": {"h264": Decoder("hardware", (1920, 1080), 60, H264_PROFILES),
            "hevc": _SOFTWARE_720P, "vp9": _SOFTWARE_720P, "av1": _SOFTWARE_720P},
    "pi5": {"h264": Decoder("software", (1920, 1080), 30, H264_PROFILES),
            "hevc": _SOFTWARE_720P, "vp9": _SOFTWARE_720P, "av1": _SOFTWARE_720P},
}
CODEC_NAMES = {"h264": "H.264", "hevc": "HEVC", "vp9": "VP9", "av1": "AV1"}


class UnplayableVideo(ValueError):
    """A video no target screen plays smoothly, or a file that is not a video at all."""


@dataclass(frozen=True)
class VideoInfo:
    codec: str  # FFmpeg's name: h264, hevc, vp9, av1, mpeg4...
    profile: str | None
    width: int
    height: int
    fps: Fraction
    bits: int

    def describe(self) -> str:
        codec = CODEC_NAMES.get(self.codec, self.codec)
        profile = f" {self.profile}" if self.profile else ""
        return f"{codec}{profile} {self.width}x{self.height} at {float(self.fps):g} fps, {self.bits}-bit"


def parse_screens(text: str) -> tuple[str, ...]:
    """`pi4,pi5` -> ("pi4", "pi5"); ValueError naming what is allowed."""
    models = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    if not models or any(model not in SCREENS for model in models):
        raise ValueError(f"screens {text!r}: one or more of " + ", ".join(SCREENS) + " separated by commas")
    return models


def probe(path: Path, name: str) -> VideoInfo:
    """The first video stream's facts, read with PyAV, after decoding one frame (a truncated or
    damaged file is caught here, not on the screens)."""
    import av  # the hub's extra: loaded only when a bundle has videos

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UnplayableVideo(f"{name}: has no video stream; a playlist's video needs one")
            stream = container.streams.video[0]
            next(container.decode(stream))
            context = stream.codec_context
            rate = stream.average_rate or stream.guessed_rate or Fraction(0)
            components = context.format.components if context.format else ()
            bits = max((component.bits for component in components), default=8)
            return VideoInfo(context.name, context.profile, context.width, context.height, Fraction(rate), bits)
    except (av.FFmpegError, StopIteration, UnicodeDecodeError) as exc:
        detail = str(exc).replace(str(path), "the file") if str(exc) else "no frame could be decoded"
        raise UnplayableVideo(f"{name}: not a video the screens can read ({detail})") from None


def why_not_smooth(video: VideoInfo, model: str) -> str | None:
    """None when this model plays the video smoothly, else the reason, short."""
    decoder = SCREENS[model].get(video.codec)
    if decoder is None:
        return "plays " + ", ".join(CODEC_NAMES.values()) + " only"
    if decoder.profiles is not None and video.profile not in decoder.profiles:
        return f"decodes {CODEC_NAMES[video.codec]} profiles " + ", ".join(sorted(decoder.profiles)) + " only"
    if video.bits > decoder.max_bits:
        return f"decodes {decoder.max_bits}-bit {CODEC_NAMES[video.codec]} only"
    long_side, short_side = max(video.width, video.height), min(video.width, video.height)
    if long_side > decoder.size[0] or short_side > decoder.size[1] or float(video.fps) > decoder.fps + FPS_SLACK:
        return (f"decodes {CODEC_NAMES[video.codec]} in {decoder.how} up to "
                f"{decoder.size[0]}x{decoder.size[1]} at {decoder.fps:g} fps")
    return None


def conversion(name: str, video: VideoInfo, models: Sequence[str]) -> str:
    """The ffmpeg command that makes a video every target model plays: H.264 High, 8-bit,
    no larger than 1080p, at no more frames per second than the slowest target decodes."""
    fps = min(SCREENS[model]["h264"].fps for model in models)
    steps = []
    if max(video.width, video.height) > 1920 or min(video.width, video.height) > 1080:
        steps.append(f"-vf scale={'1920:-2' if video.width >= video.height else '-2:1920'}")
    if float(video.fps) > fps + FPS_SLACK or not video.fps:
        steps.append(f"-r {fps:g}")
    target = Path(name).with_suffix(".mp4").name
    return " ".join(["ffmpeg -i", Path(name).name, "-c:v libx264 -profile:v high -pix_fmt yuv420p", *steps,
                     "-c:a aac", "converted-" + target])


def judge(name: str, video: VideoInfo, models: Sequence[str]) -> str | None:
    """A warning when some target models cannot play the video smoothly; UnplayableVideo when none can."""
    reasons = {model: why_not_smooth(video, model) for model in models}
    failing = {model: reason for model, reason in reasons.items() if reason}
    if not failing:
        return None
    said = "; ".join(f"{MODELS[model]} {reason}" for model, reason in failing.items())
    fix = f"convert it: {conversion(name, video, models)}"
    if len(failing) == len(models):
        raise UnplayableVideo(f"{name}: {video.describe()}: no target screen plays it smoothly ({said}); {fix}")
    playing = ", ".join(MODELS[model] for model in models if model not in failing)
    return f"{name}: {video.describe()}: plays smoothly on {playing} screens only ({said}); to play everywhere {fix}"


def check_videos(folder: Path, names: Iterable[str], models: Sequence[str]) -> list[str]:
    """Warnings for the videos `names` (asset names in `folder`) on the target models, in name
    order; raises UnplayableVideo for the first video no target model plays smoothly."""
    warnings = []
    for name in sorted(set(names)):
        warning = judge(name, probe(folder / name, name), models)
        if warning:
            warnings.append(warning)
    return warnings
