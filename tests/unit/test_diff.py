"""The diff stage's entry point: a missing latexdiff or TeX is one line naming what to install."""

from __future__ import annotations

import shutil


def test_missing_latexdiff_or_tex_is_one_line(monkeypatch, capsys):
    from mnist_report import diff

    real_which = shutil.which
    for missing, expected in (("latexdiff", "error: latexdiff not found: install latexdiff: apt-get install latexdiff"),
                              ("pdflatex", "error: pdflatex not found: install TeX Live")):
        monkeypatch.setattr(shutil, "which", lambda tool, *args, **kwargs: None if tool == missing else real_which(tool))
        assert diff.main(["HEAD"]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.splitlines()) == 1
        assert captured.err.startswith(expected), captured.err
