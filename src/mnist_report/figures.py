"""Stage ``figures``: draws the report's figures (:data:`~mnist_report.config.figures.FIGURES`) from
``params.yaml`` and the runs' outputs, as PDFs (``report/build/figures/``, which the report prints) and
PNGs (``report/figures/``, which ``dvc plots`` shows): :mod:`mnist_report.plotting.render`."""

from __future__ import annotations

from collections.abc import Sequence

from mnist_report.common.errors import one_line_errors
from mnist_report.common.outputs import FIGURE_PDFS_DIR, FIGURES_DIR
from mnist_report.config.figures import input_paths
from mnist_report.config.params import stage_params
from mnist_report.plotting.render import FIGURE_CACHE, draw_figures


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    """Stage ``figures``: draws the report's figures from ``params.yaml`` and the runs' outputs."""
    params = stage_params("python -m mnist_report.figures", main.__doc__, argv, input_paths, mathtext=True)
    if params is None:
        return 0
    written, drawn = draw_figures(params, cache_dir=FIGURE_CACHE)
    figure_count = len(written) // 2
    print(f"figures: wrote {figure_count} figures, PDFs to {FIGURE_PDFS_DIR}/ and PNGs to {FIGURES_DIR}/ "
          f"({len(drawn)} drawn, {figure_count - len(drawn)} unchanged from {FIGURE_CACHE}/)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
