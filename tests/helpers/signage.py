"""Shared by the signage tests: screens configured in a folder, bundles installed as if synced."""
from __future__ import annotations

import io
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image

from offline_cache.content import ContentStore, save_bundle_key
from tests.helpers.bundles import make_bundle

SCREEN_CONFIG = """\
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
name_en = "Strogino public services center"
timezone = "Europe/Moscow"

[device]
id = "screen-1"
role = "signage"
data_dir = "data"

[signage]
profile = "{profile}"
orientation = "{orientation}"
ticker = "Бесплатный Wi-Fi: MFC-Free"
ticker_en = "Free Wi-Fi: MFC-Free"
{extra}
"""


def screen_config(folder: Path, profile: str = "waiting-area", orientation: str = "landscape",
                  extra: str = "", hub: str | None = None) -> Path:
    text = SCREEN_CONFIG.format(profile=profile, orientation=orientation, extra=extra)
    if hub:
        text += f'\n[hub]\nurl = "{hub}"\n'
    path = folder / "screen.toml"
    path.write_text(text, encoding="utf-8")
    return path


class LocalBundles:
    """Signs bundles and installs them in a screen's content folder, as a completed sync would."""

    def __init__(self, data_dir: Path):
        self.key = Ed25519PrivateKey.generate()
        public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        save_bundle_key(data_dir, public)
        self.store = ContentStore(data_dir / "content", 10 ** 9, public)
        self.version = 0

    def install(self, files: dict[str, bytes]) -> int:
        self.version += 1
        envelope, blobs = make_bundle(self.key, files, self.version, role="signage")
        for sha256, data in blobs.items():
            self.store.asset_path(sha256).write_bytes(data)
        self.store.swap_in(envelope)
        return self.version


def png(size: tuple[int, int] = (640, 360), colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def video(path: Path, seconds: float = 1.0, size: tuple[int, int] = (320, 180)) -> bytes:
    """A short H.264 MP4 made with ffpyplayer's encoder: no ffmpeg binary needed."""
    from ffpyplayer.pic import Image as Frame
    from ffpyplayer.writer import MediaWriter

    width, height = size
    writer = MediaWriter(str(path), [{"pix_fmt_in": "rgb24", "pix_fmt_out": "yuv420p", "width_in": width,
                                      "height_in": height, "codec": "libx264", "frame_rate": (25, 1)}])
    for index in range(int(seconds * 25)):
        shade = bytes([(index * 7) % 256, 90, 160]) * (width * height)
        writer.write_frame(Frame(plane_buffers=[shade], pix_fmt="rgb24", size=size), index / 25)
    writer.close()
    return path.read_bytes()
