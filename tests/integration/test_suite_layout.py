"""The split the suite's folders promise, as pytest collects it: every test in tests/integration/ is
marked slow (left out of the quick subset, ``-m "not slow"``) and none in tests/unit/ is."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support.paths import REPO

pytestmark = pytest.mark.slow  # two collections of the suite (seconds)


def collected(folder: str, marks: str) -> list[str]:
    """The node ids pytest collects in ``folder`` (of tests/) with ``-m marks``, as the suite is configured."""
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             "-p", "no:xdist", "-m", marks, f"tests/{folder}"], cwd=REPO, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: every test deselected
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_every_integration_test_is_slow():
    assert collected("integration", "not slow") == []
    assert len(collected("integration", "slow")) > 50


def test_no_unit_test_is_slow():
    assert collected("unit", "slow") == []
