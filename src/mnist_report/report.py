"""Stage ``report``: renders ``report/build/report.tex`` from ``params.yaml``, the runs' outputs and the
Jinja2 LaTeX templates (the context they insert: :mod:`mnist_report.reporting.context`)."""

from __future__ import annotations

from collections.abc import Sequence

from mnist_report.common.errors import one_line_errors
from mnist_report.common.files import write_text
from mnist_report.common.outputs import TEX_PATH
from mnist_report.config.params import stage_params
from mnist_report.reporting.context import build_context, input_paths
from mnist_report.reporting.templates import BYTECODE_CACHE, TEMPLATE_DIR, render


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    """Stage ``report``: renders report/build/report.tex from params.yaml, the metrics and the templates."""
    params = stage_params("python -m mnist_report.report", main.__doc__, argv, input_paths)
    if params is None:
        return 0
    text = render(build_context(params, "."), TEMPLATE_DIR, bytecode_dir=BYTECODE_CACHE)
    write_text(TEX_PATH, text)
    print(f"report: wrote {TEX_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
