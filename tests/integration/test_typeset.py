"""Every character the params check lets through to the PDF typesets: the report, compiled with a
title and authors made of all of them (and run names using every character a run name may have),
builds without a LaTeX error, and the characters outside the set are the ones pdflatex refuses."""

from __future__ import annotations

import subprocess

import pytest

from mnist_report import pdf
from mnist_report.common.errors import PipelineError
from mnist_report.config.params import check_params
from mnist_report.config.texts import TYPESET_CHARACTERS
from support.report_project import make_repo, needs_tex, render_repo


def chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


@needs_tex
@pytest.mark.slow  # compiles the report with pdflatex
def test_the_report_typesets_every_character_the_params_check_accepts(tmp_path):
    params = make_repo(tmp_path)
    printable = "".join(sorted(c for c in TYPESET_CHARACTERS if c not in "\t\n\r"))
    # Words of a few characters, so that the title can break into lines.
    params["report"]["title"] = " ".join(chunks(printable[:len(printable) // 2], 12)) + "\tend\n"
    params["report"]["authors"] = chunks(printable[len(printable) // 2:], 12)
    check_params(params)
    tex_path = tmp_path / "report/build/report.tex"
    tex_path.parent.mkdir(parents=True, exist_ok=True)
    tex_path.write_text(render_repo(tmp_path, params))
    pdf.compile_pdf(tex_path, tmp_path / "report/build/report.pdf")  # raises PipelineError on a LaTeX error
    text = subprocess.run(["pdftotext", str(tmp_path / "report/build/report.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode()
    # The letters really print (T1 has Latin-1's letters as glyphs; others are built with accents,
    # which text extraction returns decomposed).
    flat = "".join(text.split())
    assert [c for c in map(chr, range(0xC0, 0x100)) if c not in "×÷" and c not in flat] == []


@needs_tex
@pytest.mark.slow  # compiles the report with pdflatex
@pytest.mark.parametrize("character", ["\U0001F600", "数", "Ω", "Ж", "\u0127"])
def test_a_character_outside_the_set_really_stops_pdflatex(tmp_path, character):
    # Why the check refuses them: rendered past it, pdflatex fails on them at the pdf stage.
    params = make_repo(tmp_path)
    checked = check_params(params)
    params["report"]["title"] = f"Report {character}"
    with pytest.raises(PipelineError, match="^report.title = "):
        check_params(params)
    # Past the check: the checked params with the title changed afterwards (model_copy does not validate).
    unchecked = checked.model_copy(update={"report": checked.report.model_copy(update={"title": f"Report {character}"})})
    tex_path = tmp_path / "report/build/report.tex"
    tex_path.parent.mkdir(parents=True, exist_ok=True)
    tex_path.write_text(render_repo(tmp_path, unchecked))
    with pytest.raises(PipelineError, match="LaTeX error"):
        pdf.compile_pdf(tex_path, tmp_path / "report/build/report.pdf")
