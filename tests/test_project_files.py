"""The files of a project others reuse: the lint and type checks that pyproject.toml configures
(CI runs the same two commands, .ci/run)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = VENV_BIN / name if (VENV_BIN / name).is_file() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not installed: it is pinned in requirements.lock (bash bootstrap.sh setup)", pytrace=False)
    return str(found)


def test_ruff_finds_nothing():
    result = subprocess.run([tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_nothing():
    result = subprocess.run([tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
