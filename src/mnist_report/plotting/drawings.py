"""The drawings of the report's figures: one function a figure kind, from arrays to a matplotlib
``Figure``, and the PNG of a figure. No file is read here and no setting looked up: the stage
(:mod:`mnist_report.plotting.recipes`) reads the runs' outputs and ``params.yaml`` and hands each drawing
its data, labels, limits and size (a :class:`~mnist_report.plotting.recipes.Recipe`).

Drawn with matplotlib's built-in defaults (:func:`figure_style`), no pyplot and the file-only Agg
backend, so that the same arguments give the same bytes on any machine with the same versions.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np

# A file-only backend: the stage runs on machines without a display, and never opens a window.
matplotlib.use("Agg")
import matplotlib.style  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402  (no pyplot: figures are plain objects, nothing leaks)

from mnist_report.mnist.data import DIGITS, IMAGE_SIDE, PIXELS  # noqa: E402

LINESTYLES = ("-", "--", "-.", ":")


def block_mean_std(steps: np.ndarray, values: np.ndarray, block_steps: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (block_step, mean, std), each of shape (len(values) // block_steps,).

    Consecutive blocks of ``block_steps`` recorded values; a trailing partial block is dropped.
    ``std`` is the population standard deviation (ddof 0). ``block_step`` is the step of the
    block's middle entry, index ``block_steps // 2`` (step 5 for steps 0..9): this is where the
    original course code (``utils.plot_loss``) plotted its means, and it sits at the block's
    centre rather than ahead of the values it averages.
    """
    count = len(values) // block_steps
    blocks = np.asarray(values[: count * block_steps], dtype=np.float64).reshape(count, block_steps)
    block_step = np.asarray(steps)[block_steps // 2: count * block_steps: block_steps]
    return block_step, blocks.mean(axis=1), blocks.std(axis=1)


@dataclass(frozen=True)
class Curve:
    """One curve against the training step: ``values[i]`` (shape (n,)) recorded at ``steps[i]``.

    With ``block_steps`` > 1 the curve is the block mean of :func:`block_mean_std` with a band of
    plus/minus one standard deviation (the noisy per-step training loss); with 1 it is drawn raw.
    """

    label: str
    steps: np.ndarray
    values: np.ndarray
    block_steps: int = 1
    linestyle: str = "-"


def _legend_above(figure: Figure, handles: list, labels: list[str]) -> None:
    """Puts the legend above the axes, where it hides no curve, in as many columns as fit the width."""
    renderer = FigureCanvasAgg(figure).get_renderer()
    for columns in range(len(labels), 0, -1):
        legend = figure.legend(handles, labels, loc="outside upper center", ncols=columns, frameon=False)
        if columns == 1 or legend.get_window_extent(renderer).width <= figure.bbox.width:
            return
        legend.remove()


#: Configured y limits are kept while they hold at least this fraction of every curve's points. The
#: original's zoom clips a few early steps (at most 10 % with the default params); limits that hide
#: most of a curve (losses in the thousands) would draw a plot that looks empty or wrong.
KEPT_IF_SHOWING = 0.5


def y_limits_to_draw(configured: Sequence[float], curves: Sequence[np.ndarray],
                     extent: tuple[float, float]) -> tuple[float, float]:
    """Returns the y limits to draw: ``configured`` (low, high) while at least
    :data:`KEPT_IF_SHOWING` of every curve's points (each of shape (n,)) lie within them; else the
    configured range widened to hold ``extent`` (the lowest and highest value drawn, bands
    included), with a margin of 5 % of the new range on each widened side."""
    low, high = configured
    if all(np.mean((values >= low) & (values <= high)) >= KEPT_IF_SHOWING for values in curves if len(values)):
        return low, high
    new_low, new_high = min(low, extent[0]), max(high, extent[1])
    margin = 0.05 * (new_high - new_low)
    return new_low - margin * (new_low < low), new_high + margin * (new_high > high)


def steps_figure(curves: Sequence[Curve], *, x_label: str, y_label: str,
                 y_limits: Sequence[float] | None, size_inches: Sequence[float], name: str = "") -> Figure:
    """Returns a figure of ``curves`` against the step; ``ax.get_lines()[i]`` is ``curves[i]``.

    A block-averaged curve's band is a ``fill_between`` collection, in the order of those curves.
    The y axis spans ``y_limits`` unless they would hide most of a curve: then it is widened to the
    data (:func:`y_limits_to_draw`) and one console line names the figure ``name`` and both ranges.
    """
    figure = Figure(figsize=(size_inches[0], size_inches[1]), layout="constrained")
    ax = figure.add_subplot()
    handles: list[Any] = []  # a line, or (band, line): one legend entry each
    drawn: list[np.ndarray] = []
    lowest, highest = math.inf, -math.inf
    for curve in curves:
        if curve.block_steps > 1:
            block_step, mean, std = block_mean_std(curve.steps, curve.values, curve.block_steps)
            (line,) = ax.plot(block_step, mean, linestyle=curve.linestyle)
            band = ax.fill_between(block_step, mean - std, mean + std, color=line.get_color(),
                                   alpha=0.25, linewidth=0)
            handles.append((band, line))  # one legend entry: the line drawn over its band
            drawn.append(mean)
            bottom, top = mean - std, mean + std
        else:
            (line,) = ax.plot(curve.steps, curve.values, linestyle=curve.linestyle)
            handles.append(line)
            drawn.append(np.asarray(curve.values, dtype=np.float64))
            bottom = top = drawn[-1]
        if len(drawn[-1]):
            lowest, highest = min(lowest, float(np.min(bottom))), max(highest, float(np.max(top)))
    _legend_above(figure, handles, [curve.label for curve in curves])
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_xlim(left=0)
    if y_limits is not None:
        shown = y_limits_to_draw(tuple(y_limits), drawn, (lowest, highest))
        if shown != tuple(y_limits):
            print(f"figures: {name or y_label}: most of a curve lies outside y_limits "
                  f"[{y_limits[0]:g}, {y_limits[1]:g}] (data from {lowest:.4g} to {highest:.4g}); "
                  f"drawn with y from {shown[0]:.4g} to {shown[1]:.4g} instead", flush=True)
        ax.set_ylim(*shown)
    ax.grid(alpha=0.3)
    return figure


def weights_figure(rows: Sequence[tuple[str, np.ndarray]], *, size_inches: Sequence[float]) -> Figure:
    """Returns a figure of one row of ten 28x28 tiles per (row label, weights of shape (785, 10)).

    ``figure.axes[r * 10 + k]`` shows digit ``k`` of row ``r``: ``weights[:784, k]`` reshaped
    row-major to 28x28, the bias left out. Each row has its own colour scale, symmetric about 0 and
    shown by its colour bar, so that the small weights of a strong penalty still show their shape
    and the sign of every weight reads the same way (red: evidence for the digit).
    """
    figure = Figure(figsize=(size_inches[0], size_inches[1]), layout="constrained")
    grid = figure.subplots(len(rows), DIGITS, squeeze=False)
    for row, (axes, (label, weights)) in enumerate(zip(grid, rows)):
        tiles = weights[:PIXELS].T.reshape(DIGITS, IMAGE_SIDE, IMAGE_SIDE)
        limit = float(np.abs(tiles).max()) or 1.0  # all-zero weights: any symmetric scale
        for digit, (ax, tile) in enumerate(zip(axes, tiles)):
            image = ax.imshow(tile, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(str(digit), fontsize="medium", pad=3)
        axes[0].set_ylabel(label, rotation=0, ha="right", va="center")
        colorbar = figure.colorbar(image, ax=list(axes), fraction=0.03, pad=0.015, aspect=6)
        colorbar.ax.tick_params(labelsize="small")
    return figure


def weight_norm_figure(l2_lambdas: Sequence[float], weight_norms: Sequence[float], *, x_label: str,
                       y_label: str, y_scale: str, legend: Sequence[str],
                       size_inches: Sequence[float]) -> Figure:
    """Returns the squared L2 norm of the final weights against lambda (inputs of shape (n_runs,)).

    The positive lambdas are ``ax.get_lines()[0]`` on a log x axis; lambda = 0 has no place on it,
    so each such run is a dashed horizontal reference line (``ax.get_lines()[1:]``), named in the
    legend (``legend[1]``), rather than a point moved to an arbitrary position.
    """
    figure = Figure(figsize=(size_inches[0], size_inches[1]), layout="constrained")
    ax = figure.add_subplot()
    lambdas, norms = np.asarray(l2_lambdas, float), np.asarray(weight_norms, float)
    positive = lambdas > 0
    ax.set_xscale("log")
    ax.plot(lambdas[positive], norms[positive], "o-", label=legend[0])
    for norm in norms[~positive]:
        ax.axhline(norm, linestyle="--", color="C1", label=legend[1])
        # axhline leaves the limits alone: make room for the line so that it cannot fall outside.
        ax.update_datalim([(1.0, norm)], updatex=False)
    ax.autoscale_view()
    ax.set_yscale(y_scale)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.legend(loc="best")
    ax.grid(alpha=0.3, which="major")
    return figure


#: The report's typeface in the figures: Computer Modern (matplotlib's copy, ``cmr10``) for text, its
#: mathtext Computer Modern for mathematics and tick labels (``cmr10`` has no minus sign; mathtext
#: draws one), so that a figure reads in the fonts of the body text (Latin Modern, drawn from Computer
#: Modern). TrueType fonts (type 42) are embedded in the PDF, not type 3 outlines.
DOCUMENT_FONTS = {
    "font.family": "serif", "font.serif": ["cmr10"], "mathtext.fontset": "cm",
    "axes.formatter.use_mathtext": True, "pdf.fonttype": 42,
}

#: The metadata matplotlib would date or sign: left out, so that the same figure gives the same bytes.
PDF_METADATA = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}


@contextlib.contextmanager
def figure_style(font_size: float) -> Iterator[None]:
    """Within: matplotlib's built-in defaults (not this machine's matplotlibrc) at ``font_size``, in
    the document's fonts (:data:`DOCUMENT_FONTS`).

    Starting from the built-in defaults makes the pixels depend on the inputs and matplotlib alone.
    Tick labels are made when a figure is drawn, so build and render inside the same context.
    """
    with matplotlib.style.context(["default", {"font.size": font_size, **DOCUMENT_FONTS}]):
        yield


def render_png(figure: Figure, dpi: int) -> bytes:
    """Returns the PNG bytes of ``figure``, without the metadata (matplotlib version) that varies."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def render_pdf(figure: Figure) -> bytes:
    """Returns the vector PDF bytes of ``figure`` (the report includes it; fonts embedded), without
    dates or the matplotlib version (:data:`PDF_METADATA`)."""
    buffer = io.BytesIO()
    # fontTools, subsetting cmr10.ttf, warns that the font's own 'created' date is implausibly old:
    # true, and nothing to act on (the date does not reach the PDF).
    head_table = logging.getLogger("fontTools.ttLib.tables._h_e_a_d")
    level = head_table.level
    head_table.setLevel(logging.ERROR)
    try:
        figure.savefig(buffer, format="pdf", metadata=PDF_METADATA)
    finally:
        head_table.setLevel(level)
    return buffer.getvalue()
