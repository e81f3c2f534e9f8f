"""Small LaTeX documents with cross-references, a table of contents and bookmarks (what the
.aux/.toc/.out carry from one pdflatex pass to the next), the PDF of one built from nothing (the
reference a build is compared with), and the ``stage`` fixture: the pdf stage's folders in a
temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mnist_report import pdf


# Cross-references, a table of contents and hyperref's bookmarks: what the .aux/.toc/.out carry from
# one pdflatex pass to the next. The preamble turns off the date and ID as the report's does.
DOCUMENT = r"""\documentclass{article}
\ifdefined\pdfinfoomitdate\pdfinfoomitdate=1\fi
\ifdefined\pdftrailerid\pdftrailerid{}\fi
\usepackage{hyperref}
\begin{document}
\tableofcontents
%(sections)s
\end{document}
"""


def document(*titles: str, body: str = "") -> str:
    """A document of one section per title, each referring to the first by number and page."""
    sections = "\n".join(rf"\section{{{title}}}\label{{sec:{index}}} See section~\ref{{sec:0}} on page~\pageref{{sec:0}}. {body}"
                         for index, title in enumerate(titles))
    return DOCUMENT % {"sections": sections}


def clean_build(tmp_path: Path, text: str) -> bytes:
    """The PDF of ``text`` built from nothing, in a temporary directory."""
    folder = tmp_path / "clean"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "report.tex").write_text(text)
    pdf.compile_pdf(folder / "report.tex", folder / "report.pdf")
    return (folder / "report.pdf").read_bytes()


@pytest.fixture
def stage(tmp_path):
    """A report/build/ folder and the aux folder of the stage, under tmp_path."""
    build = tmp_path / "report/build"
    build.mkdir(parents=True)
    return build / "report.tex", build / "report.pdf", tmp_path / ".cache/latex"
