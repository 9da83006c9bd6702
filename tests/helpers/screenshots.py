"""Screenshots as devices upload them, and the password of the operators who look at them."""
from __future__ import annotations

import io
import os

from PIL import Image

PASSWORD = "correct horse 42"


def make_png(width: int, height: int, noise: bool = False) -> bytes:
    image = (Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)) if noise
             else Image.new("RGB", (width, height), (10, 59, 133)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
