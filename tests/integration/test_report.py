"""The report compiled to a PDF by pdflatex (seconds each): every task and number shows in the text, the
summary report resolves every reference, and a change of numbers compiles in one pass to a clean
build's PDF."""

from __future__ import annotations

import subprocess

import pytest

from mnist_report import pdf
from mnist_report.reporting.published import PUBLISHED
from support.report_project import (HAVE_TEX, NASTY, TASK_HEADINGS, change_the_numbers, make_repo, needs_tex, render_repo,
                                    rewrite_metric)


@needs_tex
@pytest.mark.slow  # compiles the report with pdflatex
def test_the_summary_report_compiles_with_no_unresolved_reference(tmp_path):
    params = make_repo(tmp_path)
    params["report"]["provenance"] = "summary"
    tex_path = tmp_path / "report/build/report.tex"
    tex_path.parent.mkdir(parents=True, exist_ok=True)
    tex_path.write_text(render_repo(tmp_path, params))
    compiled = pdf.compile_pdf(tex_path, tmp_path / "report/build/report.pdf")
    assert compiled.warnings == [] and compiled.overfull == []
    text = subprocess.run(["pdftotext", str(tmp_path / "report/build/report.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode()
    assert "??" not in text and "Drawn by stage" not in text and "Appendix A" in text


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_TEX, reason="pdflatex not installed")
def test_a_change_of_learning_rate_and_numbers_compiles_in_one_pass_to_the_clean_builds_pdf(tmp_path):
    params = make_repo(tmp_path)
    tex, aux = tmp_path / "report/build/report.tex", tmp_path / "aux"
    tex.parent.mkdir(parents=True, exist_ok=True)
    tex.write_text(render_repo(tmp_path, params))
    assert pdf.compile_pdf(tex, tmp_path / "first.pdf", aux_dir=aux).passes >= 2  # no .aux yet: labels need two
    tex.write_text(render_repo(tmp_path, change_the_numbers(tmp_path, params)))
    again = pdf.compile_pdf(tex, tmp_path / "again.pdf", aux_dir=aux)
    clean = pdf.compile_pdf(tex, tmp_path / "clean.pdf")
    assert again.passes == 1
    assert (tmp_path / "again.pdf").read_bytes() == (tmp_path / "clean.pdf").read_bytes()
    assert clean.overfull == again.overfull == []


@needs_tex
@pytest.mark.slow  # compiles the report with pdflatex
def test_compiled_report_shows_every_task_and_the_numbers(tmp_path):
    params = make_repo(tmp_path)
    params["report"]["title"] = NASTY
    rewrite_metric(tmp_path, "binary", val_loss=float(PUBLISHED["binary"]["val_loss"]) * 1.001)
    tex_path = tmp_path / "report/build/report.tex"
    tex_path.parent.mkdir(parents=True, exist_ok=True)
    tex_path.write_text(render_repo(tmp_path, params))
    pdf_path = tmp_path / "report/build/report.pdf"
    compiled = pdf.compile_pdf(tex_path, pdf_path)
    assert compiled.overfull == []
    assert compiled.warnings == []  # no underfull box, no bookmark that lost a token (hyperref)
    first = pdf_path.read_bytes()
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, check=True).stdout.decode()
    flat = " ".join(text.split())
    assert NASTY in flat
    positions = [flat.index(heading + ":") for heading in TASK_HEADINGS]
    assert positions == sorted(positions)
    for number in ("0.0651", "92.25 %", "91.57 %", "0.06509106268432195", "0.9157", "MISMATCH",
                   "1 of the 10 values disagree", "Appendix A", "Appendix B"):
        assert number in flat, number
    assert "VAR{" not in flat and "BLOCK{" not in flat
    # The same .tex and figures give the same bytes.
    pdf.compile_pdf(tex_path, pdf_path)
    assert pdf_path.read_bytes() == first
    assert not (tmp_path / "report/build/report.log").exists()
