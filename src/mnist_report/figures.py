"""Draws the report's figures (stage ``figures``) from the runs' histories, final weights and metrics.

Inputs (formats in ``docs/contracts.md``): ``metrics/history/<run>/train.csv`` and
``validation.csv``, ``models/<run>.npy`` and ``metrics/<run>.json``; which runs each figure draws
is ``roles`` in ``params.yaml``, and figures 4c and 4e draw every softmax run, ordered by
``l2_lambda``. Outputs: the PNGs of :data:`FIGURE_NAMES` in ``report/figures/``; the same inputs
give the same bytes. :func:`figure_inputs` names the files each figure reads (and so its runs);
:func:`input_paths`, their union, is the stage's DVC ``deps``.

Redrawing only what changed: each figure is first reduced to a :class:`Recipe` (the drawing function
and the data, labels and sizes it is given); the stage keeps each PNG in ``.cache/figures/`` under the
digest of everything its pixels depend on (:func:`~mnist_report.figure_cache.recipe_digest`) and copies, rather than redraws, a
figure whose digest is there. A change to one run redraws the figures that show it, nothing else;
the bytes are those of a full redraw (``tests/test_incremental.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_report import layout, outputs
from mnist_report.data import DIGITS
from mnist_report.errors import PipelineError, one_line_errors
from mnist_report.files import write_bytes
from mnist_report.outputs import (
    FIGURE_PDFS_DIR, FIGURES_DIR, TRAIN_COLUMNS, VALIDATION_COLUMNS, figure_file, figure_pdf, output_paths,
)
from mnist_report.params import (
    FIGURE_NAMES, Figures, NormFigure, Params, Run, StepFigure, check_params, lambda_sweep, stage_params,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The stage's PNGs by recipe digest, between runs (git-ignored; not a DVC output): see draw_all.
FIGURE_CACHE = Path(".cache/figures")

# ------------------------------------------------------------------------------------ settings

def figure_settings(params: Params | dict[str, Any]) -> tuple[Figures, dict[str, Run], dict[str, str]]:
    """Returns (the ``figures`` section, each run's settings, role -> run from ``roles``) of the checked
    ``params`` (a raw dict is checked here, its labels' mathematics included)."""
    params = check_params(params, mathtext=True)
    return params.figures, params.runs, params.roles


def _label(template: str, key_path: str, **fields: Any) -> str:
    """Returns ``template.format(**fields)``; an unknown field names the params key."""
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as error:
        raise PipelineError(f"{key_path} = {template!r}: cannot fill it in ({error!r}); "
                            f"expected fields among {', '.join(fields)} (double literal braces)") from error


# -------------------------------------------------------------------------------------- inputs

def read_history(root: Path, path: Path, columns: Sequence[str], run: str) -> dict[str, np.ndarray]:
    """Returns column name -> values of a run's history CSV (``path`` relative to ``root``); an error
    names the run and the file."""
    try:
        return outputs.read_history(root / path, columns, str(path))
    except PipelineError as error:
        raise PipelineError(f"run {run}: {error}") from error


def read_softmax_weights(root: Path, run: str) -> np.ndarray:
    """Returns the final weights of a softmax run, shape (785, 10): pixel rows 0..783, then the bias."""
    path = output_paths(run)["weights"]
    try:
        return outputs.read_weights(root / path, str(path), DIGITS)
    except PipelineError as error:
        raise PipelineError(f"run {run}: {error}") from error


def read_weight_norm(root: Path, run: str) -> float:
    """Returns the metric ``weight_norm_squared`` (sum of squares of all final weights) of a run, read
    with the one reader of metrics files (:func:`outputs.read_metrics`, which checks every key)."""
    path = output_paths(run)["metrics"]
    value = outputs.read_metrics(Path(root) / path, f"run {run}: {path}")["weight_norm_squared"]
    if value < 0:
        raise PipelineError(f"run {run}: {path}: weight_norm_squared = {value!r}; expected a number >= 0")
    return float(value)


def figure_inputs(params: Params | dict[str, Any]) -> dict[str, dict[str, list[Path]]]:
    """Returns figure name (in the order of FIGURE_NAMES) -> run -> the outputs of ``train@<run>`` the
    figure is drawn from (paths relative to the repository), the runs in the order the figure shows them.

    The one statement of which files each figure reads: :func:`input_paths` (the stage's deps) and the
    report's captions and appendix (which runs each figure shows; each file's MD5) take it from here.
    Runs follow ``roles``; 4c and 4e read every softmax run, ordered by ``l2_lambda``.
    """
    _, runs, roles = figure_settings(params)
    sweep = [run for _, run in lambda_sweep(runs)]

    def files(shown: Sequence[str], *kinds: str) -> dict[str, list[Path]]:
        return {run: [output_paths(run)[kind] for kind in kinds] for run in shown}

    both = ("train_history", "validation_history")
    pair = (roles["2e_unshuffled"], roles["2e_shuffled"])
    inputs = {
        "2b_loss": files([roles["2b"]], *both),
        "2b_accuracy": files([roles["2b"]], "validation_history"),
        "2e_loss": files(pair, "train_history"),
        "2e_accuracy": files(pair, "validation_history"),
        "3b_loss": files([roles["3b"]], *both),
        "3c_accuracy": files([roles["3b"]], "validation_history"),
        "4b_weights": files([roles["4b_top"], roles["4b_bottom"]], "weights"),
        "4c_val_accuracy": files(sweep, "validation_history"),
        "4e_weight_norm": files(sweep, "metrics"),
    }
    return {name: inputs[name] for name in FIGURE_NAMES}


def input_paths(params: Params | dict[str, Any]) -> list[Path]:
    """Returns the files the stage reads for ``params``, relative to the repository: its DVC deps
    (every file of :func:`figure_inputs`)."""
    return sorted({path for by_run in figure_inputs(params).values() for paths in by_run.values() for path in paths})


# -------------------------------------------------------------------------------- the pipeline

@dataclass(frozen=True)
class Recipe:
    """How to draw one figure: ``draw(**arguments)``, where ``draw`` is one of this module's drawing
    functions and ``arguments`` hold everything it needs (curves, weights, labels, limits, sizes).

    A drawing is a function of its recipe, this module's code and the libraries alone, so
    :func:`~mnist_report.figure_cache.recipe_digest` identifies the PNG it gives (see :func:`draw_all`).
    """

    draw: Any
    arguments: dict[str, Any]

    def figure(self) -> Figure:
        return self.draw(**self.arguments)


def build_figures(params: Params | dict[str, Any], root: Path = Path(".")) -> dict[str, Figure]:
    """Returns figure name -> Figure, every input read and checked before anything is drawn."""
    return {name: recipe.figure() for name, recipe in figure_recipes(params, root).items()}


def figure_recipes(params: Params | dict[str, Any], root: Path = Path(".")) -> dict[str, Recipe]:
    """Returns figure name -> :class:`Recipe`, in the order of FIGURE_NAMES, every input read and
    checked."""
    # matplotlib only where figures are drawn: the report stage imports this module for
    # figure_inputs, and matplotlib's import alone takes a third of a second.
    from mnist_report.plots import LINESTYLES, Curve, steps_figure, weight_norm_figure, weights_figure

    figures, runs, roles = figure_settings(params)
    block = figures.loss_block_steps
    root = Path(root)
    histories: dict[Path, dict[str, np.ndarray]] = {}

    def history(path: Path, columns: Sequence[str], run: str) -> dict[str, np.ndarray]:
        if path not in histories:  # 3b's softmax history is also 4c's lambda = 0
            histories[path] = read_history(root, path, columns, run)
        return histories[path]

    def train(run: str) -> dict[str, np.ndarray]:
        return history(output_paths(run)["train_history"], TRAIN_COLUMNS, run)

    def validation(run: str) -> dict[str, np.ndarray]:
        return history(output_paths(run)["validation_history"], VALIDATION_COLUMNS, run)

    def labels(name: str, **fields: Any) -> list[str]:
        settings = figures.figure(name)
        assert isinstance(settings, (StepFigure, NormFigure)), name  # the figures with a legend list
        legend = settings.legend
        return [_label(text, f"figures.{name}.legend", block_steps=block, **fields) for text in legend]

    def step_figure(name: str, curves: list[Curve]) -> Recipe:
        settings = figures.figure(name)
        assert isinstance(settings, StepFigure), name
        return Recipe(steps_figure, dict(curves=curves, x_label=figures.steps_label, y_label=settings.y_label,
                                         y_limits=settings.y_limits, size_inches=figures.size_inches, name=name))

    def loss_and_accuracy(loss_name: str, accuracy_name: str, run: str) -> dict[str, Recipe]:
        loss_labels, accuracy_labels = labels(loss_name), labels(accuracy_name)
        steps = validation(run)["step"]
        return {
            loss_name: step_figure(loss_name, [
                Curve(loss_labels[0], train(run)["step"], train(run)["train_loss"], block),
                Curve(loss_labels[1], steps, validation(run)["val_loss"])]),
            accuracy_name: step_figure(accuracy_name, [
                Curve(accuracy_labels[0], steps, validation(run)["train_accuracy"]),
                Curve(accuracy_labels[1], steps, validation(run)["val_accuracy"])]),
        }

    drawn = loss_and_accuracy("2b_loss", "2b_accuracy", roles["2b"])
    pair = (roles["2e_unshuffled"], roles["2e_shuffled"])
    drawn["2e_loss"] = step_figure("2e_loss", [
        Curve(label, train(run)["step"], train(run)["train_loss"], block)
        for label, run in zip(labels("2e_loss"), pair)])
    drawn["2e_accuracy"] = step_figure("2e_accuracy", [
        Curve(label, validation(run)["step"], validation(run)["val_accuracy"])
        for label, run in zip(labels("2e_accuracy"), pair)])
    drawn |= loss_and_accuracy("3b_loss", "3c_accuracy", roles["3b"])

    drawn["4b_weights"] = Recipe(weights_figure, dict(
        rows=[(_label(figures.fig_4b_weights.row_label, "figures.4b_weights.row_label",
                      l2_lambda=runs[run].l2_lambda, run=run), read_softmax_weights(root, run))
              for run in (roles["4b_top"], roles["4b_bottom"])],
        size_inches=figures.fig_4b_weights.size_inches))

    sweep = lambda_sweep(runs)
    shared = {l2_lambda for l2_lambda, _ in sweep if sum(other == l2_lambda for other, _ in sweep) > 1}

    def sweep_label(l2_lambda: float, run: str) -> str:
        label = _label(figures.fig_4c_val_accuracy.legend, "figures.4c_val_accuracy.legend",
                       l2_lambda=l2_lambda, run=run)
        return f"{label} ({run})" if l2_lambda in shared else label  # two runs, one lambda: tell them apart

    drawn["4c_val_accuracy"] = step_figure("4c_val_accuracy", [
        Curve(sweep_label(l2_lambda, run),
              validation(run)["step"], validation(run)["val_accuracy"],
              # Small lambdas give nearly the same curve: dashes let the one beneath show through.
              linestyle=LINESTYLES[i % len(LINESTYLES)])
        for i, (l2_lambda, run) in enumerate(sweep)])

    norm = figures.fig_4e_weight_norm
    drawn["4e_weight_norm"] = Recipe(weight_norm_figure, dict(
        l2_lambdas=[l2_lambda for l2_lambda, _ in sweep], weight_norms=[read_weight_norm(root, run) for _, run in sweep],
        x_label=norm.x_label, y_label=norm.y_label, y_scale=norm.y_scale,
        legend=labels("4e_weight_norm"), size_inches=figures.size_inches))
    return {name: drawn[name] for name in FIGURE_NAMES}


def draw_all(params: Params | dict[str, Any], root: Path = Path("."), out_dir: Path | None = None, *,
             cache_dir: Path | None = None) -> list[Path]:
    """Draws every figure as a PDF and a PNG; returns the paths written (see :func:`draw_figures`)."""
    return draw_figures(params, root, out_dir, cache_dir=cache_dir)[0]


#: The printed size of the figures' type, in points: below it is hard to read, above it is out of scale
#: with the report's 11-pt text (and labels crowd the axes). The 12-pt type of the default 5-inch
#: figures prints at about 10 pt (layout.py).
PRINTED_TYPE_PT = (5.0, 20.0)
#: The fewest pixels per printed inch (a screen's): below it the type of a figure is blurred beyond reading
#: (the defaults give 240).
MIN_PRINTED_PPI = 72
#: The most pixels along a side of a figure: matplotlib holds the whole image in memory (4 bytes a
#: pixel, 64 MB at this limit), and 4000 pixels is 960 per printed inch at the text width.
MAX_SIDE_PIXELS = 4000


def check_drawable(figures: Figures) -> None:
    """Raises PipelineError naming the params key when a figure's size, dpi and font size would not
    draw in bounded memory or not be legible as the report prints it (:func:`mnist_report.layout.print_scale`)."""
    for name in FIGURE_NAMES:
        own = name == "4b_weights"
        size = figures.fig_4b_weights.size_inches if own else figures.size_inches
        key = f"figures.{name}.size_inches" if own else "figures.size_inches"
        shown_size = f"{key} = [{size[0]:g}, {size[1]:g}]"
        pixels = max(size) * figures.dpi
        if pixels > MAX_SIDE_PIXELS:
            raise PipelineError(f"figures.dpi = {figures.dpi} with {shown_size}: figure {name} would be "
                                f"{pixels:.0f} pixels on a side; expected at most {MAX_SIDE_PIXELS} (a smaller dpi or size)")
        scale = layout.print_scale(name, size)
        printed_type = figures.font_size * scale
        low, high = PRINTED_TYPE_PT
        if not low <= printed_type <= high:
            raise PipelineError(f"{shown_size}: figure {name} prints at {scale:.3g} of that size, its "
                                f"{figures.font_size:g}-pt type (figures.font_size) at {printed_type:.3g} pt; "
                                f"expected the type to print at {low:g} to {high:g} pt")
        ppi = figures.dpi / scale
        if ppi < MIN_PRINTED_PPI:
            raise PipelineError(f"figures.dpi = {figures.dpi} with {shown_size}: figure {name} would print at "
                                f"{ppi:.0f} pixels per inch; expected at least {MIN_PRINTED_PPI}")


def draw_figures(params: Params | dict[str, Any], root: Path = Path("."), out_dir: Path | None = None, *,
                 cache_dir: Path | None = None) -> tuple[list[Path], list[str]]:
    """Draws every figure as ``<name>.pdf`` (vector, the report prints it) and ``<name>.png`` (what
    ``dvc plots`` shows), both from the same Figure; returns (the paths written, PDF then PNG for each
    figure, and the names drawn).

    Inputs are read under ``root``. The PNGs go to ``out_dir`` (default ``root/report/figures``), the
    PDFs to ``root/report/build/figures``, or to ``out_dir`` too when it is given. With
    ``cache_dir``, a figure whose :func:`~mnist_report.figure_cache.recipe_digest` is stored there is copied from it instead of
    drawn again (the same bytes: the digest covers everything the drawing depends on), and each
    figure drawn is stored there (its PNG and its PDF). Every input is read and
    checked before anything is written.
    """
    from mnist_report import figure_cache
    from mnist_report.plots import figure_style, render_pdf, render_png

    params = check_params(params, mathtext=True)  # once: figure_recipes takes it as checked
    figures = params.figures
    check_drawable(figures)
    pdf_dir = Path(root) / FIGURE_PDFS_DIR if out_dir is None else Path(out_dir)
    out_dir = Path(root) / FIGURES_DIR if out_dir is None else Path(out_dir)
    recipes = figure_recipes(params, root)
    files: dict[Path, bytes] = {}
    drawn: list[str] = []
    with figure_style(figures.font_size):
        for name, recipe in recipes.items():
            digest = figure_cache.recipe_digest(recipe, figures.dpi, figures.font_size) if cache_dir is not None else ""
            png, pdf = ([figure_cache.cached_png(Path(cache_dir), name, digest, suffix) for suffix in (".png", ".pdf")]
                        if cache_dir is not None else [None, None])
            if png is None or pdf is None:
                figure = recipe.figure()
                png, pdf = render_png(figure, figures.dpi), render_pdf(figure)
                if cache_dir is not None:
                    figure_cache.store_png(Path(cache_dir), name, digest, png)
                    figure_cache.store_png(Path(cache_dir), name, digest, pdf, ".pdf")
                drawn.append(name)
            files[pdf_dir / figure_pdf(name)], files[out_dir / figure_file(name)] = pdf, png
    for path, data in files.items():
        write_bytes(path, data)
    return list(files), drawn


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
