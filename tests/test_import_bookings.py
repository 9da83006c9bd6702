"""`mfc-edge hub integration-token` (issue, list, revoke) and the CSV imports: bad lines
reported by number with the field, good lines imported, a second import changing nothing."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.api import Hub
from mfc_edge.cli import main

HEADER = "id,code,service,slot_start,slot_end,initial,state,version\n"
# The command runs on the machine's clock, which refuses slots a year away: the file books tomorrow.
DAY = (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(days=1)).date().isoformat()


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data(tmp_path) -> Path:
    return tmp_path / "hub"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_token_is_issued_listed_used_and_revoked(capsys, data):
    code, out, err = run(capsys, "hub", "integration-token", "--data", str(data), "--center", "strogino",
                         "--name", "Запись на приём")
    token = out.strip()
    assert code == 0 and token.startswith("mfci_") and "shown only now" in err
    hub = Hub(data)
    try:
        found = hub.integration_tokens.authenticate(token)
        assert found is not None and (found.center, found.name) == ("strogino", "Запись на приём")
        assert token not in (data / "hub.sqlite").read_bytes().decode(errors="replace")  # only its hash is kept
    finally:
        hub.close()
    code, out, _ = run(capsys, "hub", "integration-token", "--data", str(data), "--list")
    assert code == 0 and found.id in out and "in use" in out
    assert run(capsys, "hub", "integration-token", "--data", str(data), "--revoke", found.id)[0] == 0
    code, out, _ = run(capsys, "hub", "integration-token", "--data", str(data), "--list")
    assert "revoked" in out
    assert run(capsys, "hub", "integration-token", "--data", str(data), "--revoke", found.id)[0] == 1
    code, out, _ = run(capsys, "hub", "integration-token", "--data", str(data), "--all-centers", "--name", "Город")
    hub = Hub(data)
    try:
        assert hub.integration_tokens.authenticate(token) is None
        assert hub.integration_tokens.authenticate(out.strip()).center == "*"
    finally:
        hub.close()


@pytest.mark.parametrize("args", [["--name", "x"], ["--center", "strogino"],
                                  ["--center", "strogino", "--all-centers", "--name", "x"],
                                  ["--center", "../x", "--name", "x"], ["--center", "strogino", "--name", " "]])
def test_a_token_asked_for_wrongly_is_one_line(capsys, data, args):
    code, out, err = run(capsys, "hub", "integration-token", "--data", str(data), *args)
    assert code == 2 and out == "" and err.startswith("mfc-edge: error: ") and "Traceback" not in err


def test_csv_bad_lines_are_reported_by_number_and_the_good_ones_imported(capsys, data, tmp_path):
    csv = write(tmp_path, "today.csv", HEADER
                + f"B-1,AB-12 34,passport-rf,{DAY} 11:00,{DAY} 11:15,И,,1\n"
                + f"B-2,X,passport-rf,{DAY} 11:00,{DAY} 11:15,,,\n"
                + f'"B-3","CD 5678","passport-rf","{DAY}T11:30+03:00","{DAY}T11:45+03:00","","cancelled",""\n'
                + f"B-4,EF9012,no-such-service,{DAY} 12:00,{DAY} 12:15,,,\n"
                + f"B-5,GH3456,passport-rf,{DAY} 12:00,{DAY} 11:00,Иванов,,\n")
    code, out, err = run(capsys, "hub", "import-bookings", str(csv), "--data", str(data), "--center", "strogino")
    assert code == 1
    assert "1 created, 0 changed, 0 unchanged, 1 cancelled; 3 line(s) refused" in out
    lines = [line for line in err.splitlines() if line.startswith(str(csv))]
    assert [line.split(":")[1:3] for line in lines] == [["3", " code"], ["5", " service"], ["6", " slot_end"]]
    hub = Hub(data)
    try:
        assert hub.bookings.get("B-1")["slot_start"] == f"{DAY}T08:00:00.000000+00:00"
        assert hub.bookings.get("B-3")["state"] == "cancelled" and hub.bookings.get("B-2") is None
    finally:
        hub.close()
    code, out, _ = run(capsys, "hub", "import-bookings", str(csv), "--data", str(data), "--center", "strogino")
    assert "0 created, 0 changed, 2 unchanged, 0 cancelled" in out


def test_a_semicolon_file_with_a_center_column_and_other_centers_lines(capsys, data, tmp_path):
    csv = write(tmp_path, "excel.csv", "\ufeffid;center;code;service;slot_start;slot_end\n"
                f"B-1;strogino;AB1234;passport-rf;{DAY} 11:00;{DAY} 11:15\n"
                f"T-1;tushino;TT1234;passport-rf;{DAY} 11:00;{DAY} 11:15\n"
                f"B-2;strogino;CD5678;passport-rf;{DAY} 11:00;{DAY} 11:15;extra\n")
    code, out, err = run(capsys, "hub", "import-bookings", str(csv), "--data", str(data), "--center", "strogino")
    assert code == 1 and out.startswith(f"{csv}: 1 created")
    assert f"{csv}:3: center: 'tushino': this file is imported for center strogino" in err
    assert f"{csv}:4: extra cells: not accepted" in err


@pytest.mark.parametrize(("text", "says"), [
    ("code,service\nAB1,passport-rf\n", "missing: id"), ("id,code,service,slot_start,slot_end,name\n", "unknown: name"),
    ("", "missing: id")])
def test_a_file_that_is_not_a_bookings_table_imports_nothing(capsys, data, tmp_path, text, says):
    csv = write(tmp_path, "bad.csv", text)
    code, out, err = run(capsys, "hub", "import-bookings", str(csv), "--data", str(data), "--center", "strogino")
    assert code == 2 and out == "" and says in err and "Traceback" not in err


def test_a_file_that_cannot_be_read_is_one_line(capsys, data, tmp_path):
    binary = tmp_path / "bookings.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe")
    for path in (binary, tmp_path / "missing.csv"):
        code, _, err = run(capsys, "hub", "import-bookings", str(path), "--data", str(data), "--center", "strogino")
        assert code == 2 and "cannot be read as UTF-8 text" in err


def test_applications_from_a_csv_file(capsys, data, tmp_path):
    csv = write(tmp_path, "ready.csv", "number,state\n77-0012/34,ready\n55,collected\n56,lost\n")
    code, out, err = run(capsys, "hub", "import-applications", str(csv), "--data", str(data), "--center", "strogino")
    assert code == 1 and "2 created, 0 changed, 0 unchanged; 1 line(s) refused" in out
    assert f"{csv}:4: state:" in err
    hub = Hub(data)
    try:
        assert hub.applications.status("strogino", "770012/34") == "ready"
    finally:
        hub.close()
