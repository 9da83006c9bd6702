"""Signage playlists: parsing with clear errors, and scheduling against a controlled clock."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from mfc_edge.playlist import PlaylistError, load_playlists
from tests.helpers.day import at

PLAYLIST = """
[playlists.waiting-area]
[[playlists.waiting-area.items]]
type = "image"
asset = "media/passport.png"
duration = 12

[[playlists.waiting-area.items]]
type = "text"
title = "Сегодня работают 12 окон"
title_en = "12 windows are open today"
weekdays = ["mon", "tue", "wed", "thu", "fri"]
hours = ["08:00-12:00"]

[[playlists.waiting-area.items]]
type = "qr"
url = "https://www.mos.ru/services/"
title = "Видеоконсультация"
hours = ["22:00-02:00"]
weekdays = ["fri"]

[[playlists.waiting-area.items]]
type = "video"
asset = "media/new-year.mp4"
sound = true
from = 2026-12-20
until = 2027-01-10
order = -5

[playlists.kids]
[[playlists.kids.items]]
type = "video"
asset = "media/cartoon.mp4"
"""


@pytest.fixture
def playlists(tmp_path):
    path = tmp_path / "playlist.toml"
    path.write_text(PLAYLIST, encoding="utf-8")
    return load_playlists(path)


def kinds(playlist, moment: datetime) -> list[str]:
    return [item.type for item in playlist.scheduled(moment)]


def test_time_windows_weekdays_and_date_ranges(playlists):
    main = playlists["waiting-area"]
    assert kinds(main, at(9, 30, tz=None)) == ["image", "text"]              # a Monday morning
    assert kinds(main, at(12, tz=None)) == ["image"]                         # the window ends at 12:00
    assert kinds(main, datetime(2026, 11, 28, 9, 30)) == ["image"]           # Saturday: no weekday text
    assert kinds(main, datetime(2026, 12, 20, 10, 0)) == ["video", "image"]  # in its date range; order -5 first
    assert kinds(main, datetime(2027, 1, 16, 10, 0)) == ["image"]            # a Saturday after it


def test_an_overnight_window_belongs_to_the_day_it_starts(playlists):
    main = playlists["waiting-area"]
    assert "qr" in kinds(main, datetime(2026, 11, 27, 23, 0))      # Friday 23:00
    assert "qr" in kinds(main, datetime(2026, 11, 28, 1, 59))      # Saturday 01:59, still Friday's night
    assert "qr" not in kinds(main, datetime(2026, 11, 28, 2, 0))   # over
    assert "qr" not in kinds(main, datetime(2026, 11, 27, 1, 0))   # Friday 01:00 is Thursday's night
    assert "qr" not in kinds(main, datetime(2026, 11, 28, 23, 0))  # Saturday evening


def test_rotation_goes_round_in_order_and_skips_what_is_not_scheduled(playlists):
    main, monday = playlists["waiting-area"], at(9, 30, tz=None)
    first = main.next_after(None, monday)
    second = main.next_after(first, monday)
    assert (first.type, second.type, main.next_after(second, monday).type) == ("image", "text", "image")
    saturday = datetime(2026, 11, 28, 9, 30)
    assert main.next_after(first, saturday) is first  # alone in the schedule: it stays on


def test_an_empty_schedule_gives_nothing_to_show(tmp_path):
    path = tmp_path / "playlist.toml"
    path.write_text('[playlists.info-panel]\n[[playlists.info-panel.items]]\ntype = "rules"\n'
                    'weekdays = ["sun"]\n', encoding="utf-8")
    info = load_playlists(path)["info-panel"]
    assert info.next_after(None, at(10, tz=None)) is None
    assert info.next_after(None, datetime(2026, 11, 29, 10)).type == "rules"


def test_videos_play_to_their_end_unless_given_a_duration(playlists):
    assert playlists["kids"].items[0].duration is None
    assert playlists["waiting-area"].items[1].duration == 12


@pytest.mark.parametrize("item, message", [
    ('type = "gif"', 'items #1] type = \'gif\': expected one of image, video'),
    ('type = "image"', "items #1] asset is missing: a image needs a file of the bundle"),
    ('type = "qr"\ntitle = "x"', "items #1] url is missing"),
    ('type = "qr"\nurl = "javascript:alert(1)"', "url = 'javascript:alert(1)': expected an https://"),
    ('type = "consultation"', "items #1] consultation is missing: the id of a video consultation"),
    ('type = "consultation"\nconsultation = "Rosreestr Video"', "consultation = 'Rosreestr Video': expected the id"),
    ('type = "rules"\nduration = 0', "duration = 0: expected seconds, more than 0"),
    ('type = "rules"\nhours = ["25:00-26:00"]', "hours = ['25:00-26:00']: expected a list of windows"),
    ('type = "rules"\nhours = ["10:00-10:00"]', "hours = ['10:00-10:00']"),
    ('type = "rules"\nweekdays = ["monday"]', "weekdays = ['monday']: expected a list of mon, tue"),
    ('type = "rules"\nfrom = 2026-12-31\nuntil = 2026-12-01', "from = 2026-12-31 is after until = 2026-12-01"),
    ('type = "rules"\ncolour = "red"', "items #1] colour is not a known key"),
])
def test_bad_items_are_refused_with_where_and_why(tmp_path, item, message):
    path = tmp_path / "playlist.toml"
    path.write_text(f"[playlists.main]\n[[playlists.main.items]]\n{item}\n", encoding="utf-8")
    with pytest.raises(PlaylistError) as error:
        load_playlists(path)
    assert str(error.value).startswith(f"{path}: [playlists.main.")
    assert message in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("", "[playlist.toml] playlists is missing"),
    ("[playlists]\n", "[playlists] is empty"),
    ("playlists = 3\n", "playlists = 3: expected a table of playlists"),
    ("[playlists.main]\nitems = 1\n", "[playlists.main] items = 1: expected a list"),
    ("[playlists.main\n", "not valid TOML"),
])
def test_bad_files_are_refused(tmp_path, text, message):
    path = tmp_path / "playlist.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlaylistError, match=None) as error:
        load_playlists(path)
    assert message in str(error.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(PlaylistError, match="file not found"):
        load_playlists(tmp_path / "nope.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PlaylistError, match="not UTF-8"):
        load_playlists(Path(tmp_path / "bin.toml"))


def test_the_built_in_kiosk_loop_is_drawn_slides_round_and_round():
    from mfc_edge.playlist import BUILT_IN_KIOSK_LOOP, built_in_playlist

    loop = built_in_playlist("kiosk")
    assert [item.type for item in loop.items] == list(BUILT_IN_KIOSK_LOOP) == ["load-chart", "rules", "satisfaction"]
    assert all(item.asset is None and item.duration == 12.0 for item in loop.items)
    moment = datetime(2026, 11, 23, 10, 0)
    first = loop.next_after(None, moment)
    assert [loop.next_after(first, moment).type, loop.next_after(loop.items[-1], moment).type] == ["rules", "load-chart"]
