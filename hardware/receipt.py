"""A printed slip as data, and its rendering to ESC/POS bytes through python-escpos.

A `Receipt` is a tuple of elements: text lines, QR codes, raster images, feeds and the
cut. The kiosk lays a ticket out as a Receipt; `render_escpos` turns it into the bytes a
printer gets, and `hardware.escpos_decode` turns bytes back into a Receipt, which is how
previews and tests see exactly what the printer was sent.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

from escpos.printer import Dummy

from hardware.escpos_profiles import (
    CHARS_PER_PAPER_MM,
    PIXELS_PER_PAPER_MM,
    cyrillic_code_page,
    supports_native_qr,
)

ALIGNMENTS = ("left", "center", "right")
# Typography that catalogs use and Cyrillic code pages lack.
_PLAIN = str.maketrans({"—": "-", "–": "-", "«": '"', "»": '"', "„": '"', "“": '"', "”": '"',
                        "’": "'", "…": "...", "\u00a0": " "})


@dataclass(frozen=True)
class Text:
    """One line (the renderer wraps longer text). width/height are 1–8 times normal size."""

    text: str
    width: int = 1
    height: int = 1
    bold: bool = False
    align: str = "left"


@dataclass(frozen=True)
class QRCode:
    data: str
    module: int = 6  # dots per QR module
    align: str = "center"


@dataclass(frozen=True)
class Raster:
    """A 1-bit image as a printer received it (GS v 0): rows packed 8 dots to a byte,
    most significant bit first. Only decoding makes these; layouts use QRCode."""

    width_bytes: int
    height: int
    bits: bytes
    align: str = "left"


@dataclass(frozen=True)
class Feed:
    lines: int


@dataclass(frozen=True)
class Cut:
    pass


Element = Text | QRCode | Raster | Feed | Cut
Receipt = tuple[Element, ...]


def wrap(receipt: Receipt, paper_width: int) -> Receipt:
    """Split text lines that would not fit the paper at their size."""
    chars = CHARS_PER_PAPER_MM[paper_width]
    out: list[Element] = []
    for element in receipt:
        if isinstance(element, Text) and len(element.text) * element.width > chars:
            for piece in textwrap.wrap(element.text, width=max(1, chars // element.width)):
                out.append(Text(piece, element.width, element.height, element.bold, element.align))
        else:
            out.append(element)
    return tuple(out)


def printable(text: str, encoding: str) -> str:
    """Text the code page can print: plain punctuation for typography, '?' for the rest."""
    text = text.translate(_PLAIN)
    return text.encode(encoding, errors="replace").decode(encoding)


def render_escpos(receipt: Receipt, profile: str = "default", paper_width: int = 80) -> bytes:
    """The ESC/POS bytes for a receipt, in text mode with the profile's Cyrillic code page.

    QR codes are native (`GS ( k`) where the profile supports them, a raster image
    otherwise.
    """
    printer = Dummy(profile=profile)
    # python-escpos centers raster images by the profile's paper width.
    printer.profile.profile_data.setdefault("media", {}).setdefault("width", {})["pixels"] = (
        PIXELS_PER_PAPER_MM[paper_width]
    )
    _, encoding = cyrillic_code_page(profile)
    native_qr = supports_native_qr(profile)
    printer.hw("INIT")
    printer.charcode(encoding.upper())
    for element in wrap(receipt, paper_width):
        if isinstance(element, Text):
            text = printable(element.text, encoding)
            if element.width == element.height == 1:
                printer.set(align=element.align, bold=element.bold, normal_textsize=True)
            else:
                printer.set(align=element.align, bold=element.bold, custom_size=True,
                            width=element.width, height=element.height)
            printer.text(text + "\n")
        elif isinstance(element, QRCode):
            printer.set(align=element.align, normal_textsize=True, bold=False)
            printer.qr(element.data, native=native_qr, size=element.module,
                       center=element.align == "center" and not native_qr)
        elif isinstance(element, Feed):
            printer.print_and_feed(element.lines)
        elif isinstance(element, Cut):
            printer.cut()
    return bytes(printer.output)
