"""Draw a Receipt as the paper would look: a PNG at the printer's 203 dpi dot grid."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps

from hardware.escpos_profiles import PIXELS_PER_PAPER_MM
from hardware.receipt import Cut, Feed, QRCode, Raster, Receipt, Text

CELL_W, CELL_H = 12, 24  # font A on Epson-style printers
MARGIN = 16
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


@lru_cache(maxsize=16)
def _font(bold: bool, scale: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for folder in _FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), 20 * scale)
    return ImageFont.load_default(size=20 * scale)


def _place(paper: int, width: int, align: str) -> int:
    if align == "center":
        return max(0, (paper - width) // 2)
    if align == "right":
        return max(0, paper - width)
    return 0


def _text_image(line: Text) -> Image.Image:
    # Drawn at the larger of the two scales, then fitted to the printer's cell grid.
    scale = max(line.width, line.height)
    base = Image.new("L", (max(1, len(line.text)) * CELL_W * scale, CELL_H * scale), 255)
    ImageDraw.Draw(base).text((0, 2 * scale), line.text, font=_font(line.bold, scale), fill=0)
    size = (max(1, len(line.text)) * CELL_W * line.width, CELL_H * line.height)
    return base.resize(size, Image.LANCZOS) if base.size != size else base


def _qr_image(code: QRCode) -> Image.Image:
    qr = qrcode.QRCode(border=0, box_size=code.module, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(code.data)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("L")


def _raster_image(raster: Raster) -> Image.Image:
    packed = Image.frombytes("1", (raster.width_bytes * 8, raster.height), raster.bits)
    return ImageOps.invert(packed.convert("L"))  # ESC/POS: a set bit is a black dot


def render_preview(receipt: Receipt, paper_width: int = 80) -> Image.Image:
    """The receipt drawn on white paper, a dashed line where the cutter cuts."""
    paper = PIXELS_PER_PAPER_MM[paper_width]
    blocks: list[tuple[Image.Image | None, str]] = []
    for element in receipt:
        if isinstance(element, Text):
            blocks.append((_text_image(element), element.align))
        elif isinstance(element, QRCode):
            blocks.append((_qr_image(element), element.align))
        elif isinstance(element, Raster):
            blocks.append((_raster_image(element), element.align))
        elif isinstance(element, Feed):
            blocks.append((Image.new("L", (1, CELL_H * element.lines), 255), "left"))
        elif isinstance(element, Cut):
            blocks.append((None, "cut"))
    height = sum(8 if img is None else img.height for img, _ in blocks) + 2 * MARGIN
    page = Image.new("L", (paper + 2 * MARGIN, height), 255)
    draw = ImageDraw.Draw(page)
    y = MARGIN
    for img, align in blocks:
        if img is None:
            for x in range(0, page.width, 12):
                draw.line((x, y + 4, x + 6, y + 4), fill=128)
            y += 8
            continue
        page.paste(img.crop((0, 0, min(img.width, paper), img.height)),
                   (MARGIN + _place(paper, img.width, align), y))
        y += img.height
    return page
