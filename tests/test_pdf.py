"""The pdf stage's kept auxiliary files: a rebuild equals a clean build byte for byte, and a failed
build adds nothing to ``report/build/`` and cannot spoil the next one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mnist_report import pdf
from mnist_report.common.errors import PipelineError
from mnist_report.reporting import pdflatex

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")

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
