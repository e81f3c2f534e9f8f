"""reporting/pdflatex.py: a LaTeX error or warning in the log becomes one line naming it, and a missing TeX says what to install."""

from __future__ import annotations

import pytest
from mnist_report import pdf
from mnist_report.common.errors import PipelineError
from mnist_report.reporting import pdflatex
from support.report_project import needs_tex


@needs_tex
def test_latex_error_is_one_line_with_the_first_message(tmp_path):
    tex_path = tmp_path / "broken.tex"
    tex_path.write_text("\\documentclass{article}\n\\begin{document}\nfine\n\\undefinedmacro\n\\end{document}\n")
    with pytest.raises(PipelineError) as failure:
        pdf.compile_pdf(tex_path, tmp_path / "broken.pdf")
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"{tex_path}:4: LaTeX error: Undefined control sequence")
    assert "\\undefinedmacro" in message
    assert (tmp_path / "broken.log").is_file() and not (tmp_path / "broken.pdf").exists()


def test_latex_warnings_are_one_line_each():
    log = ("Package hyperref Warning: Token not allowed in a PDF string (Unicode):\n"
           "(hyperref)                removing `math shift' on input line 430.\n\n"
           "(/usr/share/texlive/texmf-dist/tex/latex/base/t1cmr.fd)\n"
           "Underfull \\hbox (badness 10000) in paragraph at lines 5--6\n"
           "LaTeX Warning: Reference `x' on page 1 undefined on input line 7.\n"
           "Overfull \\hbox (2.0pt too wide) in paragraph at lines 8--9\n")
    assert pdflatex.latex_warnings(log) == [
        "Package hyperref Warning: Token not allowed in a PDF string (Unicode): removing `math shift' on input line 430.",
        "Underfull \\hbox (badness 10000) in paragraph at lines 5--6",
        "LaTeX Warning: Reference `x' on page 1 undefined on input line 7."]


def test_missing_tex_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(pdflatex.shutil, "which", lambda tool: None)
    with pytest.raises(PipelineError, match=r"^pdflatex not found: install TeX Live: apt-get install texlive-latex-base"):
        pdf.compile_pdf(tmp_path / "report.tex", tmp_path / "report.pdf")


TEX_LINES = r"""\section*{\phantomsection Setup}
Text.
\begin{longtable}{ll}
  \caption{Runs}\label{tab:runs} \\
  a & b \\
\end{longtable}
\task{4c}{Lambda}
A paragraph.
\begin{figure}[htbp]
  \includegraphics{x.png}
  \caption{A figure}
  \label{fig:4c}
\end{figure}
After the figure.
\appendixsection{B}{Provenance}
Files.
""".splitlines()


@pytest.mark.parametrize("line, place", [
    (2, "Setup"), (5, "table tab:runs"), (8, "Task 4c"), (10, "figure fig:4c"), (13, "figure fig:4c"),
    (14, "Task 4c"), (16, "Appendix B"),
])
def test_a_line_of_the_tex_is_named_by_its_table_figure_or_task(line, place):
    assert pdflatex.place_in_tex(TEX_LINES, line) == place


def test_a_float_too_large_or_a_box_far_too_wide_is_content_off_the_page():
    assert pdflatex.content_off_the_page("LaTeX Warning: Float too large for page by 1636.0pt on input line 10.\n",
                                    TEX_LINES) == (
        "10: figure fig:4c is 1636pt taller than the page (LaTeX leaves it and every float after it out of the "
        "PDF); expected it to fit on a page")
    found = pdflatex.content_off_the_page("Overfull \\hbox (360.5pt too wide) in alignment at lines 5--6\n", TEX_LINES)
    assert found.startswith("5: table tab:runs is 360.5pt wider than the text (Overfull \\hbox (360.5pt too wide)")
    assert found.endswith("expected it to fit, within 10pt")
    assert pdflatex.content_off_the_page("Overfull \\vbox (30pt too high) detected at line 8\n", TEX_LINES).startswith(
        "8: Task 4c is 30pt taller than the page")
    # At the limit and below it the PDF is kept (a warning only).
    assert pdflatex.content_off_the_page("Overfull \\hbox (10.0pt too wide) in paragraph at lines 8--8\n", TEX_LINES) is None
    assert pdflatex.content_off_the_page("Underfull \\hbox (badness 10000) in paragraph at lines 8--8\n", TEX_LINES) is None
