"""Child processes that die with the stage that started them (pdflatex, pip).

A stage killed outright (SIGKILL: no ``finally`` runs) would leave its child running, writing into a
cache or a temporary directory after the stage is gone. On Linux the child asks the kernel, before it
runs its program, to be sent SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``); it stays in
the stage's process group, so that DVC's kill of the group on Ctrl-C reaches it too. Elsewhere
nothing is asked (the group still is).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

#: prctl option: the signal the calling process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    """Returns libc's prctl, or None where there is none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def dies_with_this_process() -> dict[str, Any]:
    """Returns the keyword arguments of :class:`subprocess.Popen` (or ``run``) that make the child die
    with this process: a ``preexec_fn`` that sets PR_SET_PDEATHSIG to SIGKILL, and exits at once if
    this process died before it could (the child then has another parent)."""
    prctl = _prctl()
    if prctl is None:
        return {}
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return {"preexec_fn": die_with_parent}
