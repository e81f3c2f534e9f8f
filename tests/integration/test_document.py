"""The built report as a reader sees it (report/build/report.pdf, after `dvc repro`): figures printed
as vectors in the fonts of the text around them, and floats placed so that no page before the last is
left half empty. Read with Poppler's tools (pdffonts, pdfimages, pdftoppm), not with the pipeline."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support.report_project import make_repo, render_repo
from support.paths import REPO

ROOT = REPO
REPORT = ROOT / "report/build/report.pdf"

pytestmark = [
    pytest.mark.skipif(shutil.which("pdffonts") is None or shutil.which("pdftoppm") is None,
                       reason="Poppler's tools not installed (bash bootstrap.sh installs poppler-utils)"),
]


@pytest.mark.slow  # compiles a small document with pdflatex
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_a_table_waiting_at_an_appendix_heading_lets_the_text_fill_the_page(tmp_path):
    # The report's preamble (its float macros) with a page of text, a table too tall for what is left
    # of the page, then the next appendix: its text fills the page and the table heads the next one.
    # A hard barrier at the heading (floatbarrier) would end the page half empty (issue: Table 5).

    from mnist_report import pdf

    tex = render_repo(tmp_path, make_repo(tmp_path))
    preamble = tex[:tex.index(r"\begin{document}")]
    words = " ".join(f"word{i}" for i in range(420))
    body = (r"\begin{document}" "\n\\appendixsection{A}{First}\n" + words + "\n"
            r"\begin{table}[htbp]\centering\rule{2cm}{0.45\textheight}\caption{Tall.}\end{table}" "\n"
            "\\appendixsection{B}{Second}\nSECONDSTART " + words + "\n\\end{document}\n")
    (tmp_path / "doc.tex").write_text(preamble + body)
    pdf.compile_pdf(tmp_path / "doc.tex", tmp_path / "doc.pdf")
    pages = subprocess.run(["pdftotext", str(tmp_path / "doc.pdf"), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    assert "SECONDSTART" in pages[0] and "Tall." in pages[1], [page[:80] for page in pages]
