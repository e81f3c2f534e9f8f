"""How the diff tests read what latexdiff marks: the document's body, the marks it writes
(``\\DIFaddbegin`` and the rest), and the mark of a test that needs latexdiff."""

from __future__ import annotations

import re
import shutil

import pytest

needs_latexdiff = pytest.mark.skipif(shutil.which("latexdiff") is None, reason="latexdiff not installed")


MARK = re.compile(r"\\DIF(?:add|del)(?:begin|end)?(?:FL)?(?![A-Za-z])")


def body(tex: str) -> str:
    """The text after ``\\begin{document}``."""
    return tex.split("\\begin{document}", 1)[1]
