"""Decoding what a slide shows, away from the screen's thread: pictures and QR codes.

A picture is decoded with Pillow and scaled down to the zone it fills, so a 4K photo costs
no more memory than the screen can show. Anything that cannot be decoded raises
`AssetError` with a short reason code, which becomes the `slide.skipped` event's reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
