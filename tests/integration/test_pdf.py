"""The pdf stage compiling with pdflatex (seconds each): a rebuild with the kept auxiliary files equals a clean build, a build past its time leaves nothing."""

from __future__ import annotations

import pytest
from mnist_report import pdf
from mnist_report.common.errors import PipelineError
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
