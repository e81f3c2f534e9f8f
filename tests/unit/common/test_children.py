"""common/children.py: a child started with ``dies_with_this_process()`` asks the kernel to SIGKILL it
when its parent dies; the kernel's own record of that (``prctl(PR_GET_PDEATHSIG)``, read in the child)
is the reference."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from mnist_report.common.children import dies_with_this_process

#: Prints the signal the kernel sends this process when its parent dies (0: none), by prctl(2).
READ_PDEATHSIG = ("import ctypes, ctypes.util\n"
                  "libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)\n"
                  "value = ctypes.c_int()\n"
                  "assert libc.prctl(2, ctypes.byref(value)) == 0  # PR_GET_PDEATHSIG\n"
                  "print(value.value)\n")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


def parent_death_signal(**popen_arguments) -> int:
    """The parent-death signal of a child Python started with ``popen_arguments``."""
    result = subprocess.run([sys.executable, "-c", READ_PDEATHSIG], capture_output=True, text=True, check=True,
                            timeout=60, **popen_arguments)
    return int(result.stdout)


def test_a_child_started_with_it_is_killed_with_sigkill_when_this_process_dies():
    assert parent_death_signal(**dies_with_this_process()) == signal.SIGKILL


def test_a_child_started_without_it_is_not():
    assert parent_death_signal() == 0
