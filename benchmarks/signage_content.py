"""A screen's content for the screen benchmarks: generated 1080p pictures and videos, playlists,
and a screen folder with a locally signed bundle installed as a completed sync would leave it."""
from __future__ import annotations

import io
import random
from pathlib import Path

SIZE = (1920, 1080)
P = "waiting-area"
CONFIG = """\
[center]
id = "bench"
name = "Центр госуслуг района Строгино"
timezone = "Europe/Moscow"

[device]
id = "screen-bench"
role = "signage"
data_dir = "data"

[signage]
profile = "waiting-area"
orientation = "landscape"
ticker = "Бесплатный Wi-Fi: MFC-Free"
"""


def item(kind: str, asset: str | None = None, duration: float | None = None, **extra: str) -> str:
    text = f'[[playlists.{P}.items]]\ntype = "{kind}"\n'
    if asset:
        text += f'asset = "{asset}"\n'
    if duration:
        text += f"duration = {duration}\n"
    return text + "".join(f'{k} = "{v}"\n' for k, v in extra.items())


# --- content ----------------------------------------------------------------------


def picture(index: int, fmt: str) -> bytes:
    """A 1920x1080 picture unlike the others: gradients, shapes and grain, so it does not
    compress to nothing and no two are alike."""
    from PIL import Image, ImageDraw

    rnd = random.Random(index)
    w, h = SIZE
    channels = [Image.linear_gradient("L").rotate(rnd.randrange(360)).resize(SIZE),
                Image.radial_gradient("L").resize(SIZE), Image.effect_noise(SIZE, 40 + index)]
    rnd.shuffle(channels)
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rnd.randrange(w), rnd.randrange(h)
        r = rnd.randrange(20, 300)
        colour = tuple(rnd.randrange(60, 256) for _ in range(3))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)((x - r, y - r, x + r, y + r), fill=colour)
    draw.text((80, 80), f"Slide {index}", fill=(255, 255, 255), font_size=120)
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 88} if fmt == "JPEG" else {}))
    return out.getvalue()


def video(path: Path, index: int, seconds: float, size: tuple[int, int] = SIZE) -> bytes:
    """An H.264 clip with motion in every frame, made with ffpyplayer's encoder."""
    from ffpyplayer.pic import Image as Frame
    from ffpyplayer.writer import MediaWriter
    from PIL import Image, ImageDraw

    width, height = size
    writer = MediaWriter(str(path), [{"pix_fmt_in": "rgb24", "pix_fmt_out": "yuv420p", "width_in": width,
                                      "height_in": height, "codec": "libx264", "frame_rate": (25, 1)}])
    base = Image.new("RGB", size, (40 + 70 * index % 200, 150, 90))
    for n in range(int(seconds * 25)):
        frame = base.copy()
        x = n * width // int(seconds * 25)
        ImageDraw.Draw(frame).rectangle((x, 0, x + width // 8, height), fill=(250, 230, 40))
        writer.write_frame(Frame(plane_buffers=[frame.tobytes()], pix_fmt="rgb24", size=size), n / 25)
    writer.close()
    return path.read_bytes()


def install_screen(folder: Path, files: dict[str, bytes]) -> Path:
    """A screen's configuration and data folder holding `files` as its active signed bundle."""
    from mfc_edge.config import load_config
    from tests.helpers.signage import LocalBundles

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "screen.toml"
    config.write_text(CONFIG, encoding="utf-8")
    LocalBundles(load_config(config).data_dir).install(files)
    return config


def memory_bundle(count: int, duration: float) -> dict[str, bytes]:
    files = {}
    playlist = f"[playlists.{P}]\n"
    for i in range(count):
        name = f"media/slide-{i:02d}.png" if i % 5 == 4 else f"media/slide-{i:02d}.jpg"
        files[name] = picture(i, "PNG" if name.endswith(".png") else "JPEG")
        playlist += item("image", name, duration)
    files["playlist.toml"] = playlist.encode()
    return files


def mixed_bundle(duration: float) -> dict[str, bytes]:
    files = {f"media/m{i}.jpg": picture(100 + i, "JPEG") for i in range(3)}
    drawn = [item("rules", duration=duration), item("text", duration=duration, title="Запись на приём",
                                                   text="Через портал mos.ru или в этом центре"),
             item("qr", duration=duration, url="https://www.mos.ru/services/", title="Услуги онлайн")]
    playlist = f"[playlists.{P}]\n"
    for i in range(3):
        playlist += item("image", f"media/m{i}.jpg", duration) + drawn[i]
    files["playlist.toml"] = playlist.encode()
    return files


def video_bundle(work: Path, seconds: float) -> dict[str, bytes]:
    files = {f"media/v{i}.mp4": video(work / f"v{i}.mp4", i, seconds) for i in range(3)}
    files["playlist.toml"] = (f"[playlists.{P}]\n" + "".join(item("video", f"media/v{i}.mp4")
                                                             for i in range(3))).encode()
    return files


# --- measuring inside a screen's process ---------------------------------------------
