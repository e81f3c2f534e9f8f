"""The type check that pyproject.toml configures, run as CI runs it (seconds)."""

from __future__ import annotations

import subprocess

import pytest

from support.paths import REPO as ROOT
from support.paths import tool


@pytest.mark.slow
def test_mypy_finds_nothing():
    result = subprocess.run([tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
