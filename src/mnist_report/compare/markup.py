"""The report diff (``python -m mnist_report.diff [OLD [NEW]]``): what changed in the report between two revisions.

OLD and NEW are git revisions (``HEAD``, ``HEAD~1``, a branch, a commit) or experiment names as
``dvc exp show`` lists them (``softmax-lr-0-02``, or the experiment's commit); OLD defaults to
``HEAD`` and NEW to the workspace (``workspace``, as ``dvc exp show`` calls it). Writes
``report/build/diff.pdf``: the NEW report with the changes since OLD marked by ``latexdiff``: text,
numbers and table cells struck out in red and inserted in blue. A figure whose image differs
between the two is marked "[Figure changed]" in its caption and shown before (OLD, left) and after
(NEW, right). Prints one line: the path and how many places changed.

Where each side comes from (:mod:`mnist_report.compare.revisions`; nothing is re-rendered):

- ``report/build/report.tex`` of a revision is the DVC output that revision's ``dvc.lock`` records:
  read from the DVC cache by its md5, fetched from the default remote if the cache lacks it, and
  checked against that md5. Of the workspace: the file as it is (a warning when ``dvc status``
  says the report is out of date).
- The figures (``report/figures/``, committed with git: plots with ``cache: false``) of a
  revision are that commit's blobs; of the workspace, the files. They are compared byte for byte.

Refusals are one line and exit 1: an unknown revision, a revision without the pipeline (no
``dvc.lock`` entry for the report), a report DVC has no copy of (with the commands that rebuild
it), latexdiff or TeX missing (with what to install), a LaTeX error. The PDF is written
atomically; everything else happens in a temporary directory, so nothing is left in
``report/build/`` on failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mnist_report.common.errors import PipelineError
from mnist_report.common.files import write_bytes
from mnist_report.compare.revisions import FIGURES_DIR, REPORT_TEX, Side
from mnist_report.reporting.pdflatex import compile_pdf

DIFF_PDF = Path("report/build/diff.pdf")
#: A figure of NEW whose file OLD lacks, or whose bytes differ.
NEW_FIGURE, CHANGED_FIGURE = "new", "changed"
GRAPHICS_EXTENSIONS = (".png", ".pdf", ".jpg", ".jpeg", ".eps")
LATEXDIFF_HINT = "install latexdiff: apt-get install latexdiff texlive-plain-generic"
#: latexdiff's preamble loads these; the Debian package of TeX Live that holds each, for the hint.
STYLE_PACKAGES = {"ulem": "texlive-plain-generic", "settobox": "texlive-latex-base",
                  "letltxmacro": "texlive-latex-base", "listings": "texlive-latex-recommended",
                  "color": "texlive-latex-base"}
#: --no-label: no file names and dates in the output (the same inputs give the same PDF);
#: UNDERLINE: deleted text struck out in red, inserted text wavy-underlined in blue.
LATEXDIFF_OPTIONS = ("--no-label", "--type=UNDERLINE", "--subtype=SAFE", "--encoding=utf8")
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Diff:
    """What :func:`make_diff` produced: the marked-up LaTeX, its places changed (text and figures)."""

    tex: str
    text_places: int
    figures: dict[str, str]  # figure -> NEW_FIGURE / CHANGED_FIGURE, those the report shows

    @property
    def places(self) -> int:
        return self.text_places + len(self.figures)


# ------------------------------------------------------------------------------------ latexdiff

def find_latexdiff() -> str:
    """Returns the path of latexdiff; raises PipelineError naming what to install."""
    path = shutil.which("latexdiff")
    if path is None:
        raise PipelineError(f"latexdiff not found: {LATEXDIFF_HINT}")
    return path


def run_latexdiff(old_tex: str, new_tex: str, work: Path) -> str:
    """Returns latexdiff's marked-up LaTeX of ``new_tex`` against ``old_tex`` (files in ``work``)."""
    latexdiff = find_latexdiff()
    (work / "old.tex").write_text(old_tex, encoding="utf-8")
    (work / "new.tex").write_text(new_tex, encoding="utf-8")
    try:
        result = subprocess.run([latexdiff, *LATEXDIFF_OPTIONS, "old.tex", "new.tex"], cwd=work,
                                capture_output=True, timeout=TIMEOUT_SECONDS, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"latexdiff did not finish within {TIMEOUT_SECONDS} seconds") from None
    except OSError as error:
        raise PipelineError(f"cannot run latexdiff ({error.strerror or error}): {LATEXDIFF_HINT}") from error
    if result.returncode != 0 or not result.stdout.strip():
        errors = [line for line in result.stderr.decode(errors="replace").splitlines()
                  if line.strip() and not line.startswith("Wide character")]
        raise PipelineError(f"latexdiff failed (exit {result.returncode})" + (f": {errors[-1].strip()}" if errors else ""))
    return result.stdout.decode("utf-8")


def missing_styles(tex: str) -> list[str]:
    """Returns the packages the preamble of ``tex`` loads with ``\\RequirePackage`` that TeX cannot
    find (``kpsewhich``); empty when kpsewhich itself is missing (compiling will then say more)."""
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return []
    preamble = tex.split("\\begin{document}", 1)[0]
    names = sorted({name.strip() for group in re.findall(r"\\RequirePackage\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}", preamble)
                    for name in group.split(",") if name.strip()})
    missing = []
    for name in names:
        found = subprocess.run([kpsewhich, f"{name}.sty"], capture_output=True, check=False, timeout=60)
        if found.returncode != 0 or not found.stdout.strip():
            missing.append(name)
    return missing


_MARK = re.compile(r"\\DIF(add|del)(begin|end)(?:FL)?(?![A-Za-z])")


def count_places(diff_tex: str) -> int:
    """Returns how many places latexdiff marked in the document body: each ``\\DIFaddbegin`` or
    ``\\DIFdelbegin`` block, a deletion directly followed by an insertion (a replacement, as
    latexdiff writes ``0.05`` -> ``0.06``) counting once."""
    body = diff_tex.split("\\begin{document}", 1)[-1]
    places, deletion_end = 0, None
    for mark in _MARK.finditer(body):
        kind, edge = mark.groups()
        if edge == "end":
            deletion_end = mark.end() if kind == "del" else None
            continue
        if not (kind == "add" and deletion_end is not None and not body[deletion_end:mark.start()].strip()):
            places += 1
        deletion_end = None
    return places


# ------------------------------------------------------------------------------------- figures

def figure_changes(old: Side, new: Side) -> dict[str, str]:
    """Returns the figures of NEW that OLD lacks (NEW_FIGURE) or that differ in a byte (CHANGED_FIGURE)."""
    return {name: (CHANGED_FIGURE if name in old.figures else NEW_FIGURE)
            for name, data in sorted(new.figures.items()) if old.figures.get(name) != data}


def figure_key(reference: str, names: Sequence[str]) -> str | None:
    """Returns which figure file ``\\includegraphics{reference}`` shows, among ``names`` (paths under
    report/figures/): the name itself, or with an image extension added, as graphicx tries them."""
    reference = reference.strip()
    for candidate in (reference, *(reference + extension for extension in GRAPHICS_EXTENSIONS)):
        if candidate in names:
            return candidate
    return None


def tex_escape(text: str) -> str:
    """Escapes the characters a git ref or experiment name may hold that LaTeX treats specially."""
    return re.sub(r"([&%$#_{}])", r"\\\1", text).replace("~", r"\textasciitilde{}").replace("^", r"\textasciicircum{}")


FIGURE_PREAMBLE = r"""%DIF MNIST-REPORT: figures whose image changed (mnist_report.diff)
\DeclareRobustCommand{\DIFfigurechanged}{{\color{blue}\textbf{[Figure changed]}}\ }
\DeclareRobustCommand{\DIFfigurenew}{{\color{blue}\textbf{[New figure]}}\ }
\newcommand{\DIFfigurepair}[2]{% #1: the OLD image, #2: the NEW image, side by side
  \begin{minipage}[b]{0.485\linewidth}\centering
    {\color{red}\fboxsep=0pt\fbox{\includegraphics[width=\linewidth,height=0.3\textheight,keepaspectratio]{#1}}}\\[2pt]
    {\footnotesize\color{red}before: <OLD>}
  \end{minipage}\hfill
  \begin{minipage}[b]{0.485\linewidth}\centering
    {\color{blue}\fboxsep=0pt\fbox{\includegraphics[width=\linewidth,height=0.3\textheight,keepaspectratio]{#2}}}\\[2pt]
    {\footnotesize\color{blue}after: <NEW>}
  \end{minipage}}
"""

_INCLUDE = re.compile(r"\\includegraphics\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
_CAPTION = re.compile(r"\\caption\s*(?:\[[^\]]*\])?\s*\{")
_END_FIGURE = re.compile(r"\\end\{figure\*?\}")


def mark_figures(diff_tex: str, changes: dict[str, str], old_folder: str, old_label: str,
                 new_label: str) -> tuple[str, dict[str, str]]:
    """Marks the figures of ``changes`` in latexdiff's output; returns the LaTeX and those marked.

    A changed figure's ``\\includegraphics`` becomes ``\\DIFfigurepair{<old_folder>/<file>}{<file>}``
    (before and after side by side), a new one keeps its image; the caption of its figure
    environment starts with ``\\DIFfigurechanged`` / ``\\DIFfigurenew`` (a figure without a caption
    gets the mark below the image)."""
    start = diff_tex.find("\\begin{document}")
    if start < 0:
        raise PipelineError("latexdiff's output has no \\begin{document}")
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied from the end
    marked: dict[str, str] = {}
    for include in _INCLUDE.finditer(diff_tex, start):
        key = figure_key(include.group(1), list(changes))
        if key is None:
            continue
        status = changes[key]
        marked[key] = status
        mark = r"\DIFfigurechanged{}" if status == CHANGED_FIGURE else r"\DIFfigurenew{}"
        if status == CHANGED_FIGURE:
            edits.append((include.start(), include.end(), rf"\DIFfigurepair{{{old_folder}/{key}}}{{{include.group(1)}}}"))
        caption, end = _CAPTION.search(diff_tex, include.end()), _END_FIGURE.search(diff_tex, include.end())
        if caption and (end is None or caption.start() < end.start()):
            edits.append((caption.end(), caption.end(), mark))
        else:
            edits.append((include.end(), include.end(), rf"\par{{\centering{mark}\par}}"))
    for edit_start, edit_end, text in sorted(edits, reverse=True):
        diff_tex = diff_tex[:edit_start] + text + diff_tex[edit_end:]
    preamble = FIGURE_PREAMBLE.replace("<OLD>", tex_escape(old_label)).replace("<NEW>", tex_escape(new_label))
    diff_tex = diff_tex.replace("\\begin{document}", preamble + "\\begin{document}", 1)
    return diff_tex, marked


# ---------------------------------------------------------------------------------------- diff

def make_diff(old: Side, new: Side, work: Path) -> Diff:
    """Returns the marked-up LaTeX of ``new`` against ``old`` (latexdiff, then the figures marked),
    with the old images of changed figures written to ``work/report/figures-old/``."""
    text = run_latexdiff(old.tex, new.tex, work)
    text_places = count_places(text)
    changes = figure_changes(old, new)
    old_folder = work / "report" / "figures-old"
    for name, status in changes.items():
        if status == CHANGED_FIGURE:
            (old_folder / name).parent.mkdir(parents=True, exist_ok=True)
            (old_folder / name).write_bytes(old.figures[name])
    # the .tex is compiled in work/report/build/, as report.tex is in report/build/
    relative_old = os.path.relpath(old_folder, work / Path(REPORT_TEX).parent).replace(os.sep, "/")
    text, marked = mark_figures(text, changes, relative_old, old.label, new.label)
    return Diff(text, text_places, marked)


def build_pdf(diff: Diff, new: Side, work: Path, pdf_path: Path) -> None:
    """Compiles ``diff.tex`` in ``work``, laid out as the repository (report/build/ beside
    report/figures/ with NEW's figures, so that the report's \\graphicspath holds), and writes the PDF
    to ``pdf_path`` atomically."""
    missing = missing_styles(diff.tex)
    if missing:
        packages = sorted({STYLE_PACKAGES.get(name, "the TeX Live package holding it") for name in missing})
        raise PipelineError(f"latexdiff's markup needs {', '.join(name + '.sty' for name in missing)}, which TeX "
                            f"cannot find: apt-get install {' '.join(packages)}")
    for name, data in new.figures.items():
        target = work / FIGURES_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    tex_path = work / Path(REPORT_TEX).with_name("diff.tex")
    tex_path.parent.mkdir(parents=True, exist_ok=True)
    tex_path.write_text(diff.tex, encoding="utf-8")
    built = work / "diff.pdf"
    try:
        compile_pdf(tex_path, built, require_fit=False)
    except PipelineError as error:
        message = re.sub(r" \(log: [^)]*\)$", "", str(error)).replace(str(tex_path), "diff.tex")
        raise PipelineError(f"{message} (write the source with --tex FILE to look at it)") from None
    write_bytes(pdf_path, built.read_bytes())


def count_text(places: int, figures: int) -> str:
    changed = f"{places} place{'s' if places != 1 else ''} changed"
    if figures:
        changed += f", {figures} of them figure{'s' if figures != 1 else ''}"
    return changed
