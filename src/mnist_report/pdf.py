"""Stage ``pdf``: compiles ``report/build/report.tex`` to ``report/build/report.pdf`` with pdflatex
(:mod:`mnist_report.reporting.pdflatex`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mnist_report.common.errors import one_line_errors
from mnist_report.common.outputs import PDF_PATH, TEX_PATH
from mnist_report.reporting.pdflatex import AUX_DIR, compile_pdf


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    """Stage ``pdf``: compiles report/build/report.tex to report/build/report.pdf."""
    parser = argparse.ArgumentParser(prog="python -m mnist_report.pdf", description=main.__doc__)
    parser.add_argument("--tex", type=Path, default=TEX_PATH, help=f"the LaTeX source (default {TEX_PATH})")
    parser.add_argument("--pdf", type=Path, default=PDF_PATH, help=f"the PDF to write (default {PDF_PATH})")
    parser.add_argument("--aux-dir", type=Path, default=AUX_DIR,
                        help=f"pdflatex's auxiliary files, kept between builds (default {AUX_DIR})")
    parser.add_argument("--clean", action="store_true", help="build in a temporary directory instead")
    arguments = parser.parse_args(argv)
    compiled = compile_pdf(arguments.tex, arguments.pdf, aux_dir=None if arguments.clean else arguments.aux_dir)
    details = [f"{compiled.pages} pages"] if compiled.pages is not None else []
    details.append(f"{compiled.passes} pdflatex pass{'es' if compiled.passes > 1 else ''}")
    print(f"pdf: wrote {arguments.pdf}" + (f" ({', '.join(details)})" if details else ""))
    if compiled.overfull:
        print(f"warning: {arguments.tex}: {len(compiled.overfull)} overfull box(es), first: {compiled.overfull[0]}",
              file=sys.stderr)
    if compiled.warnings:
        print(f"warning: {arguments.tex}: {len(compiled.warnings)} LaTeX warning(s), first: {compiled.warnings[0]}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
