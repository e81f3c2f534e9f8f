"""The pdf stage compiling with pdflatex (seconds each): a rebuild with the kept auxiliary files equals a
clean build, a build past its time leaves nothing, a failed build adds nothing to ``report/build/``
and cannot spoil the next one, a document that never settles is refused."""

from __future__ import annotations

import pytest
from mnist_report import pdf
from mnist_report.common.errors import PipelineError
from mnist_report.reporting import pdflatex
from support.latex_documents import clean_build, document, stage  # noqa: F401  (fixtures)


@pytest.mark.slow
@pytest.mark.parametrize("edit", [
    pytest.param(("Alpha", "Beta"), id="text-only"),
    pytest.param(("Alpha", "Gamma", "Beta"), id="a-section-more-moves-the-references-and-contents"),
    pytest.param(("Beta",), id="a-section-less"),
])
def test_rebuild_with_kept_aux_files_equals_a_clean_build(tmp_path, stage, edit):
    tex, out, aux = stage
    tex.write_text(document("Alpha", "Beta"))
    pdf.compile_pdf(tex, out, aux_dir=aux)
    assert (aux / "report.aux").is_file()  # kept for the next build

    changed = document(*edit, body="Changed text.")
    tex.write_text(changed)
    compiled = pdf.compile_pdf(tex, out, aux_dir=aux)
    clean = clean_build(tmp_path, changed)
    assert out.read_bytes() == clean
    if edit == ("Alpha", "Beta"):  # nothing a cross-reference points to moved: one pass suffices
        assert compiled.passes == 1
    # The same again: nothing changed, yet it runs once (never an old PDF), with the same bytes.
    assert pdf.compile_pdf(tex, out, aux_dir=aux).passes == 1
    assert out.read_bytes() == clean


@pytest.mark.slow
def test_a_build_that_times_out_leaves_no_auxiliary_files(tmp_path, stage):
    tex, out, aux = stage
    # \loop forever: pdflatex never finishes on its own.
    tex.write_text("\\documentclass{article}\\begin{document}x\\label{a}\\loop\\iftrue\\repeat\\end{document}\n")
    with pytest.raises(PipelineError, match="did not finish within 2 seconds"):
        pdf.compile_pdf(tex, out, aux_dir=aux, timeout=2)
    assert not out.exists()
    assert (sorted(path.name for path in aux.iterdir()) if aux.exists() else []) in ([], ["report.log"])
    assert sorted(path.name for path in tex.parent.iterdir()) == ["report.tex"]
    assert sorted(path.name for path in aux.parent.iterdir()) in ([], ["latex"])


@pytest.mark.slow
def test_failed_stage_adds_nothing_to_report_build_and_does_not_spoil_the_next_build(tmp_path, stage, capsys):
    tex, out, aux = stage
    good = document("Alpha", "Beta")
    tex.write_text(good)
    arguments = ["--tex", str(tex), "--pdf", str(out), "--aux-dir", str(aux)]
    assert pdf.main(arguments) == 0
    before = {path.name: path.read_bytes() for path in tex.parent.iterdir()}
    kept = {path.name: path.read_bytes() for path in aux.iterdir() if path.suffix != ".log"}

    # Fails after the .aux has been written: a label, then an undefined macro at the end.
    tex.write_text(good.replace(r"\end{document}", "\\section{Delta}\\label{sec:new}\n\\undefinedmacro\n\\end{document}"))
    capsys.readouterr()
    assert pdf.main(arguments) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "LaTeX error: Undefined control sequence" in err and "\\undefinedmacro" in err
    assert f"(log: {aux / 'report.log'})" in err
    after = {path.name: path.read_bytes() for path in tex.parent.iterdir()}
    assert sorted(after) == sorted(before) == ["report.pdf", "report.tex"]
    assert after["report.pdf"] == before["report.pdf"]  # the last good PDF, untouched
    # The failed build's files are gone: the last good build's are kept as they were, with the failed log.
    assert {path.name: path.read_bytes() for path in aux.iterdir() if path.suffix != ".log"} == kept
    assert "Undefined control sequence" in (aux / "report.log").read_text()
    assert [path.name for path in aux.parent.iterdir()] == ["latex"]  # no copy of the cache left behind

    # The next build starts clean and gives a clean build's bytes.
    tex.write_text(good)
    assert pdf.main(arguments) == 0
    assert out.read_bytes() == clean_build(tmp_path, good)


@pytest.mark.slow
def test_a_document_whose_auxiliary_file_never_settles_is_refused_after_max_passes(tmp_path, stage):
    tex, out, aux = stage
    # Each pass writes to the .aux one more than the count it read from it: no pass is the last.
    tex.write_text("\\documentclass{article}\\makeatletter\\providecommand\\passes{0}\n"
                   "\\begin{document}\\count255=\\passes\\advance\\count255 by 1\n"
                   "\\immediate\\write\\@auxout{\\gdef\\string\\passes{\\the\\count255}}Pass \\the\\count255.\n"
                   "\\end{document}\n")
    with pytest.raises(PipelineError, match=f"still changed after {pdflatex.MAX_PASSES} pdflatex passes"):
        pdf.compile_pdf(tex, out, aux_dir=aux)
    assert not out.exists()
    assert sorted(path.name for path in aux.iterdir()) == ["report.log"]
