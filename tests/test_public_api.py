"""The small Python API the README promises to people who script or embed the devices."""
from __future__ import annotations

import re
from pathlib import Path

from tests.helpers.devices import write_config

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### For people who script or embed the devices"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(tmp_path, printer, capsys):
    config = write_config(tmp_path, printer_uri=printer.uri)
    code = readme_example().replace('"/etc/mfc-edge/kiosk.toml"', repr(str(config)))
    exec(compile(code, "README.md", "exec"), {})
    number, minutes = capsys.readouterr().out.split()
    assert re.fullmatch(r"П\d{3}", number) and int(minutes) >= 0
    assert printer.wait_for_jobs(1)


def test_the_stable_names_are_where_the_readme_says():
    from hardware.clock import ManualClock, SystemClock
    from hub.db import HubDB
    from hub.identity import Identity
    from kiosk.wiring import Kiosk, open_kiosk
    from mfc_edge.config import DeviceConfig, load_config

    assert callable(load_config) and callable(open_kiosk) and DeviceConfig and Kiosk
    assert SystemClock().now().tzinfo is not None and ManualClock
    assert HubDB.__module__.startswith("hub.") and Identity.__module__.startswith("hub.")
