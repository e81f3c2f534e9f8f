"""The suite's per-test time limit, in a pytest of its own: a test that hangs fails within the limit, named, with where it hung, and the other tests go on."""

from __future__ import annotations

import subprocess
import sys
import time
import pytest


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_a_hanging_test_fails_fast_with_its_name(tmp_path):
    (tmp_path / "test_hang.py").write_text(
        "import time\n\n"
        "def test_that_hangs():\n    time.sleep(60)\n\n"
        "def test_after_it():\n    assert True\n")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "timeout=2",
                             "-o", "timeout_method=signal", str(tmp_path / "test_hang.py")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "FAILED test_hang.py::test_that_hangs - Failed: Timeout" in result.stdout, result.stdout
    assert "time.sleep(60)" in result.stdout and "1 failed, 1 passed" in result.stdout
