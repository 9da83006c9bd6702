"""The waiting-area screen, headless: zones and profiles, the rotation, broken assets, the
fallback, calls and the stale-feed notice, the load chart and the day's ratings."""
from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from kivy.core.window import Window

from hardware.audio import SimulatedOutput
from hardware.clock import ManualClock
from hardware.headless_display import HeadlessDisplay, walk
from mfc_edge import protocol
from mfc_edge.config import load_config
from signage.app import SignageApp, calls_to_show
from signage.slides import FallbackSlide, Slide, TextureSlide
from signage.wiring import open_screen
from tests.helpers.day import MONDAY_10AM, TEST_DAY
from tests.helpers.signage import LocalBundles, png, screen_config, video

RULES = '[[playlists.{p}.items]]\ntype = "rules"\nduration = {d}\n'
IMAGE = '[[playlists.{p}.items]]\ntype = "image"\nasset = "{a}"\nduration = {d}\n'


class Feed:
    """Stands in for the hub's feed poller: what `latest()` and `age()` answer is set by the test."""

    def __init__(self, calls: list[dict] | None = None):
        self.data = {"calls": calls or []}
        self.reachable = True

    def latest(self):
        return self.data if self.reachable else None

    def age(self):
        return 1.0 if self.reachable else 120.0

    def stop(self):
        pass


class Figures:
    def __init__(self, data):
        self.data = data

    def latest(self):
        return self.data

    last_known = latest

    def stop(self):
        pass


def call(number: str, window: str, minutes_ago: float = 0) -> dict:
    at = MONDAY_10AM.astimezone(UTC) - timedelta(minutes=minutes_ago)
    return {"number": number, "window": window, "at": at.isoformat(), "recall": False}


@pytest.fixture
def make_screen(tmp_path):
    opened = []

    def make(profile="waiting-area", orientation="landscape", extra="", files=None):
        folder = tmp_path / f"{profile}-{orientation}-{len(opened)}"
        folder.mkdir()
        device = load_config(screen_config(folder, profile, orientation, extra))
        bundles = LocalBundles(device.data_dir)
        if files is not None:
            bundles.install(files)
        clock = ManualClock(MONDAY_10AM)
        screen = open_screen(device, clock, audio=SimulatedOutput())
        opened.append(screen)
        app = SignageApp(device, screen, clock, new_calls=screen.calls_to_announce)
        return device, screen, app, bundles

    yield make
    for screen in opened:
        screen.close()


def events(screen, event_type):
    return [event["body"] for event in screen.store.outbox() if event["type"] == event_type]


def content_shown(app) -> bool:
    """Some slide is fully opaque and has its picture: never a frame without content."""
    for slide in app.player.zone.children:
        if isinstance(slide, Slide) and slide.ready and slide.opacity >= 1:
            if not isinstance(slide, TextureSlide) or slide.texture is not None:
                return True
    return False


def inside(widget, zone) -> bool:
    x, y = widget.to_window(widget.x, widget.y)
    zx, zy = zone.to_window(zone.x, zone.y)
    return (x >= zx - 1 and y >= zy - 1 and x + widget.width <= zx + zone.width + 1
            and y + widget.height <= zy + zone.height + 1)


def inside_window(widget) -> bool:
    x, y = widget.to_window(widget.x, widget.y)
    return x >= -1 and y >= -1 and x + widget.width <= Window.width + 1 and y + widget.height <= Window.height + 1


@pytest.mark.parametrize("kind", ["rules", "load-chart"])
@pytest.mark.parametrize("profile, orientation", [
    ("waiting-area", "landscape"), ("waiting-area", "portrait"), ("kids", "landscape"),
    ("kids", "portrait"), ("info-panel", "landscape"), ("info-panel", "portrait")])
def test_each_profile_lays_out_its_zones_on_screen(make_screen, tmp_path, profile, orientation, kind):
    playlist = f'[playlists.{profile}]\n[[playlists.{profile}.items]]\ntype = "{kind}"\nduration = 30\n'
    device, screen, app, _ = make_screen(profile, orientation, files={"playlist.toml": playlist.encode()})
    screen.feed = Feed([call("П042", "5"), call("А017", "12", 3)])
    screen.load = Figures(LOAD)
    width, height = device.signage.size
    with HeadlessDisplay(app, (width, height)) as d:
        assert d.wait_until(lambda: app.player.current is not None)
        shot = d.screenshot(tmp_path / f"{profile}-{orientation}-{kind}.png")
        main, calls, bottom = app.root.ids.main, app.calls_panel, app.bottom_line
        assert main.width > 0.6 * width and inside_window(main)
        assert (calls.parent is not None) == (profile == "waiting-area")
        assert (bottom.parent is not None) == (profile != "kids")
        if profile == "kids":  # the main zone fills the screen above the strip of calls
            strip = app.kids_strip
            assert main.width == width and main.height + strip.height == height and inside_window(strip)
            def kids_calls():
                return [w.text for w in walk(strip) if getattr(w, "tag", "") == "kids-call"]
            assert d.wait_until(lambda: kids_calls() == ["Талон П042 — окно 5", "Талон А017 — окно 12"]), kids_calls()
            for label in walk(strip):  # each text fits the strip
                if getattr(label, "text", "") and label.opacity:
                    assert label.texture_size[0] <= label.width + 1 and inside(label, strip), label.text
                    assert label.texture_size[1] <= label.height + 1, label.text  # not wrapped out of it
        if profile == "waiting-area":
            assert inside_window(calls)
            def numbers():
                return [w.text for w in walk(calls) if getattr(w, "tag", "") == "call-number"]
            assert d.wait_until(lambda: numbers() == ["П042", "А017"]), numbers()
            for row in calls.ids.rows.children:  # the text of each call fits its row
                for label in row.children:
                    assert label.texture_size[0] <= row.width and inside_window(label)
        if profile != "kids":
            clock = next(w for w in walk(bottom) if getattr(w, "tag", "") == "clock")
            assert clock.text == "10:00" and inside_window(clock)
        assert app.player.current.item.type == kind
        for label in walk(main):  # nothing of the slide runs out of its zone
            if getattr(label, "text", "") and label.width > 0:
                assert inside(label, main), label.text
        assert shot.stat().st_size > 10_000
    from PIL import Image
    with Image.open(shot) as picture:
        assert picture.size == (width, height)


@pytest.mark.slow
def test_slides_play_in_order_with_content_on_every_frame(make_screen):
    playlist = ("[playlists.waiting-area]\n" + IMAGE.format(p="waiting-area", a="media/red.png", d=0.4)
                + RULES.format(p="waiting-area", d=0.4) + IMAGE.format(p="waiting-area", a="media/blue.png", d=0.4))
    files = {"playlist.toml": playlist.encode(), "media/red.png": png(colour=(200, 0, 0)),
             "media/blue.png": png((1920, 1080), (0, 0, 200))}
    device, screen, app, _ = make_screen(files=files)
    shown, blank_frames = [], 0
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: app.player.current is not None)
        while len(shown) < 7:
            d.frames(1)
            blank_frames += not content_shown(app)
            item = app.player.current.item
            if not shown or shown[-1] != item.index:
                shown.append(item.index)
    assert shown == [0, 1, 2, 0, 1, 2, 0]
    assert blank_frames == 0
    played = events(screen, protocol.SLIDE_PLAYED)
    assert [p["item"] for p in played][:6] == [0, 1, 2, 0, 1, 2]
    assert played[0]["kind"] == "image" and played[0]["asset"] == "media/red.png" and played[0]["bundle"] == 1
    assert all(p["duration_s"] >= 0.4 for p in played[:6])  # the last one was cut short by the stop
    assert all(protocol.event_problem(event) is None for event in screen.store.outbox())


def test_a_picture_is_drawn_as_large_as_its_zone_allows(make_screen):
    from kivy.graphics import Rectangle

    playlist = "[playlists.waiting-area]\n" + IMAGE.format(p="waiting-area", a="media/wide.png", d=30)
    device, screen, app, _ = make_screen(files={"playlist.toml": playlist.encode(),
                                                "media/wide.png": png((1920, 1080))})
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: content_shown(app))
        d.frames(2)
        slide, zone = app.player.current, app.root.ids.main
        drawn = [r for r in slide.canvas.children if isinstance(r, Rectangle) and r.texture is not None]
        assert len(drawn) == 1
        width, height = drawn[0].size
        assert max(width / zone.width, height / zone.height) == pytest.approx(1, abs=0.01)
        assert drawn[0].pos[0] >= zone.x - 1 and drawn[0].pos[0] + width <= zone.right + 1


@pytest.mark.slow
def test_resident_memory_stays_flat_over_slide_changes(make_screen):
    import psutil

    p = "waiting-area"
    colours = [(200, 0, 0), (0, 0, 200), (0, 160, 0)]
    files = {f"media/{n}.png": png((1920, 1080), c) for n, c in enumerate(colours)}
    files["playlist.toml"] = (f"[playlists.{p}]\n" + "".join(IMAGE.format(p=p, a=name, d=0.1)
                                                            for name in files)).encode()
    device, screen, app, _ = make_screen(files=files)
    changes = []
    with HeadlessDisplay(app, (1920, 1080)) as d:
        app.player.on_change = changes.append
        # Every picture is shown once first: what the screen holds once it has started.
        assert d.wait_until(lambda: len(changes) >= 5, timeout=60)
        before = psutil.Process().memory_info().rss
        assert d.wait_until(lambda: len(changes) >= 25, timeout=120)
        grown = psutil.Process().memory_info().rss - before
    # Less than 1 MB here; without each frame finished (hardware/headless_display.py) llvmpipe
    # kept about 4 MB per change, 77 MB.
    assert grown < 20 * 2**20, f"{grown / 2**20:.0f} MB more after 20 slide changes"


@pytest.mark.slow
def test_broken_and_missing_assets_are_skipped_and_reported_once(make_screen, tmp_path):
    p = "waiting-area"
    playlist = (f"[playlists.{p}]\n" + IMAGE.format(p=p, a="media/ok.png", d=0.3)
                + IMAGE.format(p=p, a="media/corrupt.png", d=0.3)
                + f'[[playlists.{p}.items]]\ntype = "video"\nasset = "media/garbage.mp4"\n'
                + IMAGE.format(p=p, a="media/not-in-bundle.png", d=0.3)
                + RULES.format(p=p, d=0.3))
    files = {"playlist.toml": playlist.encode(), "media/ok.png": png(),
             "media/corrupt.png": png()[:200], "media/garbage.mp4": b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000}
    device, screen, app, _ = make_screen(files=files)
    shown = []
    with HeadlessDisplay(app, (1920, 1080)) as d:
        while len(shown) < 5:
            assert d.wait_until(lambda: app.player.current is not None and (
                not shown or app.player.current.item.index != shown[-1]), 30)
            assert content_shown(app)
            shown.append(app.player.current.item.index)
    assert shown == [0, 4, 0, 4, 0]  # only what can be shown, in order
    skipped = {s["asset"]: s for s in events(screen, protocol.SLIDE_SKIPPED)}
    assert set(skipped) == {"media/corrupt.png", "media/garbage.mp4", "media/not-in-bundle.png"}
    assert skipped["media/corrupt.png"]["reason"] == "undecodable"
    assert skipped["media/garbage.mp4"]["reason"] == "undecodable"
    assert skipped["media/not-in-bundle.png"]["reason"] == "missing"
    assert len(events(screen, protocol.SLIDE_SKIPPED)) == 3  # once each, not every round


def test_videos_follow_each_other_without_a_gap(make_screen, tmp_path):
    p = "waiting-area"
    clip = video(tmp_path / "clip.mp4", seconds=0.6)
    other = video(tmp_path / "other.mp4", seconds=0.6, size=(480, 270))
    playlist = (f"[playlists.{p}]\n[[playlists.{p}.items]]\ntype = \"video\"\nasset = \"media/clip.mp4\"\n"
                f"[[playlists.{p}.items]]\ntype = \"video\"\nasset = \"media/other.mp4\"\nsound = true\n")
    device, screen, app, _ = make_screen(files={"playlist.toml": playlist.encode(), "media/clip.mp4": clip,
                                                "media/other.mp4": other})
    shown, blank_frames = [], 0
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: app.player.current is not None, 20)
        while len(shown) < 4:
            d.frames(1)
            blank_frames += not content_shown(app)
            if not shown or shown[-1] != app.player.current.item.index:
                shown.append(app.player.current.item.index)
    assert shown == [0, 1, 0, 1] and blank_frames == 0
    played = events(screen, protocol.SLIDE_PLAYED)
    assert [p["kind"] for p in played] == ["video"] * len(played) and len(played) >= 3
    assert not events(screen, protocol.SLIDE_SKIPPED)


def test_without_a_bundle_the_fallback_shows_then_a_new_bundle_applies_without_restart(make_screen):
    device, screen, app, bundles = make_screen()
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: isinstance(app.player.current, FallbackSlide))
        texts = [w.text for w in walk(app.player.current) if isinstance(getattr(w, "text", None), str)]
        assert device.center_name in texts and "10:00" in texts
        version = bundles.install({"playlist.toml": ("[playlists.waiting-area]\n"
                                                      + RULES.format(p="waiting-area", d=5)).encode()})
        screen.content.refresh()  # what the bundle follower does once it applied a bundle
        assert d.wait_until(lambda: getattr(app.player.current, "item", None) is not None)
        assert app.player.version == version and app.player.current.item.type == "rules"
        assert "Клиент всегда прав" in " ".join(w.text for w in walk(app.player.current) if hasattr(w, "text"))


def test_a_bundle_with_an_unusable_playlist_shows_the_fallback(make_screen):
    device, screen, app, _ = make_screen(files={"playlist.toml": b"[playlists.waiting-area]\nitems = 3\n"})
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: isinstance(app.player.current, FallbackSlide))
        d.frames(5)
        assert isinstance(app.player.current, FallbackSlide)


def test_newest_call_is_highlighted_and_a_lost_feed_is_said_not_shown_as_current(make_screen):
    device, screen, app, _ = make_screen(extra="takeover = true\ncalls_shown = 3")
    feed = screen.feed = Feed([call("П042", "5", 1), call("А017", "12", 3), call("П041", "2", 4),
                               call("Б003", "1", 5), call("П040", "3", 60 * 24)])
    with HeadlessDisplay(app, (1920, 1080)) as d:
        rows = app.calls_panel.ids.rows
        assert d.wait_until(lambda: len(rows.children) == 3)
        shown = [(r.number, r.window, r.newest) for r in reversed(rows.children)]
        assert shown == [("П042", "5", True), ("А017", "12", False), ("П041", "2", False)]
        assert app.calls_notice == "" and app.takeover is None  # calls from before the start are not new

        feed.data = {"calls": [call("К001", "7"), *feed.data["calls"]]}
        assert d.wait_until(lambda: app.takeover is not None)
        assert app.takeover.number == "К001" and app.takeover.window == "7"
        assert rows.children[-1].number == "К001" and rows.children[-1].newest
        assert screen.announcer.wait_idle(30)
        assert [a.call["number"] for a in screen.announcer.announced] == ["К001"]

        feed.reachable = False
        assert d.wait_until(lambda: app.calls_notice != "")
        assert "Нет связи с очередью" in app.calls_notice and "No connection" in app.calls_notice
        assert len(rows.children) == 0  # stale calls are not shown as current
        feed.reachable = True
        assert d.wait_until(lambda: app.calls_notice == "" and len(rows.children) == 3)


def test_calls_to_show_takes_today_newest_first_each_ticket_once():
    from tests.helpers.day import MSK
    feed = {"calls": [call("П042", "5", 1), call("П041", "2", 2), {**call("П042", "4", 3), "recall": True},
                      {"number": "bad"}, call("А001", "1", 60 * 24)]}
    assert calls_to_show(feed, TEST_DAY.isoformat(), MSK, 6) == [{"number": "П042", "window": "5"},
                                                                  {"number": "П041", "window": "2"}]


LOAD = {"center": "strogino", "timezone": "Europe/Moscow", "weeks": 8,
        "days": {d: 8 for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "hours": {d: [0.0] * 8 + [4, 9, 12, 15, 22, 18, 11, 9, 8, 10, 14, 6] + [0.0] * 4
                  for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "busiest": {d: 12 for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "quietest": {d: [8, 19] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def test_load_chart_names_the_busiest_and_quietest_hours_and_marks_today(make_screen, tmp_path):
    load = json.loads(json.dumps(LOAD))
    load["busiest"]["mon"], load["quietest"]["mon"] = 17, [9, 10]
    playlist = '[playlists.waiting-area]\n[[playlists.waiting-area.items]]\ntype = "load-chart"\nduration = 30\n'
    device, screen, app, _ = make_screen(files={"playlist.toml": playlist.encode()})
    screen.load = Figures(load)
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: getattr(app.player.current, "item", None) is not None)
        slide = app.player.current
        texts = {w.tag: w.text for w in walk(slide) if getattr(w, "tag", "") and hasattr(w, "text")}
        assert "09:00–10:00, 10:00–11:00" in texts["load-quietest"]  # Monday's own, not another day's
        assert "17:00–18:00" in texts["load-busiest"]
        grid = next(w for w in walk(slide) if getattr(w, "tag", "") == "load-grid")
        assert grid.cell(0, 12).text == "22" and grid.cell(0, 12).bold  # Monday is today: its row stands out
        assert not grid.cell(1, 12).bold
        assert inside_window(grid)
        d.screenshot(tmp_path / "load.png")


def test_load_chart_and_satisfaction_without_data_are_skipped_not_shown_empty(make_screen):
    p = "waiting-area"
    playlist = (f"[playlists.{p}]\n[[playlists.{p}.items]]\ntype = \"load-chart\"\nduration = 0.3\n"
                f"[[playlists.{p}.items]]\ntype = \"satisfaction\"\nduration = 0.3\n" + RULES.format(p=p, d=0.3))
    device, screen, app, _ = make_screen(files={"playlist.toml": playlist.encode()})
    screen.load = Figures({"hours": "nonsense"})  # a malformed reply counts as none
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: getattr(app.player.current, "item", None) is not None)
        assert app.player.current.item.type == "rules"
        screen.ratings = Figures({"day": TEST_DAY.isoformat(),
                                  "total": {"count": 40, "happy": 37, "happy_share": 0.925}, "windows": {}})
        assert d.wait_until(lambda: app.player.current.item.type == "satisfaction", 10)
        texts = {getattr(w, "tag", ""): w.text for w in walk(app.player.current) if getattr(w, "tag", "")}
        assert texts["happy-share"] == "92%" and "40" in texts["ratings-count"]
    reasons = {s["kind"]: s["reason"] for s in events(screen, protocol.SLIDE_SKIPPED)}
    assert reasons == {"load-chart": "no-data", "satisfaction": "no-data"}


def test_qr_slide_encodes_its_link(make_screen):
    import zxingcpp
    from PIL import Image

    url = "https://www.mos.ru/services/video-consultation/"
    playlist = ('[playlists.waiting-area]\n[[playlists.waiting-area.items]]\ntype = "qr"\n'
                f'url = "{url}"\ntitle = "Видеоконсультация"\nduration = 30\n')
    device, screen, app, _ = make_screen(files={"playlist.toml": playlist.encode()})
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: getattr(app.player.current, "item", None) is not None)
        texture = app.player.current.texture
        image = Image.frombytes("RGBA", texture.size, texture.pixels).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [url]


def test_screenshot_is_a_png_of_the_whole_screen(make_screen):
    import io

    from PIL import Image

    device, screen, app, _ = make_screen()
    with HeadlessDisplay(app, (1920, 1080)) as d:
        d.frames(3)
        data = app.capture_png()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(data)).size == (1920, 1080)


def test_start_to_first_content_uses_the_bundle_on_disk_without_a_hub(make_screen):
    device, screen, app, _ = make_screen(files={"playlist.toml": (
        "[playlists.waiting-area]\n" + IMAGE.format(p="waiting-area", a="a.png", d=5)).encode(), "a.png": png()})
    assert device.hub_url is None and screen.sync is None
    with HeadlessDisplay(app, (1920, 1080)) as d:
        assert d.wait_until(lambda: content_shown(app) and app.player.current.item is not None)
