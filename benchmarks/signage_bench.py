"""Waiting-area screen benchmarks: frames without content at slide changes, frame time
during crossfades, resident memory over 1,000 changes of a 50-asset 1080p playlist, start
to first content. Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/signage_bench.py [--changes 1000] [--transitions 60] [--starts 7]

Each part runs in a fresh process of its own (this script with --child), headless at
1920x1080 (SDL offscreen, OpenGL by Mesa's llvmpipe on the CPU), with a locally signed
bundle installed on disk as a completed sync would leave it, and no hub. A quick check:
`--changes 100 --transitions 10 --starts 2 --no-write`.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import percentile, write_section  # noqa: E402
from signage_content import SIZE, P, install_screen, item, memory_bundle, mixed_bundle, picture, video_bundle  # noqa: E402,I001

SECTION = "## Waiting-area screens (issue: waiting-area screens)"
BG = (13, 33, 64)  # layout.kv's BG (0.05, 0.13, 0.25) in bytes: the main zone's colour when empty
MAX_RSS_MB = 4000


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def content_shown(app) -> bool:
    """tests/test_signage_screen.py's definition: some slide in the main zone is ready, fully
    opaque and has its picture."""
    from signage.slides import Slide, TextureSlide

    for slide in app.player.zone.children:
        if isinstance(slide, Slide) and slide.ready and slide.opacity >= 1:
            if not isinstance(slide, TextureSlide) or slide.texture is not None:
                return True
    return False


class Watch:
    """Follows every drawn frame of a running screen: the time since the frame before, whether
    a crossfade was under way, whether content was shown, and, for picture and video slides,
    whether the pixels drawn in the middle row of the main zone are only the empty zone's colour."""

    def __init__(self, app, pixels: bool):
        from kivy.core.window import Window

        from signage.slides import PictureSlide

        self.app, self.window, self.pixels = app, Window, pixels
        self.frames: list[dict] = []
        self.changes: list[tuple[int, str, str]] = []  # (frame, from kind, to kind)
        self.uploads = 0
        self._last_flip: float | None = None
        Window.bind(on_flip=self._on_flip)  # bound handlers run before the buffer swap
        app.player.on_change = self._on_change
        original = PictureSlide._show

        def counted(slide, picture):
            self.uploads += 1
            original(slide, picture)
        PictureSlide._show = counted
        self._restore = lambda: setattr(PictureSlide, "_show", original)

    def close(self) -> None:
        self.window.unbind(on_flip=self._on_flip)
        self._restore()

    def _on_change(self, slide) -> None:
        kinds = [s for s in self.app.player.zone.children if s is not slide]
        before = kind_of(kinds[0]) if kinds else "none"
        self.changes.append((len(self.frames), before, kind_of(slide)))

    def _on_flip(self, *_):
        now = time.perf_counter()
        from signage.slides import PictureSlide, Slide, VideoSlide

        slides = [s for s in self.app.player.zone.children if isinstance(s, Slide)]
        fading = len(slides) > 1 or any(s.opacity < 1 for s in slides)
        pixel_blank = None
        if self.pixels and slides and all(isinstance(s, (PictureSlide, VideoSlide)) for s in slides):
            pixel_blank = self._middle_row_empty()
        self.frames.append({"dt": None if self._last_flip is None else now - self._last_flip,
                            "fading": fading, "content": content_shown(self.app),
                            "pixel_blank": pixel_blank, "upload": self.uploads})
        self._last_flip = now

    def _middle_row_empty(self) -> bool:
        from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels

        zone = self.app.player.zone
        x, y = (int(v) for v in zone.to_window(zone.x, zone.center_y))
        width = int(zone.width)
        row = glReadPixels(x, y, width, 1, GL_RGBA, GL_UNSIGNED_BYTE)
        empty = sum(1 for i in range(0, len(row), 4)
                    if all(abs(row[i + c] - BG[c]) <= 3 for c in range(3)))
        return empty >= 0.98 * width


def kind_of(slide) -> str:
    item = getattr(slide, "item", None)
    return item.type if item is not None else "fallback"


def open_app(config: Path):
    from hardware.audio import SimulatedOutput
    from hardware.clock import SystemClock
    from mfc_edge.config import load_config
    from signage.app import SignageApp
    from signage.wiring import open_screen

    device = load_config(config)
    screen = open_screen(device, SystemClock(), audio=SimulatedOutput())
    return screen, SignageApp(device, screen, SystemClock(), new_calls=screen.calls_to_announce)


def run_changes(config: Path, changes: int, *, pixels: bool = False, sample_every: int = 0,
                timeout: float = 3600) -> dict:
    """Plays until `changes` slide changes were seen, frame by frame as the screen's own loop does.
    With `pixels` each frame is read back, which makes llvmpipe finish drawing it there: frame
    times of such a run are not the screen's and are left out."""
    from hardware.headless_display import HeadlessDisplay
    from signage.slides import Slide

    screen, app = open_app(config)
    memory, live = [], []
    try:
        with HeadlessDisplay(app, SIZE) as d:
            watch = Watch(app, pixels)
            if app.player.playlist is None:
                raise RuntimeError("the bundle's playlist was not taken: see the log above")
            deadline = time.monotonic() + timeout
            sampled = -1
            while time.monotonic() < deadline:
                d.frames(1)
                done = len(watch.changes) - 1  # the first slide is not a change
                if sample_every and done >= 0 and done % sample_every == 0 and done != sampled:
                    sampled = done
                    gc.collect()
                    memory.append((done, rss_mb()))
                    live.append((done, sum(1 for o in gc.get_objects() if isinstance(o, Slide))))
                    if memory[-1][1] > MAX_RSS_MB:
                        break  # growing without bound: stop before the machine runs out
                if done >= changes:
                    break
            watch.close()
    finally:
        screen.close()
    return {"frames": watch.frames, "changes": watch.changes, "memory": memory, "live_slides": live,
            "pixels": pixels}


def child_gaps(work: Path, transitions: int, duration: float, video_s: float) -> dict:
    pictures = install_screen(work / "pictures", memory_bundle(6, duration))
    mixed = install_screen(work / "mixed", mixed_bundle(duration))
    videos = install_screen(work / "video", video_bundle(work, video_s))
    return {"pictures": run_changes(pictures, transitions, pixels=True),
            "mixed": run_changes(mixed, transitions),
            "video": run_changes(videos, transitions, pixels=True),
            "video timing": run_changes(videos, max(transitions // 2, 3))}


def child_memory(work: Path, changes: int, assets: int, duration: float, every: int) -> dict:
    config = install_screen(work / "memory", memory_bundle(assets, duration))
    return run_changes(config, changes, sample_every=every)


def child_empty_window() -> dict:
    """An empty Kivy window and app at the screen's size: what llvmpipe costs before any player."""
    before = rss_mb()
    from kivy.app import App
    from kivy.core.window import Window  # noqa: F401  (opens the window and its OpenGL context)
    from kivy.uix.widget import Widget

    from hardware.headless_display import HeadlessDisplay

    opened = rss_mb()

    class Empty(App):
        def build(self):
            return Widget()

    with HeadlessDisplay(Empty(), SIZE) as d:
        d.frames(60)
        after = rss_mb()
    return {"before_window": before, "window_opened": opened, "empty_app": after}


def child_start(config: Path) -> None:
    """What `mfc-edge signage --windowed` does, with a probe that reports the first frame drawn
    while content is shown."""
    from mfc_edge.config import load_config

    device = load_config(config)
    from hardware.display import prepare_kivy

    prepare_kivy(device.signage.size, headless=True)
    from kivy.core.window import Window

    screen, app = open_app(config)

    def flipped(*_):
        if app.player is not None and content_shown(app):
            print("first content", flush=True)
            Window.unbind(on_flip=flipped)
            app.stop()
    Window.bind(on_flip=flipped)
    screen.start_screenshots(app.capture_png)
    try:
        app.run()
    finally:
        screen.close()


# --- the parent: runs the parts, sums up, writes the section ---------------------------


def child(args: list[str], timeout: float) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         timeout=timeout, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def starts(config: Path, runs: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    times = []
    for _ in range(runs):
        began = time.monotonic()
        proc = subprocess.Popen([sys.executable, __file__, "--child", "start", str(config)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        for line in proc.stdout:
            if line.startswith("first content"):
                times.append(time.monotonic() - began)
                break
        proc.kill()
        proc.wait()
    return times


def gaps(run: dict) -> dict[str, list[int]]:
    """Per kind of change (e.g. image→rules): [changes seen, frames without content, frames whose
    pixels showed an empty zone]. A frame is charged to the change before it."""
    frames, changes = run["frames"], run["changes"]
    found: dict[str, list[int]] = {}
    for n, (frame, before, after) in enumerate(changes[1:], start=1):
        if before == "none":
            continue
        key = f"{before}→{after}"
        entry = found.setdefault(key, [0, 0, 0])
        entry[0] += 1
        end = changes[n + 1][0] if n + 1 < len(changes) else len(frames)
        for f in frames[frame:end]:
            entry[1] += not f["content"]
            entry[2] += bool(f["pixel_blank"])
    return found


def frame_times(run: dict) -> dict[str, list[float]]:
    kinds: dict[str, list[float]] = {"fading": [], "steady": [], "steady, texture upload": []}
    last_upload = 0
    for f in run["frames"]:
        if f["dt"] is not None:
            if f["fading"]:
                kinds["fading"].append(f["dt"] * 1000)
            elif f["upload"] != last_upload:
                kinds["steady, texture upload"].append(f["dt"] * 1000)
            else:
                kinds["steady"].append(f["dt"] * 1000)
        last_upload = f["upload"]
    return kinds


def ms(values: list[float]) -> str:
    if not values:
        return "—"
    return f"p50 {statistics.median(values):.1f} ms, p99 {percentile(values, 0.99):.1f} ms ({len(values)} frames)"


def slope(points: list[tuple[int, float]]) -> float:
    """Least squares, MB per 100 changes."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 100 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return run_child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1000, help="slide changes of the memory run (default 1000)")
    parser.add_argument("--assets", type=int, default=50, help="distinct 1920x1080 pictures in its playlist")
    parser.add_argument("--duration", type=float, default=0.5, help="seconds each slide is shown (default 0.5)")
    parser.add_argument("--every", type=int, default=50, help="resident memory sampled every N changes")
    parser.add_argument("--transitions", type=int, default=60,
                        help="slide changes watched with pictures and drawn slides, and with videos")
    parser.add_argument("--video-s", type=float, default=1.5, help="length of each 1920x1080 test video")
    parser.add_argument("--starts", type=int, default=7, help="fresh processes timed to first content")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md alone")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mfc-signage-bench-"))
    try:
        print("empty window…", file=sys.stderr)
        empty = child(["empty", str(work)], 600)
        print("start to first content…", file=sys.stderr)
        start_config = install_screen(work / "start", {"media/a.jpg": picture(7, "JPEG"), "playlist.toml": (
            f"[playlists.{P}]\n" + item("image", "media/a.jpg", 10) + item("rules", duration=10)).encode()})
        start = starts(start_config, args.starts)
        print("pictures and drawn slides, videos…", file=sys.stderr)
        mixed_video = child(["gaps", str(work), str(args.transitions), str(args.duration), str(args.video_s)], 3600)
        print(f"{args.changes} changes of {args.assets} pictures…", file=sys.stderr)
        memory = child(["memory", str(work), str(args.changes), str(args.assets), str(args.duration),
                        str(args.every)], 4 * 3600)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = report(args, empty, start, mixed_video, memory)
    print(section)
    if not args.no_write:
        write_section(SECTION, section)
    return 0


def run_child(argv: list[str]) -> int:
    part, work = argv[0], Path(argv[1])
    if part == "start":
        child_start(work)
        return 0
    from hardware.display import prepare_kivy

    prepare_kivy(SIZE, headless=True)
    if part == "empty":
        result = child_empty_window()
    elif part == "gaps":
        result = child_gaps(work, int(argv[2]), float(argv[3]), float(argv[4]))
    elif part == "memory":
        result = child_memory(work, int(argv[2]), int(argv[3]), float(argv[4]), int(argv[5]))
    else:
        raise SystemExit(f"unknown part {part}")
    print(json.dumps(result))
    return 0


def report(args, empty: dict, start: list[float], runs: dict, memory: dict) -> str:
    command = (f".venv/bin/python benchmarks/signage_bench.py --changes {args.changes} --assets {args.assets} "
               f"--duration {args.duration} --transitions {args.transitions} --video-s {args.video_s} "
               f"--starts {args.starts}")
    rows = []
    for name, run in ((f"{args.assets} pictures, the memory run", memory), ("6 pictures", runs["pictures"]),
                      ("pictures and drawn slides", runs["mixed"]), ("3 videos", runs["video"]),
                      ("3 videos, the timing run", runs["video timing"])):
        for key, (seen, blank, pixel_blank) in sorted(gaps(run).items()):
            rows.append(f"| {key} ({name}) | {seen} | {blank} | " + (f"{pixel_blank}" if run["pixels"] else
                                                                      "not read back") + " |")
    times = {"1080p pictures (the memory run)": frame_times(memory),
             "pictures and drawn slides": frame_times(runs["mixed"]),
             "1080p videos": frame_times(runs["video timing"])}
    mem = memory["memory"]
    warm = [p for p in mem if p[0] >= 100] or mem
    rss = [mb for _, mb in mem]
    lines = [
        SECTION,
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Headless at "
        f"{SIZE[0]}x{SIZE[1]} (SDL offscreen; OpenGL is Mesa's llvmpipe, rendering on the CPU), the "
        "`waiting-area` profile, a locally signed bundle on disk, no hub. Every part runs in a fresh process.",
        "",
        "### Slide changes: frames without content (goal: none)",
        "",
        "A frame is without content when no slide in the main zone is ready, fully opaque and has its "
        "picture (the tests' `content_shown`). For pictures and videos each frame's drawn pixels are "
        "also read back (`glReadPixels`, the middle row of the main zone, before the buffer swap): "
        "the frame counts as empty there if 98 % of that row is the empty zone's colour. Frames are "
        f"charged to the change before them. Slides are shown {args.duration} s each; the videos are "
        f"{args.video_s} s 1920x1080 H.264 clips played to their end.",
        "",
        "| change | changes seen | frames without content | frames with an empty zone in the pixels |",
        "| --- | --- | --- | --- |",
        *rows,
        "",
        "### Frame time (time between consecutive drawn frames; Kivy caps at 60 fps)",
        "",
        "| playlist | crossfade in progress | steady | steady, a prepared picture's texture uploaded |",
        "| --- | --- | --- | --- |",
        *(f"| {name} | {ms(t['fading'])} | {ms(t['steady'])} | {ms(t['steady, texture upload'])} |"
          for name, t in times.items()),
        "",
        f"### Resident memory, {args.assets} distinct 1920x1080 pictures (JPEG and PNG), "
        f"{args.changes} changes (goal: ≤ 250 MB, flat)",
        "",
        (f"**Stopped after {mem[-1][0]} changes: resident memory passed {MAX_RSS_MB} MB.**  "
         if mem[-1][0] < args.changes else "")
        + f"Sampled every {args.every} changes: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in mem) + " MB.  ",
        f"First {rss[0]:.0f} MB, last {rss[-1]:.0f} MB, max {max(rss):.0f} MB; slope from change "
        f"{warm[0][0]} on: {slope(warm):+.2f} MB per 100 changes. Slides alive after a collection: "
        + ", ".join(str(n) for _, n in memory["live_slides"][:3]) + " … "
        + ", ".join(str(n) for _, n in memory["live_slides"][-3:]) + ".  ",
        f"An empty Kivy app in a {SIZE[0]}x{SIZE[1]} window, same process set-up: "
        f"{empty['empty_app']:.0f} MB (Python and Kivy's imports {empty['before_window']:.0f} MB; opening the "
        f"window and its llvmpipe context {empty['window_opened'] - empty['before_window']:+.0f} MB). The "
        f"screen's own share at the end: {rss[-1] - empty['empty_app']:.0f} MB.",
        "",
        f"### Start to first content (goal: ≤ 3 s), {len(start)} starts",
        "",
        "From spawning a fresh `python` running the screen as `mfc-edge signage` does (the bundle on disk, "
        "no hub; a 1920x1080 JPEG first) to the first frame drawn with content shown: "
        + (f"median {statistics.median(start):.2f} s, min {min(start):.2f} s, max {max(start):.2f} s."
           if start else "no start reached content."),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
