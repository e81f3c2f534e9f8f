"""Stage ``pdf``: compiles ``report/build/report.tex`` to ``report/build/report.pdf`` with latexmk.

latexmk runs pdflatex as often as the cross-references need, in a temporary directory (the .aux,
.log and friends never reach the repository), with ``-halt-on-error -interaction=nonstopmode
-no-shell-escape`` and without reading any latexmkrc; the PDF is then moved into place atomically.
Figures are found relative to the .tex (its ``\\graphicspath``), so latexmk runs in its directory.

The same .tex and figures give the same bytes: the template turns off pdfTeX's creation date and
trailer ID, and the stage sets ``SOURCE_DATE_EPOCH`` (unless the environment has one) and
``FORCE_SOURCE_DATE=1`` for anything else that would read the clock.

Refusals are one line: TeX missing (with what to install), or the first LaTeX error of the log with
its line in the .tex; the whole log of a failed run is kept as ``report/build/report.log``. A
successful run reports its overfull boxes and other LaTeX warnings (one line each) on stderr.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mnist_report.errors import PipelineError, one_line_errors
from mnist_report.files import write_bytes, write_text

TEX_PATH = Path("report/build/report.tex")
PDF_PATH = Path("report/build/report.pdf")
TEX_TOOLS = ("latexmk", "pdflatex")
INSTALL_HINT = ("install TeX Live: apt-get install latexmk texlive-latex-base texlive-latex-recommended "
                "texlive-fonts-recommended lmodern")
PDFLATEX = "pdflatex -halt-on-error -interaction=nonstopmode -no-shell-escape %O %S"
TIMEOUT_SECONDS = 600
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
    warnings: list[str] = field(default_factory=list)


def find_tex() -> dict[str, str]:
    """Returns tool -> path of latexmk and pdflatex; raises PipelineError naming what to install."""
    found = {tool: shutil.which(tool) for tool in TEX_TOOLS}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        raise PipelineError(f"{'/'.join(missing)} not found: {INSTALL_HINT}")
    return found  # type: ignore[return-value]


def latexmk_command(latexmk: str, tex: Path, out_dir: Path) -> list[str]:
    """Returns the latexmk command line that compiles ``tex`` into ``out_dir``."""
    return [latexmk, "-norc", "-pdf", "-cd", "-interaction=nonstopmode", "-halt-on-error",
            f"-pdflatex={PDFLATEX}", f"-outdir={out_dir}", f"-auxdir={out_dir}", str(tex)]


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


def compile_pdf(tex_path: str | os.PathLike = TEX_PATH, pdf_path: str | os.PathLike = PDF_PATH, *,
                timeout: float = TIMEOUT_SECONDS) -> Compiled:
    """Compiles ``tex_path`` and writes the PDF to ``pdf_path`` atomically.

    Raises PipelineError (one line) when TeX is not installed, the .tex is missing, or LaTeX fails;
    the log of a failed run is written beside ``pdf_path`` as ``<name>.log``.
    """
    tex_path, pdf_path = Path(tex_path), Path(pdf_path)
    tools = find_tex()
    if not tex_path.is_file():
        raise PipelineError(f"{tex_path}: missing; run the report stage first (dvc repro report)")
    log_path = pdf_path.with_suffix(".log")
    with tempfile.TemporaryDirectory(prefix="mnist-report-latex-") as out_dir:
        out_dir = Path(out_dir)
        command = latexmk_command(tools["latexmk"], tex_path.resolve(), out_dir)
        try:
            result = subprocess.run(command, capture_output=True, env=tex_environment(), timeout=timeout,
                                    stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise PipelineError(f"{tex_path}: latexmk did not finish within {timeout:g} seconds") from None
        except OSError as error:
            raise PipelineError(f"cannot run latexmk ({error.strerror or error}): {INSTALL_HINT}") from error
        log_file = out_dir / (tex_path.stem + ".log")
        log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.is_file() else ""
        built = out_dir / (tex_path.stem + ".pdf")
        if result.returncode != 0 or not built.is_file():
            if log:
                write_text(log_path, log)
            error = first_latex_error(log)
            where = f"{tex_path}:{error[1]}" if error and error[1] is not None else str(tex_path)
            if error:
                detail = f"LaTeX error: {error[0]}"
            else:
                output = (result.stderr + result.stdout).decode(errors="replace").strip().splitlines()
                detail = f"latexmk failed (exit {result.returncode})" + (f": {output[-1].strip()}" if output else "")
            kept = f" (log: {log_path})" if log else ""
            raise PipelineError(f"{where}: {detail}{kept}")
        write_bytes(pdf_path, built.read_bytes())
    log_path.unlink(missing_ok=True)  # a failed run's log no longer describes the PDF
    pages = re.search(r"Output written on .*\((\d+) pages?", log)
    return Compiled(pages=int(pages.group(1)) if pages else None, overfull=overfull_boxes(log),
                    warnings=latex_warnings(log))


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    """Stage ``pdf``: compiles report/build/report.tex to report/build/report.pdf."""
    parser = argparse.ArgumentParser(prog="python -m mnist_report.pdf", description=main.__doc__)
    parser.add_argument("--tex", type=Path, default=TEX_PATH, help=f"the LaTeX source (default {TEX_PATH})")
    parser.add_argument("--pdf", type=Path, default=PDF_PATH, help=f"the PDF to write (default {PDF_PATH})")
    arguments = parser.parse_args(argv)
    compiled = compile_pdf(arguments.tex, arguments.pdf)
    pages = f" ({compiled.pages} pages)" if compiled.pages is not None else ""
    print(f"pdf: wrote {arguments.pdf}{pages}")
    if compiled.overfull:
        print(f"warning: {arguments.tex}: {len(compiled.overfull)} overfull box(es), first: {compiled.overfull[0]}",
              file=sys.stderr)
    if compiled.warnings:
        print(f"warning: {arguments.tex}: {len(compiled.warnings)} LaTeX warning(s), first: {compiled.warnings[0]}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
