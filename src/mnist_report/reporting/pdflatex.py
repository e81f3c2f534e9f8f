"""The pdf stage's build: compiles ``report/build/report.tex`` to ``report/build/report.pdf`` with pdflatex.

pdflatex runs with ``-halt-on-error -interaction=nonstopmode -no-shell-escape`` as often as the
cross-references need (:func:`compile_pdf`: until a pass leaves the files it reads, the .aux, .out,
.toc..., as it found them; at most :data:`MAX_PASSES`); the PDF is then copied into place atomically.
Figures are found relative to the .tex (its ``\\graphicspath``), so pdflatex runs in its directory.
No latexmk: its Perl start and its checks of every file TeX read cost more than the one test it
would make here (did the pass change what the next reads), which this module makes itself.

Where the .aux, .log and friends go: the stage keeps them between builds in :data:`AUX_DIR`
(``.cache/latex/``, git-ignored and no DVC output), so that a rebuild whose cross-references did not
move is one pdflatex pass instead of two or three (a rebuild always runs at least one pass: it never
reuses an old PDF). This changes no byte of the result: pdflatex's output is a function of the .tex,
the figures and the .aux/.out/.toc it reads, the passes go on until those are stable, and a clean build
ends on the same stable files (``tests/integration/test_pdf.py`` compares the two). The passes run in a copy of
that directory, which replaces it only when the build succeeded (``files.atomic_directory``): a
failed build leaves the last good build's files and its own log there, and a build killed at any
moment (``tests/integration/test_pdf_kills.py``) the last good build's files or none, never a half-written .aux;
the next build removes a killed build's copy. pdflatex dies with the stage (``children.py``).
Without an ``aux_dir`` (:func:`compile_pdf`'s default) a build is clean, in a hidden temporary
directory beside the PDF, removed after the build (or by the next one, if a kill left it).

The PDF's streams are compressed at zlib level :data:`COMPRESS_LEVEL` rather than pdfTeX's 9: level
9 spends half of a pass recompressing the figures' pixels, for a PDF 4 % smaller.

The same .tex and figures give the same bytes: the template turns off pdfTeX's creation date and
trailer ID, and the stage sets ``SOURCE_DATE_EPOCH`` (unless the environment has one) and
``FORCE_SOURCE_DATE=1`` for anything else that would read the clock.

Refusals are one line: TeX missing (with what to install), the first LaTeX error of the log with
its line in the .tex, or the first place where content left the page (:func:`content_off_the_page`:
a float taller than the page, which LaTeX would silently drop with every float after it, or a box
more than :data:`OVERFULL_LIMIT_PT` too wide), named by its table, figure or task, and where the whole log is: ``.cache/latex/report.log`` for the stage (nothing is
added to ``report/build/``), beside the PDF (``<name>.log``) for a clean build. A successful run
reports its overfull boxes and other LaTeX warnings (one line each) on stderr.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mnist_report.common.children import dies_with_this_process
from mnist_report.common.errors import PipelineError
from mnist_report.common.files import atomic_directory, temporary_directory, write_bytes, write_text
from mnist_report.common.outputs import PDF_PATH, TEX_PATH

#: pdflatex's auxiliary files between builds of the stage (git-ignored; not a DVC output).
AUX_DIR = Path(".cache/latex")
TEX_TOOLS = ("pdflatex",)
INSTALL_HINT = ("install TeX Live: apt-get install texlive-latex-base texlive-latex-recommended "
                "texlive-fonts-recommended lmodern")
#: zlib level of the PDF's streams (pdfTeX's own default is 9): see the module docstring.
COMPRESS_LEVEL = 6
#: pdflatex passes before a document whose cross-references never settle is refused (latexmk's limit).
MAX_PASSES = 5
#: The name of the .tex goes into the first line pdflatex reads (``\input{<name>}``): TeX must read it
#: as a plain file name.
TEX_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.tex")
#: The files of the output directory that a pass writes for itself alone, never to be read by the next.
NOT_CARRIED = (".log", ".pdf", ".fls", ".synctex.gz")
TIMEOUT_SECONDS = 600
#: An overfull box wider than this sticks visibly out of the text block (3.5 mm into the 25 mm margin,
#: or off the page): the stage refuses the PDF. Narrower ones are reported as warnings.
OVERFULL_LIMIT_PT = 10.0
#: Used when the environment sets none: 1980-01-01, the earliest date a zip (or reproducible build
#: tooling at large) accepts; the PDF shows no date either way.
DEFAULT_SOURCE_DATE_EPOCH = "315532800"


@dataclass(frozen=True)
class Compiled:
    """What a successful compilation reports: pages, the log lines of overfull boxes, and the other
    warnings of the last pdflatex run (underfull boxes, a PDF bookmark that lost a token, an
    undefined reference...), one line each."""

    pages: int | None
    overfull: list[str]
    #: pdflatex passes made (1 when the kept auxiliary files were already right)
    passes: int
    warnings: list[str] = field(default_factory=list)


def find_tex() -> dict[str, str]:
    """Returns tool -> path of pdflatex; raises PipelineError naming what to install."""
    found = {tool: shutil.which(tool) for tool in TEX_TOOLS}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        raise PipelineError(f"{'/'.join(missing)} not found: {INSTALL_HINT}")
    return found  # type: ignore[return-value]


def pdflatex_command(pdflatex: str, tex_name: str, out_dir: Path) -> list[str]:
    """Returns the pdflatex command line that compiles ``tex_name`` (in the working directory) into
    ``out_dir``, its streams compressed at :data:`COMPRESS_LEVEL`."""
    if not TEX_NAME.fullmatch(tex_name):
        raise PipelineError(f"{tex_name}: expected a .tex file name of letters, digits, '_', '.' and '-' "
                            "(pdflatex reads it as TeX)")
    return [pdflatex, "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape",
            f"-output-directory={out_dir}", f"-jobname={tex_name.removesuffix('.tex')}",
            f"\\pdfcompresslevel={COMPRESS_LEVEL}\\input{{{tex_name}}}"]


def tex_environment() -> dict[str, str]:
    """Returns the environment for TeX: reproducible dates and log lines that are not wrapped."""
    environment = dict(os.environ)
    environment.setdefault("SOURCE_DATE_EPOCH", DEFAULT_SOURCE_DATE_EPOCH)
    environment["FORCE_SOURCE_DATE"] = "1"
    # TeX wraps log lines at 79 characters by default, which splits error messages and file names.
    environment.update({"max_print_line": "10000", "error_line": "254", "half_error_line": "238"})
    return environment


def first_latex_error(log: str) -> tuple[str, int | None] | None:
    """Returns (message, line in the .tex or None) of the first error in a TeX log, or None.

    A TeX error is a line starting with ``! ``; the line of the source it stopped at follows as
    ``l.<number> <the text read so far>``.
    """
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("! "):
            continue
        message = line[2:].strip().removeprefix("LaTeX Error: ")
        for follow in lines[index + 1: index + 30]:
            match = re.match(r"l\.(\d+) ?(.*)", follow)
            if match:
                context = match.group(2).strip()
                if context and message.endswith(("control sequence.", "control sequence")):
                    message = f"{message} ({context[-60:]})"
                return message, int(match.group(1))
        return message, None
    return None


def overfull_boxes(log: str) -> list[str]:
    """Returns the log lines that report an overfull box (text sticking out into the margin)."""
    return [line.strip() for line in log.splitlines() if line.startswith(("Overfull \\hbox", "Overfull \\vbox"))]


_WARNING_RE = re.compile(r"^(?:LaTeX|(?:Package|Class) \S+) Warning: |^Underfull \\[hv]box")


def latex_warnings(log: str) -> list[str]:
    """Returns the warnings of a TeX log other than overfull boxes, each with the lines that continue
    it joined to one line (``Package hyperref Warning: Token not allowed in a PDF string (Unicode):
    removing `math shift' on input line 430.``)."""
    warnings: list[str] = []
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if not _WARNING_RE.match(line):
            continue
        parts = [line.strip()]
        for follow in lines[index + 1:]:
            # a package continues its warning on lines starting with its name in parentheses: "(hyperref)"
            if follow.startswith("(") and ")" in follow[:20] and not follow.startswith("(/"):
                parts.append(follow.split(")", 1)[1].strip())
            else:
                break
        warnings.append(" ".join(part for part in parts if part))
    return warnings


_OVERFULL_RE = re.compile(r"^Overfull \\([hv])box \(([\d.]+)pt too (?:wide|high)\) (?:in|detected at) (.*)$")
_FLOAT_RE = re.compile(r"^LaTeX Warning: Float too large for page by ([\d.]+)pt on input line (\d+)\.")
_LINES_RE = re.compile(r"lines (\d+)--(\d+)|line (\d+)")
_BEGIN_RE = re.compile(r"\\begin\{(figure|table|longtable)\}")
_END_RE = re.compile(r"\\end\{(figure|table|longtable)\}")
_HEADING_RE = re.compile(r"\\(?:task|appendixsection)\{([^}]*)\}|\\section\*\{(?:\\phantomsection )?([^}]*)\}")


def place_in_tex(tex_lines: Sequence[str], line: int) -> str:
    """Names what line ``line`` (from 1) of a .tex belongs to: the figure or table around it, by its
    label (``table tab:runs``), else the section it is in (``Task 4c``, ``Appendix B``), else the line."""
    index = min(max(line, 1), len(tex_lines)) - 1 if tex_lines else -1
    closed = 0  # floats and tables that ended between ``line`` and the line looked at
    for start in range(index, -1, -1):
        if _END_RE.search(tex_lines[start]) and start < index:
            closed += 1
            continue
        begin = _BEGIN_RE.search(tex_lines[start])
        if begin and closed:
            closed -= 1
        elif begin:
            kind = begin.group(1)
            for follow in tex_lines[start:]:
                label = re.search(r"\\label\{([^}]*)\}", follow)
                if label:
                    return f"{'figure' if kind == 'figure' else 'table'} {label.group(1)}"
                if f"\\end{{{kind}}}" in follow:
                    break
            return f"the {kind} of line {start + 1}"
        heading = _HEADING_RE.search(tex_lines[start])
        if heading:
            if heading.group(0).startswith("\\task"):
                return f"Task {heading.group(1)}"
            if heading.group(0).startswith("\\appendix"):
                return f"Appendix {heading.group(1)}"
            return heading.group(2)
    return f"line {line}"


def content_off_the_page(log: str, tex_lines: Sequence[str]) -> str | None:
    """Returns one line naming the first place where a TeX log says content left the page (a float
    taller than the page, which LaTeX drops with everything after it, or a box more than
    :data:`OVERFULL_LIMIT_PT` too wide or too high), or None."""
    for log_line in log.splitlines():
        match = _FLOAT_RE.match(log_line)
        if match:
            line = int(match.group(2))
            return (f"{line}: {place_in_tex(tex_lines, line)} is {float(match.group(1)):g}pt taller than the page "
                    "(LaTeX leaves it and every float after it out of the PDF); expected it to fit on a page")
        match = _OVERFULL_RE.match(log_line)
        if match and float(match.group(2)) > OVERFULL_LIMIT_PT:
            lines = _LINES_RE.search(match.group(3))
            line = int(lines.group(1) or lines.group(3)) if lines else 0
            what = "wider than the text" if match.group(1) == "h" else "taller than the page"
            return (f"{line}: {place_in_tex(tex_lines, line)} is {float(match.group(2)):g}pt {what} "
                    f"({match.group(0)[:60].strip()}...); expected it to fit, within {OVERFULL_LIMIT_PT:g}pt")
    return None


def compile_pdf(tex_path: str | os.PathLike = TEX_PATH, pdf_path: str | os.PathLike = PDF_PATH, *,
                aux_dir: str | os.PathLike | None = None, timeout: float = TIMEOUT_SECONDS,
                require_fit: bool = True) -> Compiled:
    """Compiles ``tex_path`` and writes the PDF to ``pdf_path`` atomically.

    ``aux_dir``: where pdflatex keeps its auxiliary files between builds (see the module docstring);
    None builds in a new temporary directory. ``timeout``: seconds for all passes together. Raises
    PipelineError (one line) when TeX is not installed, the .tex is missing, or LaTeX fails; the log of
    a failed run is then kept as ``aux_dir/<name>.log``, or, without ``aux_dir``, beside ``pdf_path``
    as ``<name>.log``.
    """
    tex_path, pdf_path = Path(tex_path), Path(pdf_path)
    tools = find_tex()
    if not tex_path.is_file():
        raise PipelineError(f"{tex_path}: missing; run the report stage first (dvc repro report)")
    with contextlib.ExitStack() as stack:
        if aux_dir is None:
            # Beside the PDF, hidden (files.py): the next build removes it if a kill left it.
            scratch = pdf_path.parent / (pdf_path.stem + ".latex")
            out_dir = Path(stack.enter_context(temporary_directory(scratch))).resolve()
            log_path = pdf_path.with_suffix(".log")
        else:
            # The passes run in a copy of the kept files, which replaces them only when the build
            # succeeded (files.atomic_directory): a kill at any moment leaves the last good build's
            # files (or none), never a half-written .aux; a killed build's copy is removed by the next.
            log_path = Path(aux_dir) / (tex_path.stem + ".log")
            out_dir = Path(stack.enter_context(atomic_directory(aux_dir))).resolve()
            kept = Path(aux_dir)
            if kept.is_dir():
                for entry in kept.iterdir():
                    if entry.is_file() and not entry.name.endswith(NOT_CARRIED):
                        shutil.copy2(entry, out_dir / entry.name)
        log, built, pages, passes = _run_passes(tools["pdflatex"], tex_path, out_dir, log_path, timeout=timeout)
        off_the_page = (content_off_the_page(log, tex_path.read_text(encoding="utf-8", errors="replace").splitlines())
                        if require_fit else None)  # the report diff's markup may widen a table: no refusal
        if off_the_page is not None:
            write_text(log_path, log)
            raise PipelineError(f"{tex_path}:{off_the_page} (log: {log_path})")
        write_bytes(pdf_path, built.read_bytes())
    if aux_dir is None:
        log_path.unlink(missing_ok=True)  # a failed run's log no longer describes the PDF
    return Compiled(pages=pages, overfull=overfull_boxes(log), warnings=latex_warnings(log), passes=passes)


def carried_files(out_dir: Path) -> dict[str, bytes]:
    """Returns file name -> sha256 of what one pdflatex pass leaves in ``out_dir`` for the next to read
    (the .aux, .out, .toc, ...: every file but those of :data:`NOT_CARRIED`)."""
    return {path.name: hashlib.sha256(path.read_bytes()).digest() for path in out_dir.iterdir()
            if path.is_file() and not path.name.endswith(NOT_CARRIED)}


def _run_passes(pdflatex: str, tex_path: Path, out_dir: Path, log_path: Path, *,
                timeout: float) -> tuple[str, Path, int | None, int]:
    """Runs pdflatex on ``tex_path`` into ``out_dir`` until a pass leaves the files it reads as it found
    them (:func:`carried_files`): the fixed point a clean build reaches too. Returns (log, the PDF
    built, its pages, the passes made).

    On failure raises PipelineError naming the first LaTeX error and ``log_path``, where the log is
    copied (``out_dir`` is a temporary directory, discarded on failure).
    """
    command = pdflatex_command(pdflatex, tex_path.name, out_dir)
    deadline = time.monotonic() + timeout
    log_file = out_dir / (tex_path.stem + ".log")
    built = out_dir / (tex_path.stem + ".pdf")
    before = carried_files(out_dir)
    for passes in range(1, MAX_PASSES + 1):
        built.unlink(missing_ok=True)  # the PDF checked below is this pass's
        returncode, output = _run_pdflatex(command, tex_path, deadline, timeout)
        log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.is_file() else ""
        if returncode != 0 or not built.is_file():
            if log:
                write_text(log_path, log)
            error = first_latex_error(log)
            where = f"{tex_path}:{error[1]}" if error and error[1] is not None else str(tex_path)
            if error:
                detail = f"LaTeX error: {error[0]}"
            else:
                lines = output.strip().splitlines()
                detail = f"pdflatex failed (exit {returncode})" + (f": {lines[-1].strip()}" if lines else "")
            kept = f" (log: {log_path})" if log else ""
            raise PipelineError(f"{where}: {detail}{kept}")
        after = carried_files(out_dir)
        if after == before:
            break
        before = after  # what the next pass reads
    else:
        write_text(log_path, log)
        raise PipelineError(f"{tex_path}: the cross-references still changed after {MAX_PASSES} pdflatex passes "
                            "(a label whose page moves it); expected them to settle")
    pages = re.search(r"Output written on .*\((\d+) pages?", log)
    return log, built, int(pages.group(1)) if pages else None, passes


def _run_pdflatex(command: list[str], tex_path: Path, deadline: float, timeout: float) -> tuple[int, str]:
    """Runs one pdflatex pass in the directory of ``tex_path``; returns (exit code, its output).
    Raises PipelineError when ``deadline`` (of :func:`time.monotonic`) passes first."""
    try:
        # In the stage's process group (DVC's kill of the group on Ctrl-C reaches it), and killed by the
        # kernel if the stage dies first (children.py): it cannot go on writing into the output
        # directory after the stage is gone.
        process = subprocess.Popen(command, cwd=tex_path.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=tex_environment(), stdin=subprocess.DEVNULL, **dies_with_this_process())
    except OSError as error:
        raise PipelineError(f"cannot run pdflatex ({error.strerror or error}): {INSTALL_HINT}") from error
    try:
        output, _ = process.communicate(timeout=max(deadline - time.monotonic(), 0.001))
    except subprocess.TimeoutExpired:
        raise PipelineError(f"{tex_path}: pdflatex did not finish within {timeout:g} seconds") from None
    finally:
        if process.returncode is None:
            process.kill()
            process.wait()
    return process.returncode, output.decode(errors="replace")
