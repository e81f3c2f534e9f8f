"""The suite's per-test time limit (pytest-timeout, pinned in requirements.lock): a test that hangs
fails within the limit, named, with where it hung, and the other tests go on."""

from __future__ import annotations

import tomllib
from support.paths import REPO


ROOT = REPO


def test_the_suite_has_a_per_test_time_limit_and_the_lock_pins_its_plugin():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert 0 < int(options["timeout"]) <= 300 and options["timeout_method"] == "signal"
    assert "pytest-timeout==2.4.0" in (ROOT / "requirements.lock").read_text().splitlines()
