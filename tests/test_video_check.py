"""Publish-time video checks: small clips made here with PyAV's encoders (libx264, libx265), published
through `mfc-edge hub publish` into a temporary hub data folder."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from hub.db import HubDB
from hub.video_check import VideoInfo, judge, parse_screens
from mfc_edge.cli import main

CENTER = "strogino"


def make_clip(path: Path, codec: str, size: tuple[int, int], fps: int, pix_fmt: str = "yuv420p") -> Path:
    """Three grey frames: a few kilobytes even at 4K."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"preset": "ultrafast"} | ({"x265-params": "log-level=error"} if codec == "libx265" else {})
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        for index in range(3):
            frame = av.VideoFrame(size[0], size[1], pix_fmt)
            for plane in frame.planes:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def signage_folder(root: Path, videos: dict[str, Path | bytes]) -> Path:
    """A signage bundle folder whose playlist plays `videos` (asset name -> a clip or raw bytes)."""
    folder = root / "bundle"
    folder.mkdir()
    items = []
    for name, content in videos.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.read_bytes())
        items.append(f'[[playlists.waiting-area.items]]\ntype = "video"\nasset = "{name}"\n')
    (folder / "playlist.toml").write_text("[playlists.waiting-area]\n" + "\n".join(items), encoding="utf-8")
    return folder


def publish(hub_data: Path, folder: Path, *screens: str) -> int:
    extra = ["--screens", ",".join(screens)] if screens else []
    return main(["hub", "publish", str(folder), "--data", str(hub_data), "--center", CENTER, "--role", "signage",
                 *extra])


def published_versions(hub_data: Path) -> list[int]:
    db = HubDB(hub_data)
    try:
        return [row[0] for row in db.db.execute("SELECT version FROM bundles")]
    finally:
        db.close()


def stored_blobs(hub_data: Path) -> list[Path]:
    return sorted((hub_data / "blobs").glob("*")) if (hub_data / "blobs").exists() else []


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "h264_1080p30": make_clip(folder / "h264-1080p30.mp4", "libx264", (1920, 1080), 30),
        "h264_portrait": make_clip(folder / "h264-portrait.mp4", "libx264", (1080, 1920), 30),
        "h264_1080p60": make_clip(folder / "h264-1080p60.mp4", "libx264", (1920, 1080), 60),
        "h264_4k": make_clip(folder / "h264-4k.mp4", "libx264", (3840, 2160), 30),
        "h264_10bit": make_clip(folder / "h264-10bit.mp4", "libx264", (1920, 1080), 30, "yuv420p10le"),
        "hevc_1080p": make_clip(folder / "hevc-1080p.mp4", "libx265", (1920, 1080), 30),
        "hevc_720p": make_clip(folder / "hevc-720p.mp4", "libx265", (1280, 720), 30),
    }


def test_h264_1080p30_and_portrait_are_published_without_a_word(tmp_path, clips, capsys):
    folder = signage_folder(tmp_path, {"media/hall.mp4": clips["h264_1080p30"],
                                       "media/tall.mp4": clips["h264_portrait"]})
    assert publish(tmp_path / "hub", folder) == 0
    out, err = capsys.readouterr()
    assert "published version 1 for signage devices" in out
    assert err == ""
    assert published_versions(tmp_path / "hub") == [1]


def test_4k_h264_is_refused_with_the_conversion_and_nothing_is_stored(tmp_path, clips, capsys):
    folder = signage_folder(tmp_path, {"media/ok.mp4": clips["h264_1080p30"], "media/big.mp4": clips["h264_4k"]})
    assert publish(tmp_path / "hub", folder) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("mfc-edge: error: media/big.mp4: H.264 Constrained Baseline 3840x2160 at 30 fps, 8-bit: "
                          "no target screen plays it smoothly (Pi 4 decodes H.264 in hardware up to 1920x1080 at "
                          "60 fps; Pi 5 decodes H.264 in software up to 1920x1080 at 30 fps)")
    assert err.endswith("convert it: ffmpeg -i big.mp4 -c:v libx264 -profile:v high -pix_fmt yuv420p "
                        "-vf scale=1920:-2 -c:a aac converted-big.mp4")
    assert published_versions(tmp_path / "hub") == []
    assert stored_blobs(tmp_path / "hub") == []  # refused before any blob was stored


def test_hevc_1080p_is_refused_as_software_decoding_is_too_slow(tmp_path, clips, capsys):
    folder = signage_folder(tmp_path, {"promo.mp4": clips["hevc_1080p"]})
    assert publish(tmp_path / "hub", folder) == 2
    err = capsys.readouterr().err
    assert "promo.mp4: HEVC Main 1920x1080 at 30 fps, 8-bit: no target screen plays it smoothly" in err
    assert "Pi 4 decodes HEVC in software up to 1280x720 at 30 fps" in err
    assert "ffmpeg -i promo.mp4 -c:v libx264 -profile:v high" in err
    assert published_versions(tmp_path / "hub") == []


def test_hevc_720p_plays_in_software_and_is_published(tmp_path, clips, capsys):
    folder = signage_folder(tmp_path, {"small.mp4": clips["hevc_720p"]})
    assert publish(tmp_path / "hub", folder) == 0
    assert capsys.readouterr().err == ""


def test_1080p60_warns_for_both_models_and_is_refused_for_pi5_screens(tmp_path, clips, capsys):
    folder = signage_folder(tmp_path, {"media/fast.mp4": clips["h264_1080p60"]})
    assert publish(tmp_path / "hub", folder) == 0
    err = capsys.readouterr().err
    assert err.startswith("mfc-edge: warning: media/fast.mp4: H.264 Constrained Baseline 1920x1080 at 60 fps, "
                          "8-bit: plays smoothly on Pi 4 screens only (Pi 5 decodes H.264 in software up to "
                          "1920x1080 at 30 fps); to play everywhere convert it: ffmpeg -i fast.mp4")
    assert "-r 30" in err
    assert publish(tmp_path / "hub", folder, "pi4") == 0
    assert capsys.readouterr().err == ""
    assert publish(tmp_path / "hub", folder, "pi5") == 2
    assert "no target screen plays it smoothly" in capsys.readouterr().err
    assert published_versions(tmp_path / "hub") == [1, 2]


def test_10_bit_h264_is_refused(tmp_path, clips, capsys):
    folder = signage_folder(tmp_path, {"deep.mp4": clips["h264_10bit"]})
    assert publish(tmp_path / "hub", folder) == 2
    err = capsys.readouterr().err
    assert "deep.mp4: H.264 High 10 1920x1080 at 30 fps, 10-bit" in err
    assert "Pi 4 decodes H.264 profiles Baseline, Constrained Baseline, High, Main only" in err


@pytest.mark.parametrize("content, reason", [
    (b"this is a text file, not a film\n" * 20, "not a video the screens can read"),
    (b"", "not a video the screens can read"),
])
def test_a_file_that_is_not_a_video_is_one_line(tmp_path, capsys, content, reason):
    folder = signage_folder(tmp_path, {"media/clip.mp4": content})
    assert publish(tmp_path / "hub", folder) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"mfc-edge: error: media/clip.mp4: {reason}")
    assert str(tmp_path) not in err


def test_a_truncated_video_is_refused(tmp_path, clips, capsys):
    whole = clips["h264_1080p30"].read_bytes()
    folder = signage_folder(tmp_path, {"cut.mp4": whole[: len(whole) // 2]})
    assert publish(tmp_path / "hub", folder) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("mfc-edge: error: cut.mp4: not a video the screens can read")


def test_a_picture_named_as_a_video_is_refused_by_codec(tmp_path, capsys):
    from PIL import Image

    picture = tmp_path / "still.png"
    Image.new("RGB", (64, 64), "red").save(picture)
    folder = signage_folder(tmp_path, {"still.mp4": picture})
    assert publish(tmp_path / "hub", folder) == 2
    assert "still.mp4: png 64x64" in capsys.readouterr().err


def test_only_the_playlists_videos_are_read(tmp_path, clips, capsys):
    """A file the playlist does not play as a video is published as it is (a spare, an image)."""
    folder = signage_folder(tmp_path, {"media/hall.mp4": clips["h264_1080p30"]})
    (folder / "media" / "unused-4k.mp4").write_bytes(clips["h264_4k"].read_bytes())
    assert publish(tmp_path / "hub", folder) == 0
    assert "published version 1" in capsys.readouterr().out


def test_screens_option_is_checked(tmp_path, capsys):
    folder = signage_folder(tmp_path, {})
    assert publish(tmp_path / "hub", folder, "pi3") == 2
    assert capsys.readouterr().err.strip() == (
        "mfc-edge: error: --screens 'pi3': one or more of pi4, pi5 separated by commas")
    assert parse_screens(" PI5 , pi4,pi5") == ("pi5", "pi4")


def test_portrait_4k_is_scaled_along_its_long_side():
    video = VideoInfo("vp9", "Profile 0", 2160, 3840, Fraction(25), 8)
    with pytest.raises(ValueError, match=r"-vf scale=-2:1920 -c:a aac converted-tall.mp4$"):
        judge("media/tall.webm", video, ("pi4", "pi5"))


# --- the screens' decoder: H.264 in hardware where the Pi has one ---------------------------

def fake_video4linux(root: Path, *names: str) -> Path:
    """/sys/class/video4linux as a Pi shows it: one folder per V4L2 device with its name."""
    for index, name in enumerate(names):
        (root / f"video{10 + index}").mkdir(parents=True)
        (root / f"video{10 + index}" / "name").write_text(name + "\n")
    root.mkdir(exist_ok=True)
    return root


def test_h264_in_mp4_gets_the_pi4_hardware_decoder_when_ffmpeg_has_it(tmp_path, clips, monkeypatch):
    from signage import media

    pi4 = fake_video4linux(tmp_path / "pi4", "bcm2835-codec-decode", "bcm2835-codec-encode", "bcm2835-isp")
    pi5 = fake_video4linux(tmp_path / "pi5", "rpi-hevc-dec", "pispbe")
    laptop = fake_video4linux(tmp_path / "none")
    # The aarch64 wheel's FFmpeg has h264_v4l2m2m; this machine's x86 wheel has not.
    assert "h264_v4l2m2m" not in media.ffmpeg_video_decoders()
    assert media.video_decoder(clips["h264_1080p30"], "auto", pi4) is None
    monkeypatch.setattr(media, "ffmpeg_video_decoders", lambda: frozenset({"h264", "hevc", "h264_v4l2m2m"}))

    assert media.video_decoder(clips["h264_1080p30"], "auto", pi4) == "h264_v4l2m2m"
    assert media.video_decoder(clips["h264_1080p30"], "software", pi4) is None
    assert media.video_decoder(clips["hevc_720p"], "auto", pi4) is None
    assert media.video_decoder(clips["h264_1080p30"], "auto", pi5) is None
    assert media.video_decoder(clips["h264_1080p30"], "auto", laptop) is None
    assert media.video_decoder(clips["h264_1080p30"], "auto", tmp_path / "no-sysfs") is None


def test_only_h264_in_an_mp4_file_is_taken_for_the_hardware_decoder(tmp_path, clips):
    from signage.media import is_h264_mp4

    mkv = tmp_path / "clip.mkv"
    with av.open(clips["h264_1080p30"]) as source, av.open(str(mkv), "w") as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    whole = clips["h264_1080p30"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 3])
    nested = tmp_path / "nested.mp4"
    nested.write_bytes(b"".join((8 * (200 - i)).to_bytes(4, "big") + b"moov" for i in range(200)))

    assert is_h264_mp4(clips["h264_1080p30"]) and is_h264_mp4(clips["h264_portrait"])
    assert not is_h264_mp4(clips["hevc_1080p"])
    assert not is_h264_mp4(mkv)  # H.264 in Matroska plays in software
    assert not is_h264_mp4(tmp_path / "missing.mp4")
    assert not is_h264_mp4(nested)
    assert not is_h264_mp4(cut)  # its track descriptions were at the end, cut off


def test_video_decoder_setting_is_checked(tmp_path):
    from mfc_edge.config import ConfigError, load_config
    from tests.helpers.signage import screen_config

    assert load_config(screen_config(tmp_path)).signage.video_decoder == "auto"
    assert load_config(screen_config(tmp_path, extra='video_decoder = "software"')).signage.video_decoder == "software"
    with pytest.raises(ConfigError, match=r"\[signage\] video_decoder = 'hardware'.*auto \(hardware where the Pi "
                                          r"has a decoder\) or software"):
        load_config(screen_config(tmp_path, extra='video_decoder = "hardware"'))


@pytest.mark.slow
def test_a_video_the_named_decoder_cannot_open_plays_in_software(tmp_path, monkeypatch):
    """Asked by name, FFmpeg's own H.264 decoder plays; h264_v4l2m2m, absent here as on a Pi whose
    decoder is busy or missing, shows no picture and the slide tries again in software."""
    from hardware.clock import ManualClock
    from hardware.headless_display import HeadlessDisplay
    from mfc_edge import protocol
    from mfc_edge.config import load_config
    from signage import slides
    from signage.app import SignageApp
    from signage.wiring import open_screen
    from tests.helpers.day import MONDAY_10AM
    from tests.helpers.signage import LocalBundles, screen_config, video

    asked: list[str] = []
    monkeypatch.setattr(slides, "VIDEO_LOAD_TIMEOUT_S", 1.5)
    monkeypatch.setattr(slides, "video_decoder", lambda path, setting: asked.append(setting) or names.pop(0))
    names = ["h264", "h264_v4l2m2m"]
    playlist = ('[playlists.waiting-area]\n[[playlists.waiting-area.items]]\ntype = "video"\nasset = "a.mp4"\n'
                '[[playlists.waiting-area.items]]\ntype = "video"\nasset = "b.mp4"\n')
    device = load_config(screen_config(tmp_path, extra='video_decoder = "auto"'))
    LocalBundles(device.data_dir).install({"playlist.toml": playlist.encode(),
                                           "a.mp4": video(tmp_path / "a.mp4", 0.5),
                                           "b.mp4": video(tmp_path / "b.mp4", 0.5)})
    screen = open_screen(device, ManualClock(MONDAY_10AM))
    app = SignageApp(device, screen, ManualClock(MONDAY_10AM))
    try:
        with HeadlessDisplay(app, (1920, 1080)) as display:
            def showing(asset):
                return lambda: getattr(getattr(app.player.current, "item", None), "asset", None) == asset
            assert display.wait_until(showing("a.mp4"), 20)
            assert app.player.current.decoder == "h264"
            assert isinstance(app.player.current.video, slides.NamedDecoderVideo)
            assert display.wait_until(showing("b.mp4"), 20)
            assert app.player.current.decoder is None and app.player.current.texture is not None
        assert not [e for e in screen.store.outbox() if e["type"] == protocol.SLIDE_SKIPPED]
    finally:
        screen.close()
    assert asked == ["auto", "auto"]
