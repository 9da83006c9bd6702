"""Decoding what a slide shows, away from the screen's thread: pictures and QR codes, and
which decoder plays a video.

A picture is decoded with Pillow and scaled down to the zone it fills, so a 4K photo costs
no more memory than the screen can show. Anything that cannot be decoded raises
`AssetError` with a short reason code, which becomes the `slide.skipped` event's reason.

A video is H.264 decoded in hardware where the Pi has a decoder FFmpeg can drive (the Pi 4's
V4L2 memory-to-memory codec, `h264_v4l2m2m`) and in software otherwise: FFmpeg's own choice.
"""
from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import qrcode
from PIL import Image, UnidentifiedImageError

Image.MAX_IMAGE_PIXELS = 80_000_000  # a decompression bomb is refused, not decoded


class AssetError(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Picture:
    """RGBA pixels, top row first, ready to be copied into a texture."""

    size: tuple[int, int]
    rgba: bytes


def decode_picture(path: Path | None, fit: tuple[int, int], name: str = "") -> Picture:
    """`name` is the asset's name in the bundle, for messages (files are stored by hash)."""
    name = name or str(path)
    if path is None or not path.is_file():
        raise AssetError("missing", f"{name} is not in the content folder")
    try:
        with Image.open(path) as image:
            image.draft("RGB", fit)  # JPEG decodes at a smaller scale directly
            image.load()
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise AssetError("undecodable", f"{name}: {str(exc).replace(str(path), 'the file')}") from None
    picture.thumbnail(fit, Image.Resampling.LANCZOS)
    return Picture(picture.size, picture.tobytes())


def qr_picture(url: str, box: int = 12) -> Picture:
    """A QR code of `url`, black on white, with the quiet zone phones need to read it."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box, border=4)
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGBA")
    return Picture(image.size, image.tobytes())


HARDWARE_H264 = "h264_v4l2m2m"
# The Pi 4's H.264 decoder, as the kernel names its V4L2 device; a Pi 5 has none.
PI_H264_DEVICE = "bcm2835-codec-decode"
VIDEO4LINUX = Path("/sys/class/video4linux")
# ISO base media (MP4, MOV): the boxes on the way from the file to a track's sample descriptions.
_PATH_TO_STSD = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_H264_ENTRIES = {b"avc1", b"avc3"}


def video_decoder(path: Path, setting: str, video4linux: Path = VIDEO4LINUX) -> str | None:
    """The FFmpeg decoder to ask for by name for this video, or None for FFmpeg's own choice
    (its software decoder). Hardware only when the setting is "auto", the file is H.264 in an
    MP4 or MOV file (what `hub publish` tells editors to make), the Pi has the decoder and
    the player's FFmpeg was built with it."""
    if setting != "auto" or not is_h264_mp4(path):
        return None
    if not has_v4l2_device(PI_H264_DEVICE, video4linux) or HARDWARE_H264 not in ffmpeg_video_decoders():
        return None
    return HARDWARE_H264


def has_v4l2_device(name: str, video4linux: Path = VIDEO4LINUX) -> bool:
    try:
        return any((node / "name").read_text(encoding="utf-8", errors="replace").strip() == name
                   for node in video4linux.iterdir() if (node / "name").is_file())
    except OSError:
        return False


@functools.cache
def ffmpeg_video_decoders() -> frozenset[str]:
    """The video decoders of the FFmpeg inside ffpyplayer (the aarch64 wheel has h264_v4l2m2m)."""
    from ffpyplayer.tools import get_codecs

    return frozenset(get_codecs(decode=True, video=True))


def is_h264_mp4(path: Path) -> bool:
    """Whether an MP4 or MOV file has an H.264 track, read from its sample descriptions."""
    try:
        with path.open("rb") as file:
            return bool(_sample_entries(file, path.stat().st_size) & _H264_ENTRIES)
    except (OSError, struct.error):
        return False


def _sample_entries(file: BinaryIO, end: int, depth: int = 0) -> set[bytes]:
    """The four-letter format of the first sample description of every track below here."""
    found: set[bytes] = set()
    while file.tell() + 8 <= end and depth <= len(_PATH_TO_STSD):
        start = file.tell()
        size, kind = struct.unpack(">I4s", file.read(8))
        if size == 1:  # a 64-bit size follows
            size = struct.unpack(">Q", file.read(8))[0]
        elif size == 0:  # the box runs to the end
            size = end - start
        if size < 8 or start + size > end:
            break  # not a box: a truncated or foreign file
        if kind in _PATH_TO_STSD:
            found |= _sample_entries(file, start + size, depth + 1)
        elif kind == b"stsd":
            file.seek(8, 1)  # version, flags, entry count; then the entry's size and format
            found.add(file.read(8)[4:])
        file.seek(start + size)
    return found
