"""The built report as a reader sees it (report/build/report.pdf, after `dvc repro`): figures printed
as vectors in the fonts of the text around them, and floats placed so that no page before the last is
left half empty. Read with Poppler's tools (pdffonts, pdfimages, pdftoppm), not with the pipeline."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "report/build/report.pdf"

pytestmark = [
    pytest.mark.skipif(shutil.which("pdffonts") is None or shutil.which("pdftoppm") is None,
                       reason="Poppler's tools not installed (bash bootstrap.sh installs poppler-utils)"),
]


@pytest.fixture(scope="module")
def report() -> Path:
    if not REPORT.exists():
        pytest.skip(f"{REPORT.relative_to(ROOT)} missing: run `dvc repro` (or `dvc checkout`) first")
    return REPORT


def fonts(pdf: Path) -> set[str]:
    """The base names of the fonts ``pdf`` embeds (subset prefixes dropped), as pdffonts lists them."""
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    return {re.sub(r"^[A-Z]{6}\+", "", line.split()[0]) for line in listing.splitlines()[2:] if line.strip()}


def images(pdf: Path) -> int:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return len(listing.splitlines()[2:])


def test_figures_print_as_vectors_in_the_documents_fonts(report):
    found = fonts(report)
    # The body's Latin Modern, and the figures' own text in Computer Modern (Latin Modern is drawn
    # from it), embedded: text a PNG would have turned into pixels.
    assert {"Cmr10", "Cmsy10"} <= found, found
    assert all(name.startswith(("LM", "Cm")) for name in found), found
    # No raster image but the weight images of figure 4b, which are images by nature.
    assert images(report) == images(ROOT / "report/build/figures/4b_weights.pdf") > 0


def test_no_page_but_the_last_is_left_half_empty(report, tmp_path):
    from PIL import Image

    subprocess.run(["pdftoppm", "-png", "-r", "30", str(report), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) > 2
    for page in pages[:-1]:
        ink = np.asarray(Image.open(io.BytesIO(page.read_bytes())).convert("L")) < 200
        height = ink.shape[0]
        rows = np.flatnonzero(ink.any(axis=1))
        body = rows[rows < 0.86 * height]  # the text area ends at 88 % of the page (25 mm margins); the folio is below
        lowest = body.max() / height
        assert lowest > 0.75, f"{page.name}: the text and floats end at {lowest:.0%} of the page height"


@pytest.mark.slow  # compiles a small document with pdflatex
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_a_table_waiting_at_an_appendix_heading_lets_the_text_fill_the_page(tmp_path):
    # The report's preamble (its float macros) with a page of text, a table too tall for what is left
    # of the page, then the next appendix: its text fills the page and the table heads the next one.
    # A hard barrier at the heading (floatbarrier) would end the page half empty (issue: Table 5).
    from test_report import make_repo, render_repo

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
