"""Idle kiosk benchmark: the attract loop's frames without content and its resident memory over
1,000 slide changes. Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/attract_bench.py [--changes 1000] [--duration 0.3] [--every 50]

The real kiosk screens at 1280x800, headless (SDL offscreen, OpenGL by Mesa's llvmpipe on the
CPU), with the attract loop the kiosk command makes (mfc_edge.cli.kiosk_attract) playing a
locally signed kiosk bundle installed as a completed sync would leave it: 20 distinct 1920x1080
JPEG pictures, a text, the rules and the load chart, each shown `--duration` seconds. Every
`--visit` changes a visitor touches the screen, goes back to the start and leaves; the kiosk
idles into the loop again, so stopping and restarting the loop is measured too. Each drawn frame
while the loop is up is checked for content: a prepared slide, fully opaque, with its picture
(tests/test_kiosk_attract.py's definition). A quick check: `--changes 100 --no-write`.
"""
from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import percentile, write_section  # noqa: E402

from hardware.display import prepare_kivy  # noqa: E402

SECTION = "## Idle kiosk: the attract loop (issue 16)"
SIZE = (1280, 800)
PICTURES = 20
CONFIG = """\
[center]
id = "bench"
name = "Центр госуслуг района Строгино"
timezone = "Europe/Moscow"

[device]
id = "kiosk-bench"
role = "kiosk"
data_dir = "data"

[kiosk]
idle_timeout = 60
attract_after = 120

[printer]
uri = "{printer}"
"""


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def playlist(duration: float) -> str:
    items = [f'type = "image"\nasset = "media/{i:02d}.jpg"' for i in range(PICTURES)]
    items[5:5] = ['type = "text"\ntitle = "Госуслуги онлайн"\ntext = "Запишитесь на приём на mos.ru"']
    items[12:12] = ['type = "rules"', 'type = "load-chart"']
    return "[playlists.kiosk]\n" + "".join(f"[[playlists.kiosk.items]]\n{i}\nduration = {duration}\n" for i in items)


def load_figures() -> dict:
    week = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {"hours": {wd: [0.0] * 8 + [float(h % 7 + 1) for h in range(12)] + [0.0] * 4 for wd in week},
            "busiest": {wd: 12 for wd in week}, "quietest": {wd: [9] for wd in week}}


def content_shown(loop) -> bool:
    from signage.slides import Slide, TextureSlide

    for slide in loop.children:
        if isinstance(slide, Slide) and slide.ready and slide.opacity >= 1:
            if not isinstance(slide, TextureSlide) or slide.texture is not None:
                return True
    return False


def run(work: Path, changes: int, duration: float, every: int, visit: int) -> dict:
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch
    from signage_content import picture

    from hardware.clock import ManualClock
    from hardware.virtual_printer import VirtualPrinter
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from kiosk.wiring import open_kiosk
    from mfc_edge.cli.kiosk_attract import attract_loop
    from mfc_edge.config import load_config
    from tests.helpers.signage import LocalBundles

    with VirtualPrinter(work / "printer") as printer:
        (work / "kiosk.toml").write_text(CONFIG.format(printer=printer.uri), encoding="utf-8")
        device = load_config(work / "kiosk.toml")
        bundles = LocalBundles(device.data_dir)
        files = {f"media/{i:02d}.jpg": picture(i, "JPEG") for i in range(PICTURES)}
        bundles.install({**files, "playlist.toml": playlist(duration).encode()})
        clock = ManualClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # a Monday, 10:00 in Moscow
        kiosk = open_kiosk(device, clock, connect=False)
        kiosk.load_figures = load_figures
        app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, load_figures=load_figures,
                       attract=attract_loop(kiosk, clock))
        frames = {"up": 0, "without": 0}
        seen: list[int] = [0]
        memory: list[tuple[int, float]] = []
        try:
            with HeadlessKiosk(app, SIZE) as k:
                loop = app.attract.loop
                loop.player.on_change = lambda slide: seen.__setitem__(0, seen[0] + 1)

                def flipped(*_):
                    if k.screen == "attract":
                        frames["up"] += 1
                        frames["without"] += not content_shown(loop)
                Window.bind(on_flip=flipped)
                began = time.monotonic()
                last_visit = sampled = -1
                while seen[0] < changes and time.monotonic() - began < 3600:
                    if k.screen != "attract":
                        clock.advance(seconds=device.attract_after + 1)
                        app.tick()
                    k.frames(1)
                    done = seen[0]
                    if done and done % every == 0 and done != sampled:
                        sampled = done
                        gc.collect()
                        memory.append((done, rss_mb()))
                    if visit and done and done % visit == 0 and done != last_visit and k.screen == "attract":
                        last_visit = done
                        touch = UnitTestTouch(SIZE[0] / 2, 40)  # on the caption
                        touch.touch_down()
                        k.frames(1)
                        touch.touch_up()
                        k.frames(2)
                        assert k.screen == "home", k.screen
                elapsed = time.monotonic() - began
                Window.unbind(on_flip=flipped)
        finally:
            kiosk.close()
    return {"changes": seen[0], "frames": frames, "memory": memory, "seconds": elapsed,
            "visits": changes // visit if visit else 0}


def slope(points: list[tuple[int, float]]) -> float:
    """Least squares, MB per 100 changes."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 100 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def section(result: dict, args: argparse.Namespace) -> str:
    memory = result["memory"]
    first = [mb for n, mb in memory if n <= 100]
    last = [mb for n, mb in memory if n > result["changes"] - 100]
    values = [mb for _, mb in memory]
    frames = result["frames"]

    def spread(samples: list[float]) -> str:
        return f"median {statistics.median(samples):.1f} MB (range {min(samples):.1f}–{max(samples):.1f})"
    return f"""{SECTION}

Command: `.venv/bin/python benchmarks/attract_bench.py --changes {args.changes} --duration {args.duration} \
--every {args.every} --visit {args.visit}`
Machine: {platform.machine()}, {platform.system()} {platform.release()}, Python {platform.python_version()}, \
headless 1280x800 (SDL offscreen, Mesa llvmpipe), the machine shared with other work; \
{datetime.now(UTC).strftime('%Y-%m-%d')}.

The real kiosk screens with the attract loop the kiosk command builds (the screens' Player playing a
kiosk bundle: 20 distinct 1920x1080 JPEGs, a text, the rules, the load chart, {args.duration} s each).
Every {args.visit} changes a visitor touches the screen and the kiosk idles back into the loop
({result['visits']} stops and restarts).

| | |
|---|---|
| slide changes | {result['changes']} in {result['seconds']:.0f} s |
| frames drawn while the loop was up | {frames['up']} |
| frames without content (goal: none) | **{frames['without']}** |
| resident memory, first 100 changes | {spread(first)} |
| resident memory, last 100 changes | {spread(last)} |
| resident memory over the run | min {min(values):.1f}, max {max(values):.1f}, p99 {percentile(values, 0.99):.1f} MB; \
slope {slope(memory):+.2f} MB per 100 changes (sampled every {args.every}) |
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1000, help="slide changes to watch (default 1000)")
    parser.add_argument("--duration", type=float, default=0.3, help="seconds each slide is shown (default 0.3)")
    parser.add_argument("--every", type=int, default=50, help="resident memory sampled every N changes")
    parser.add_argument("--visit", type=int, default=100, help="a visitor's touch every N changes (0: none)")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md alone")
    args = parser.parse_args()
    prepare_kivy(SIZE, headless=True)
    with tempfile.TemporaryDirectory(prefix="mfc-attract-bench-") as work:
        result = run(Path(work), args.changes, args.duration, args.every, args.visit)
    text = section(result, args)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
    return 0 if result["frames"]["without"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
