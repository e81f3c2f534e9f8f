"""``python -m mnist_report.diff [OLD] [NEW]``: writes ``report/build/diff.pdf``, the NEW report with what
changed since OLD marked (:mod:`mnist_report.compare.markup`)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mnist_report.common.errors import PipelineError, one_line_errors
from mnist_report.common.files import write_text
from mnist_report.compare.markup import DIFF_PDF, build_pdf, count_text, find_latexdiff, make_diff
from mnist_report.compare.revisions import REPORT_TEX, WORKSPACE, read_side, workspace_is_stale
from mnist_report.reporting.pdflatex import find_tex


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    """Writes report/build/diff.pdf: the NEW report with what changed since OLD marked."""
    parser = argparse.ArgumentParser(prog="python -m mnist_report.diff", description=main.__doc__)
    parser.add_argument("old", nargs="?", default="HEAD",
                        help="git revision or experiment name (dvc exp show) to compare against (default HEAD)")
    parser.add_argument("new", nargs="?", default=WORKSPACE,
                        help=f"git revision or experiment name, or {WORKSPACE} (the default)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help=f"the PDF to write (default {DIFF_PDF}, in the repository)")
    parser.add_argument("--tex", type=Path, default=None, help="also write the marked-up LaTeX source here")
    arguments = parser.parse_args(argv)

    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    find_latexdiff()
    find_tex()
    try:
        repo = Repo()
    except NotDvcRepoError:
        raise PipelineError(f"{Path.cwd()}: not inside a DVC repository; run this in the project") from None
    with repo:
        root = Path(repo.root_dir)
        old, new = read_side(repo, arguments.old), read_side(repo, arguments.new)
        if new.commit is None and workspace_is_stale(repo):
            print(f"warning: the workspace's {REPORT_TEX} is out of date (`dvc status report`); "
                  f"run `dvc repro` first to see what the changes give", file=sys.stderr)
    pdf_path = arguments.output if arguments.output is not None else root / DIFF_PDF
    with tempfile.TemporaryDirectory(prefix="mnist-report-diff-") as work_dir:
        work = Path(work_dir)
        diff = make_diff(old, new, work)
        if arguments.tex is not None:
            write_text(arguments.tex, diff.tex)
        build_pdf(diff, new, work, pdf_path)
    shown = str(arguments.output) if arguments.output is not None else os.path.relpath(pdf_path, Path.cwd())
    print(f"diff: wrote {shown} ({old.label} -> {new.label}): {count_text(diff.places, len(diff.figures))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
