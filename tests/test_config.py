"""Device configuration: a good file loads; every bad one stops with one exact message."""
from datetime import date, time
from pathlib import Path

import pytest

from mfc_edge.config import ConfigError, load_config
from tests.helpers.devices import BASE_CONFIG, write_config


def good(tmp_path: Path) -> str:
    return BASE_CONFIG.format(printer_uri="tcp://127.0.0.1:9100")


def error_for(tmp_path: Path, text: str) -> str:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value).replace(str(path), "FILE")


def test_good_file_loads_with_defaults(tmp_path):
    config = load_config(write_config(tmp_path, good(tmp_path)))
    assert config.center_id == "strogino"
    assert config.device_id == "kiosk-1"
    assert config.ticket_range == (1, 499)
    assert config.languages == ("ru", "en")
    assert config.printer.uri == "tcp://127.0.0.1:9100"
    assert config.printer.profile == "default" and config.printer.paper_width == 80
    assert config.data_dir == tmp_path / "data"
    assert config.hub_url == "https://hub.example.org"
    # 08:00-20:00 every day unless configured
    assert config.hours.is_open(date(2026, 11, 29), time(8, 0))
    assert not config.hours.is_open(date(2026, 11, 29), time(20, 0))
    assert not config.hours.is_open(date(2026, 11, 29), time(7, 59))


def test_example_file_is_valid():
    config = load_config(Path(__file__).parent.parent / "mfc_edge" / "data" / "kiosk.example.toml")
    assert config.printer.uri.startswith("usb://")
    assert not config.hours.is_open(date(2027, 1, 1), time(12, 0))
    assert config.hours.opening_on(date(2026, 11, 29)) == time(10, 0)  # a Sunday


@pytest.mark.parametrize("uri", [
    "usb://04b8:0e15", "serial:///dev/ttyUSB0?baud=115200", "tcp://printer.local:9100", "file:///dev/usb/lp0",
])
def test_every_printer_uri_form_is_accepted(tmp_path, uri):
    text = good(tmp_path).replace("tcp://127.0.0.1:9100", uri)
    assert load_config(write_config(tmp_path, text)).printer.uri == uri


@pytest.mark.parametrize("change, message", [
    (('uri = "tcp://127.0.0.1:9100"', 'uri = "lpt1"'),
     "FILE: [printer] uri = 'lpt1': expected usb://VID:PID, serial:///dev/ttyUSB0?baud=115200, "
     "tcp://HOST:9100 or file:///dev/usb/lp0"),
    (('uri = "tcp://127.0.0.1:9100"', 'uri = "usb://04b8"'),
     "FILE: [printer] uri = 'usb://04b8': expected usb://VID:PID, serial:///dev/ttyUSB0?baud=115200, "
     "tcp://HOST:9100 or file:///dev/usb/lp0"),
    (('uri = "tcp://127.0.0.1:9100"', 'uri = "cups://Receipt"'),
     "FILE: [printer] uri = 'cups://Receipt': expected usb://VID:PID, serial:///dev/ttyUSB0?baud=115200, "
     "tcp://HOST:9100 or file:///dev/usb/lp0; CUPS queues are not supported: give the printer itself, "
     "e.g. file:///dev/usb/lp0 or usb://VID:PID"),
    (("ticket_range = [1, 499]", "ticket_range = [0, 499]"),
     "FILE: [kiosk] ticket_range = [0, 499]: expected [first, last] with 1 <= first < last <= 999"),
    (("ticket_range = [1, 499]", "ticket_range = [500, 1200]"),
     "FILE: [kiosk] ticket_range = [500, 1200]: expected [first, last] with 1 <= first < last <= 999"),
    (("idle_timeout = 60", "idle_timeout = 2"),
     "FILE: [kiosk] idle_timeout = 2: expected seconds from 10 to 3600"),
    (("idle_timeout = 60", "idle_timeout = 60\nattract_after = 5"),
     "FILE: [kiosk] attract_after = 5: expected seconds from 10 to 3600"),
    (("idle_timeout = 60", "idle_timout = 60"),
     "FILE: [kiosk] idle_timout is not a known key: expected one of attract_after, idle_timeout, languages, "
     "other_centers, ticket_range, windows"),
    (('timezone = "Europe/Moscow"', 'timezone = "Moscow"'),
     "FILE: [center] timezone = 'Moscow': expected an IANA time zone such as Europe/Moscow"),
    (('role = "kiosk"', 'role = "printer"'),
     "FILE: [device] role = 'printer': expected one of kiosk, signage, console"),
    (('id = "kiosk-1"', 'id = "Kiosk 1"'),
     "FILE: [device] id = 'Kiosk 1': expected lowercase latin letters, digits and hyphens, up to 40"),
    (('url = "https://hub.example.org"', 'url = "hub.example.org"'),
     "FILE: [hub] url = 'hub.example.org': expected an http:// or https:// URL"),
    (('timeout = 2', 'profile = "NoSuchPrinter"'),
     "FILE: [printer] profile = 'NoSuchPrinter': expected a python-escpos printer profile with a "
     "Cyrillic code page"),
    (('timeout = 2', 'paper_width = 76'),
     "FILE: [printer] paper_width = 76: expected paper width in mm: 58 or 80"),
    (("[kiosk]", '[hours]\nmon = "20:00-08:00"\n\n[kiosk]'),
     "FILE: [hours] mon = '20:00-08:00': expected HH:MM-HH:MM with start before end, or \"closed\""),
    (("[kiosk]", '[hours]\ntue = "8-20"\n\n[kiosk]'),
     "FILE: [hours] tue = '8-20': expected HH:MM-HH:MM with start before end, or \"closed\""),
    (("[kiosk]", '[hours]\nclosed_dates = ["31.12.2026"]\n\n[kiosk]'),
     "FILE: [hours] closed_dates = ['31.12.2026']: expected a list of dates such as 2026-01-01"),
    (('name = "Центр госуслуг района Строгино"\n', ''),
     "FILE: [center] name is missing: expected the center's name in Russian"),
    (("[kiosk]", "[kiosks]"),
     "FILE: [top level] kiosks is not a known key: expected one of announcements, center, console, device, help_button, hours, hub, keypad, kiosk, printer, rating, signage"),
])
def test_bad_values_are_named_exactly(tmp_path, change, message):
    text = good(tmp_path)
    assert change[0] in text
    assert error_for(tmp_path, text.replace(change[0], change[1], 1)) == message


def test_a_kiosk_without_printer_is_refused(tmp_path):
    text = good(tmp_path)
    text = text[:text.index("[printer]")] + text[text.index("[hub]"):]
    assert error_for(tmp_path, text) == (
        "FILE: [printer] is missing: a kiosk needs a printer uri (usb://VID:PID, "
        "serial:///dev/ttyUSB0?baud=115200, tcp://HOST:9100 or file:///dev/usb/lp0)")


def test_broken_toml_and_missing_file(tmp_path):
    assert error_for(tmp_path, "[center\nid=1").startswith("FILE: not valid TOML: ")
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found"):
        load_config(tmp_path / "nope.toml")


def test_tickets_lead_phones_to_the_hubs_public_address_when_it_has_one(tmp_path):
    text = good(tmp_path)
    lan = load_config(write_config(tmp_path, text))
    assert lan.hub_public_url is None and lan.status_page_url("Zr8Qm1x") == "https://hub.example.org/t/Zr8Qm1x"
    public = load_config(write_config(tmp_path, text + 'public_url = "https://ochered.example.org/"\n'))
    assert public.hub_url == "https://hub.example.org"  # devices still reach the hub on the center's network
    assert public.status_page_url("Zr8Qm1x") == "https://ochered.example.org/t/Zr8Qm1x"
    assert error_for(tmp_path, text + 'public_url = "ochered.example.org"\n') == (
        "FILE: [hub] public_url = 'ochered.example.org': expected an http:// or https:// URL that visitors' "
        "phones reach")
    # The address is the center's: its kiosk bundle may give it to every kiosk.
    bundle = tmp_path / "bundle-kiosk.toml"
    bundle.write_text('[hub]\npublic_url = "https://ochered.example.org"\n', encoding="utf-8")
    laid_over = load_config(write_config(tmp_path, text), overrides=bundle)
    assert laid_over.status_page_url("Zr8Qm1x") == "https://ochered.example.org/t/Zr8Qm1x"
    bundle.write_text('[hub]\nurl = "https://elsewhere.example.org"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[hub\] url cannot be set by a bundle: expected one of public_url"):
        load_config(write_config(tmp_path, text), overrides=bundle)
