"""Small widgets and the colour theme the kiosk's .kv layouts are built from."""
from __future__ import annotations

import io

import qrcode
from kivy.core.image import Image as CoreImage
from kivy.event import EventDispatcher
from kivy.graphics.texture import Texture
from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.button import Button

# Normal: the center's blue and red on white. High contrast: yellow on black, which
# people with low vision read best; every pair is well above WCAG's 7:1.
PALETTES = {
    "normal": dict(bg=(1, 1, 1, 1), fg=(0.08, 0.1, 0.14, 1), header=(0.04, 0.23, 0.52, 1),
                   header_fg=(1, 1, 1, 1), tile=(0.9, 0.94, 0.99, 1), tile_fg=(0.02, 0.16, 0.4, 1),
                   accent=(0.74, 0.05, 0.16, 1), accent_fg=(1, 1, 1, 1), pressed=(0.66, 0.78, 0.95, 1),
                   border=(0.55, 0.64, 0.8, 1), muted=(0.36, 0.38, 0.44, 1),
                   warn=(1, 0.76, 0.03, 1), warn_fg=(0.1, 0.07, 0, 1)),
    "contrast": dict(bg=(0, 0, 0, 1), fg=(1, 1, 0, 1), header=(0, 0, 0, 1), header_fg=(1, 1, 0, 1),
                     tile=(0, 0, 0, 1), tile_fg=(1, 1, 0, 1), accent=(1, 1, 0, 1), accent_fg=(0, 0, 0, 1),
                     pressed=(1, 1, 1, 1), border=(1, 1, 0, 1), muted=(0.85, 0.85, 0.85, 1),
                     warn=(1, 1, 0, 1), warn_fg=(0, 0, 0, 1)),
}


class Theme(EventDispatcher):
    bg = ColorProperty()
    fg = ColorProperty()
    header = ColorProperty()
    header_fg = ColorProperty()
    tile = ColorProperty()
    tile_fg = ColorProperty()
    accent = ColorProperty()
    accent_fg = ColorProperty()
    pressed = ColorProperty()
    border = ColorProperty()
    muted = ColorProperty()
    warn = ColorProperty()  # urgent notices: amber, dark text
    warn_fg = ColorProperty()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.use("normal")

    def use(self, palette: str) -> None:
        for name, value in PALETTES[palette].items():
            setattr(self, name, value)


class KButton(Button):
    """A kiosk button. `tag` names it for the scripted demo and tests (`kiosk.robot`)."""

    tag = StringProperty("")


class TileButton(KButton):
    """A full-width kiosk button whose text wraps; at least `tile_units` high."""

    tile_units = NumericProperty(2.8)


def qr_texture(data: str) -> Texture:
    """A QR code as a texture, drawn crisp at any size (nearest-neighbour scaling)."""
    image = qrcode.make(data, border=2, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    texture = CoreImage(buffer, ext="png").texture
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    return texture
