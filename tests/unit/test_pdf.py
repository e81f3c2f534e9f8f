"""The pdf stage's refusals in one line, and the built report as a reader sees it (its fonts, vectors
and pages). A failed build that adds nothing to ``report/build/``, and the builds that compile
documents, are in tests/integration/test_pdf.py."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

import pytest

from mnist_report import pdf
from mnist_report.common.errors import PipelineError
from mnist_report.reporting import pdflatex
from support.paths import REPO as ROOT
from support.latex_documents import clean_build, document, stage  # noqa: F401  (fixtures)
from support.report_project import needs_tex

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
#: The built report (report/build/report.pdf, after `dvc repro`), read with Poppler's tools (pdffonts,
#: pdfimages, pdftoppm), not with the pipeline: figures printed as vectors in the fonts of the text around
#: them, and floats placed so that no page before the last is left half empty.
REPORT = ROOT / "report/build/report.pdf"
needs_poppler = pytest.mark.skipif(shutil.which("pdffonts") is None or shutil.which("pdftoppm") is None,
                                   reason="Poppler's tools not installed (bash bootstrap.sh installs poppler-utils)")






def test_a_tex_name_that_tex_would_read_as_code_is_refused_in_one_line(tmp_path):
    tex = tmp_path / "my report}.tex"
    tex.write_text(document("Alpha"))
    with pytest.raises(PipelineError, match=r"^my report\}\.tex: expected a \.tex file name of letters"):
        pdf.compile_pdf(tex, tmp_path / "report.pdf")
    assert sorted(path.name for path in tmp_path.iterdir()) == [tex.name]


def test_the_pdf_streams_are_compressed_at_the_chosen_level(tmp_path, stage):
    """pdfTeX records no level in the PDF: a stream of the PDF is inflated and deflated again at
    COMPRESS_LEVEL with zlib, the library pdfTeX uses, and must come out the same bytes (at level 9
    they differ for a long enough stream)."""
    import re
    import zlib

    tex, out, aux = stage
    tex.write_text(document("Alpha", body="Words " * 2000))
    pdf.compile_pdf(tex, out)
    streams = re.findall(rb"/Filter /FlateDecode[^>]*>>\s*stream\r?\n(.*?)\r?\nendstream", out.read_bytes(), re.S)
    longest = max(streams, key=len)
    raw = zlib.decompress(longest)
    assert len(raw) > 10_000
    assert zlib.compress(raw, pdflatex.COMPRESS_LEVEL) == longest
    assert zlib.compress(raw, 9) != longest


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


@needs_poppler
def test_figures_print_as_vectors_in_the_documents_fonts(report):
    found = fonts(report)
    # The body's Latin Modern, and the figures' own text in Computer Modern (Latin Modern is drawn
    # from it), embedded: text a PNG would have turned into pixels.
    assert {"Cmr10", "Cmsy10"} <= found, found
    assert all(name.startswith(("LM", "Cm")) for name in found), found
    # No raster image but the weight images of figure 4b, which are images by nature.
    assert images(report) == images(ROOT / "report/build/figures/4b_weights.pdf") > 0


@needs_poppler
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


def test_pdf_stage_prints_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pdflatex.shutil, "which", lambda tool: None)
    assert pdf.main(["--tex", str(tmp_path / "report.tex"), "--pdf", str(tmp_path / "report.pdf")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: pdflatex not found")


@needs_tex
def test_content_off_the_page_fails_the_stage_in_one_line_and_writes_no_pdf(tmp_path, capsys):
    tex = tmp_path / "report.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n\\section*{Wide}\n"
                   "\\mbox{\\rule{600pt}{1pt}}\n\\end{document}\n")
    out = tmp_path / "report.pdf"
    out.write_bytes(b"the last good PDF")
    assert pdf.main(["--tex", str(tex), "--pdf", str(out), "--aux-dir", str(tmp_path / "aux")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {tex}:4: Wide is ") and "pt wider than the text" in err
    assert out.read_bytes() == b"the last good PDF"
