"""The panel asleep outside opening hours and awake before opening, on a hand-moved clock;
the HDMI-CEC backend's command lines, recorded by a stand-in `cec-ctl` on PATH; the DSI
backlight on a fake sysfs tree; the [signage] settings that choose them."""
from __future__ import annotations

import logging
import os
from datetime import time, timedelta
from pathlib import Path

import pytest

from hardware.clock import ManualClock
from hardware.panel_power import (
    BacklightPanel,
    CecPanel,
    NoPanelControl,
    PanelSchedule,
    SimulatedPanel,
    find_panel,
)
from mfc_edge.config import ConfigError, OpeningHours, load_config
from tests.helpers.day import MSK, at
from tests.helpers.signage import screen_config

# Weekdays 08:00-20:00, Sunday closed; the test day is a Monday.
HOURS = OpeningHours(by_weekday=((time(8), time(20)),) * 6 + (None,))


def schedule(clock, panel, wake_before=15) -> PanelSchedule:
    return PanelSchedule(panel, clock, HOURS, MSK, timedelta(minutes=wake_before))


def test_the_panel_sleeps_after_closing_and_wakes_before_opening():
    clock, panel = ManualClock(at(10)), SimulatedPanel(asleep=True)  # left asleep by a previous run
    plan = schedule(clock, panel)
    assert plan.update() is False and panel.changes == ["wake"]
    clock.set(at(19, 59, 59))
    plan.update()
    assert panel.changes == ["wake"]  # told only when something changes
    clock.set(at(20))
    assert plan.update() is True and panel.asleep
    clock.set(at(7, 44, days=1))
    plan.update()
    assert panel.asleep
    clock.set(at(7, 45, days=1))  # 15 minutes before opening
    assert plan.update() is False and not panel.asleep
    assert panel.changes == ["wake", "sleep", "wake"]


def test_a_closed_day_keeps_the_panel_asleep_and_the_next_morning_wakes_it():
    clock, panel = ManualClock(at(21, days=5)), SimulatedPanel()  # Saturday evening
    plan = schedule(clock, panel, wake_before=30)
    plan.update()
    for hour in (7, 12, 19):  # Sunday: closed all day
        clock.set(at(hour, days=6))
        assert plan.update() is True
    clock.set(at(7, 30, days=7))  # Monday, 30 minutes before opening
    assert plan.update() is False
    assert panel.changes == ["sleep", "wake"]


def test_a_failed_switch_is_tried_again_later_and_later_not_on_every_update():
    clock = ManualClock(at(21, days=5))  # Saturday evening; Sunday is closed
    tries = []

    class Unplugged(SimulatedPanel):
        def sleep(self) -> bool:
            tries.append(clock.now())
            return False

    plan = schedule(clock, Unplugged())
    for _ in range(6 * 360):  # six hours of updates, one every 10 s
        plan.update()
        clock.advance(seconds=10)
    gaps = [round((b - a).total_seconds() / 60) for a, b in zip(tries, tries[1:], strict=False)]
    assert gaps[:7] == [1, 2, 4, 8, 16, 32, 60] and set(gaps[7:]) == {60}


# --- HDMI-CEC through cec-ctl -------------------------------------------------------------------

@pytest.fixture
def cec_ctl(tmp_path, monkeypatch):
    """A stand-in `cec-ctl` first on PATH: records each call's arguments, exits with EXIT_CODE."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "cec-calls"
    bin_dir.mkdir()
    script = bin_dir / "cec-ctl"
    script.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexit "${{EXIT_CODE:-0}}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "cec0").touch()
    return lambda: calls.read_text().splitlines() if calls.exists() else []


def test_cec_claims_a_playback_address_once_then_sends_standby_and_image_view_on(tmp_path, cec_ctl):
    panel = find_panel("auto", backlights=tmp_path / "no-backlight", cec_devices=tmp_path / "dev")
    assert isinstance(panel, CecPanel)
    device = str(tmp_path / "dev" / "cec0")
    assert panel.sleep() and panel.wake() and panel.sleep()
    assert cec_ctl() == [f"--device {device} --playback --osd-name mfc-edge",
                         f"--device {device} --to 0 --standby",
                         f"--device {device} --to 0 --image-view-on",
                         f"--device {device} --to 0 --standby"]


def test_a_cec_failure_is_logged_and_reported_not_raised(tmp_path, cec_ctl, monkeypatch, caplog):
    monkeypatch.setenv("EXIT_CODE", "1")
    panel = CecPanel(str(tmp_path / "dev" / "cec0"))
    with caplog.at_level(logging.WARNING):
        assert panel.sleep() is False
    assert "--playback --osd-name mfc-edge failed (1)" in caplog.text
    assert CecPanel(command=str(tmp_path / "no-such-program")).wake() is False


def test_cec_needs_the_adapter_and_the_program(tmp_path, monkeypatch):
    (tmp_path / "dev").mkdir()
    no_adapter = find_panel("cec", cec_devices=tmp_path / "dev")
    assert isinstance(no_adapter, NoPanelControl) and "cecN adapter" in no_adapter.why
    (tmp_path / "dev" / "cec0").touch()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    no_program = find_panel("cec", cec_devices=tmp_path / "dev")
    assert isinstance(no_program, NoPanelControl) and "v4l-utils" in no_program.why


# --- a DSI panel's backlight -------------------------------------------------------------------

def fake_backlight(root: Path) -> Path:
    device = root / "backlight" / "10-0045"
    device.mkdir(parents=True)
    (device / "bl_power").write_text("0\n")
    return root / "backlight"


def test_the_backlight_is_preferred_and_switched_through_bl_power(tmp_path, cec_ctl):
    backlights = fake_backlight(tmp_path)
    panel = find_panel("auto", backlights=backlights, cec_devices=tmp_path / "dev")
    assert isinstance(panel, BacklightPanel)
    bl_power = backlights / "10-0045" / "bl_power"
    assert panel.sleep() and bl_power.read_text() == "4"
    assert panel.wake() and bl_power.read_text() == "0"
    assert cec_ctl() == []


def test_a_backlight_the_app_may_not_write_is_logged(tmp_path, caplog):
    panel = BacklightPanel(tmp_path / "gone")
    with caplog.at_level(logging.WARNING):
        assert panel.sleep() is False
    assert "cannot switch" in caplog.text


def test_none_and_nothing_found_leave_the_panel_lit(tmp_path):
    assert find_panel("none").name == "none"
    nothing = find_panel("auto", backlights=tmp_path / "nope", cec_devices=tmp_path)
    assert isinstance(nothing, NoPanelControl) and "no HDMI-CEC adapter or backlight" in nothing.why
    with pytest.raises(ValueError, match="expected one of auto, cec, backlight, none"):
        find_panel("dpms")


# --- the screens wire it -----------------------------------------------------------------------

def test_the_kiosk_puts_its_panel_to_sleep_at_closing_time(kiosk, clock):
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk

    panel = SimulatedPanel()
    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, panel=panel)
    with HeadlessKiosk(app, (800, 480)) as screens:
        assert panel.changes == ["wake"]
        clock.set(at(20, 0, 1))
        app.tick()
        assert panel.asleep and screens.screen == "closed"
        clock.set(at(7, 46, days=1))
        app.tick()
        assert not panel.asleep and screens.screen == "closed"  # awake, not open yet


def test_signage_panel_settings_are_checked(tmp_path):
    device = load_config(screen_config(tmp_path))
    assert device.signage.panel == "auto" and device.signage.wake_before == 15
    device = load_config(screen_config(tmp_path, extra='panel = "cec"\nwake_before = 45'))
    assert device.signage.panel == "cec" and device.signage.wake_before == 45
    with pytest.raises(ConfigError, match=r"\[signage\] panel = 'dpms': expected one of auto, cec, backlight, none"):
        load_config(screen_config(tmp_path, extra='panel = "dpms"'))
    with pytest.raises(ConfigError, match=r"\[signage\] wake_before = 600: expected minutes from 0 to 240"):
        load_config(screen_config(tmp_path, extra="wake_before = 600"))
