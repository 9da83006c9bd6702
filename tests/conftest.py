"""Kivy is set up headless here, before any test imports it; the shared fixtures come from the
plugins below, plain helpers from the modules of tests.helpers."""
from __future__ import annotations

import pytest

from hardware.display import prepare_kivy

prepare_kivy((1280, 800), headless=True)

pytest.register_assert_rewrite("tests.helpers")

pytest_plugins = ["tests.helpers.devices", "tests.helpers.postgres", "tests.helpers.city"]
