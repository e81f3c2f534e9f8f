"""Where the tests find the project (the checkout they test) and the commands it pins."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

#: The root of the checkout (the folder of pyproject.toml and params.yaml).
REPO = Path(__file__).resolve().parents[2]

#: The venv of the interpreter running the tests (not resolved: .venv/bin/python is a symlink out of the venv).
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The path of the command ``name``: the venv's, else the one on PATH; fails the test when neither is there."""
    found = VENV_BIN / name if (VENV_BIN / name).is_file() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not installed: it is pinned in requirements.lock (bash bootstrap.sh setup)", pytrace=False)
    return str(found)
