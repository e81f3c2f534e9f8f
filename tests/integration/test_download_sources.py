"""Why a data source is never handed to pip as a plain argument: pip really runs a local directory's
setup.py. Slow: it runs pip."""

from __future__ import annotations


import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.mnist_server import closed_port_url, fail_on_second_write, not_found, servers, synthetic  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def evil_project(directory: Path, marker: Path) -> Path:
    """A local project whose setup.py touches ``marker``: what pip runs to read its metadata."""
    directory.mkdir(parents=True)
    (directory / "setup.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
                                        "from setuptools import setup\nsetup(name='evil', version='1.0')\n")
    return directory


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None and not os.environ.get("PIP_FIND_LINKS"),
                    reason="pip needs setuptools to build the payload's metadata")
def test_a_local_directory_really_runs_its_setup_py_when_handed_to_pip_plainly(tmp_path):
    # The threat is real: pip runs a local directory's setup.py even with --only-binary=:all:, which is
    # what a `pypi:<directory>` source did before sources were restricted.
    marker = tmp_path / "MARKER"
    project = evil_project(tmp_path / "evil", marker)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                    "--dest", str(tmp_path / "wheels"), str(project)], capture_output=True, timeout=300)
    assert marker.exists()
