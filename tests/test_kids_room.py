"""The kids' room file of a kiosk bundle (kids.toml): hours, today's activities, exact errors."""
from __future__ import annotations

from datetime import date, time

import pytest

from mfc_edge.kids_room import KidsRoomError, load_kids_room
from mfc_edge.week_hours import WEEK_HOURS_RULE

KIDS = """\
hours = ["mon-fri 09:00-20:00", "sat 10:00-17:00"]
note = "Дети от 3 до 10 лет"
note_en = "Children aged 3 to 10"

[[activities]]
title = "Лепим из пластилина"
title_en = "Plasticine modelling"
days = "mon,wed"
time = "11:00-11:45"
ages = [4, 7]

[[activities]]
title = "Рисуем осень"
title_en = "Painting autumn"
date = 2026-11-23
time = "10:00-10:40"

[[activities]]
title = "Оригами"
title_en = "Origami"
days = "tue"
time = "12:00-12:30"
"""
MONDAY = date(2026, 11, 23)


def write(tmp_path, text: str):
    path = tmp_path / "kids.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(KidsRoomError) as caught:
        load_kids_room(path)
    return str(caught.value).replace(str(path), "FILE")


def test_kids_room_loads_and_lists_a_days_activities_in_order(tmp_path):
    room = load_kids_room(write(tmp_path, KIDS))
    assert room.note and room.note("en") == "Children aged 3 to 10"
    assert room.hours.by_weekday[5] == ((time(10), time(17)),)
    today = room.activities_on(MONDAY)
    assert [a.title("ru") for a in today] == ["Рисуем осень", "Лепим из пластилина"]
    assert today[1].ages == (4, 7) and today[0].ages is None
    assert [a.title("en") for a in room.activities_on(date(2026, 11, 25))] == ["Plasticine modelling"]
    assert [a.title("en") for a in room.activities_on(date(2026, 11, 30))] == ["Plasticine modelling"]  # next Monday
    assert [a.title("en") for a in room.activities_on(date(2026, 11, 24))] == ["Origami"]
    assert room.activities_on(date(2026, 11, 29)) == []


def test_hours_alone_are_enough(tmp_path):
    room = load_kids_room(write(tmp_path, 'hours = ["mon-sun 10:00-18:00"]\n'))
    assert room.note is None and room.activities == ()


A = "FILE: activities[0] (Лепим из пластилина)"


@pytest.mark.parametrize("change, message", [
    (('hours = ["mon-fri 09:00-20:00", "sat 10:00-17:00"]', 'hours = ["weekdays 9-20"]'),
     f"FILE: top level hours = ['weekdays 9-20']: expected {WEEK_HOURS_RULE}"),
    (('note_en = "Children aged 3 to 10"\n', ""), "FILE: top level note_en = '<missing>': expected a non-empty text"),
    (("[[activities]]", "[[activity]]"),
     "FILE: top level activity = [{'title': 'Лепим из пластилина', 'title_en': 'Plasticine modelling', "
     "'days': 'mon,wed', 'time': '11:00-11:45', 'ages': [4, 7]}]: "
     "expected none such: known keys are activities, hours, note, note_en"),
    (('title_en = "Plasticine modelling"\n', ""), f"{A} title_en = '<missing>': expected a non-empty text"),
    (('days = "mon,wed"', 'days = "пн,ср"'),
     f"{A} days = 'пн,ср': expected weekdays such as \"mon\", \"mon-fri\" or \"mon,wed,fri\""),
    (('days = "mon,wed"', 'days = ["mon", "wed"]'),
     f"{A} days = ['mon', 'wed']: expected weekdays such as \"mon\", \"mon-fri\" or \"mon,wed,fri\""),
    (('days = "mon,wed"\n', ""),
     f"{A} days = '<missing>': expected weekdays such as \"mon,wed\" or a date = 2026-11-26 instead, one of the two"),
    (('time = "11:00-11:45"', 'time = "11:45-11:00"'),
     f"{A} time = '11:45-11:00': expected HH:MM-HH:MM with the start before the end"),
    (('ages = [4, 7]', 'ages = [7, 4]'),
     f"{A} ages = [7, 4]: expected [from, to]: whole years from 0 to 17, from not above to"),
    (('ages = [4, 7]', 'ages = "4-7"'),
     f"{A} ages = '4-7': expected [from, to]: whole years from 0 to 17, from not above to"),
    (('ages = [4, 7]', 'age = [4, 7]'),
     f"{A} age = [4, 7]: expected none such: known keys are ages, date, days, time, title, title_en"),
    (('date = 2026-11-23', 'date = "2026-11-23"'),
     "FILE: activities[1] (Рисуем осень) date = '2026-11-23': expected a date such as 2026-11-26 (without quotes)"),
])
def test_bad_kids_files_are_named_exactly(tmp_path, change, message):
    assert change[0] in KIDS
    assert error_for(tmp_path, KIDS.replace(change[0], change[1], 1)) == message


def test_unreadable_kids_files(tmp_path):
    assert error_for(tmp_path, "hours = [").startswith("FILE: not valid TOML: ")
    assert error_for(tmp_path, "") == f"FILE: top level hours = '<missing>': expected {WEEK_HOURS_RULE}"
    with pytest.raises(KidsRoomError, match="file not found"):
        load_kids_room(tmp_path / "missing.toml")


def test_the_hub_refuses_to_publish_a_bad_kids_file_and_takes_a_good_one(tmp_path):
    from hub.bundle_folder import PublishError, collect_assets

    folder = tmp_path / "bundle"
    folder.mkdir()
    write(folder, KIDS)
    assert [name for name, _ in collect_assets(folder, "kiosk").files] == ["kids.toml"]
    write(folder, KIDS.replace('time = "11:00-11:45"', 'time = "11:00"'))
    with pytest.raises(PublishError, match=r"kids.toml: activities\[0\] \(Лепим из пластилина\) time = '11:00'"):
        collect_assets(folder, "kiosk")


def test_the_example_file_loads_and_each_activity_falls_in_the_rooms_hours():
    from mfc_edge.catalog import BUNDLED_CATALOG

    room = load_kids_room(BUNDLED_CATALOG.parent / "kids.example.toml")
    assert room.note and room.activities_on(MONDAY)
    for activity in room.activities:
        days = [activity.on_date.weekday()] if activity.on_date else activity.weekdays
        for day in days:
            assert any(start <= activity.start and activity.end <= end for start, end in room.hours.by_weekday[day]), \
                activity.title.ru


def test_publishing_a_bad_kids_file_is_one_line_naming_it(tmp_path):
    from tests.helpers.bundles import run_cli

    folder = tmp_path / "bundle"
    folder.mkdir()
    write(folder, KIDS.replace("ages = [4, 7]", "ages = [7, 4]"))
    out = run_cli("hub", "publish", str(folder), "--data", str(tmp_path / "hub"), "--center", "strogino",
                  "--role", "kiosk")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == (f"mfc-edge: error: {folder / 'kids.toml'}: activities[0] (Лепим из пластилина) "
                                  "ages = [7, 4]: expected [from, to]: whole years from 0 to 17, from not above to")
