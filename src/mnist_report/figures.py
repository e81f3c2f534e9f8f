"""Draws the report's figures (stage ``figures``) from the runs' histories, final weights and metrics.

Inputs (formats in ``docs/contracts.md``): ``metrics/history/<run>/train.csv`` and
``validation.csv``, ``models/<run>.npy`` and ``metrics/<run>.json``; which runs each figure draws
is ``roles`` in ``params.yaml``, and figures 4c and 4e draw every softmax run, ordered by
``l2_lambda``. Outputs: the PNGs of :data:`FIGURE_NAMES` in ``report/figures/``; the same inputs
give the same bytes. :func:`figure_inputs` names the files each figure reads (and so its runs);
:func:`input_paths`, their union, is the stage's DVC ``deps``.

Redrawing only what changed: each figure is first reduced to a :class:`Recipe` (the drawing function
and the data, labels and sizes it is given); the stage keeps each PNG in ``.cache/figures/`` under the
digest of everything its pixels depend on (:func:`recipe_digest`) and copies, rather than redraws, a
figure whose digest is there. A change to one run redraws the figures that show it, nothing else;
the bytes are those of a full redraw (``tests/test_incremental.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

# A file-only backend: the stage runs on machines without a display, and never opens a window.
matplotlib.use("Agg")
import matplotlib.style  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402  (no pyplot: figures are plain objects, nothing leaks)

from mnist_report.errors import PipelineError, one_line_errors  # noqa: E402
from mnist_report import outputs  # noqa: E402
from mnist_report.files import write_bytes  # noqa: E402
from mnist_report.outputs import TRAIN_COLUMNS, VALIDATION_COLUMNS, output_paths  # noqa: E402
from mnist_report.params import FIGURE_NAMES, Figures, Params, Run, check_params, lambda_sweep, stage_params  # noqa: E402

FIGURES_DIR = Path("report/figures")
#: The stage's PNGs by recipe digest, between runs (git-ignored; not a DVC output): see draw_all.
FIGURE_CACHE = Path(".cache/figures")
LINESTYLES = ("-", "--", "-.", ":")
PIXELS, DIGITS = 784, 10  # a softmax weight matrix is (PIXELS + 1 bias row, DIGITS)

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
    """Returns the metric ``weight_norm_squared`` (sum of squares of all final weights) of a run."""
    path = output_paths(run)["metrics"]
    try:
        metrics = json.loads((root / path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"run {run}: {path}: missing; expected the metrics of train@{run}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PipelineError(f"run {run}: {path}: not readable JSON ({error})") from error
    value = metrics.get("weight_norm_squared") if isinstance(metrics, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
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


# ------------------------------------------------------------------------------------ drawings

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
    figure = Figure(figsize=tuple(size_inches), layout="constrained")
    ax = figure.add_subplot()
    handles, drawn, lowest, highest = [], [], math.inf, -math.inf
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
    figure = Figure(figsize=tuple(size_inches), layout="constrained")
    grid = figure.subplots(len(rows), DIGITS, squeeze=False)
    for row, (axes, (label, weights)) in enumerate(zip(grid, rows)):
        tiles = weights[:PIXELS].T.reshape(DIGITS, 28, 28)
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
    figure = Figure(figsize=tuple(size_inches), layout="constrained")
    ax = figure.add_subplot()
    l2_lambdas, weight_norms = np.asarray(l2_lambdas, float), np.asarray(weight_norms, float)
    positive = l2_lambdas > 0
    ax.set_xscale("log")
    ax.plot(l2_lambdas[positive], weight_norms[positive], "o-", label=legend[0])
    for norm in weight_norms[~positive]:
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


# -------------------------------------------------------------------------------- the pipeline

@dataclass(frozen=True)
class Recipe:
    """How to draw one figure: ``draw(**arguments)``, where ``draw`` is one of this module's drawing
    functions and ``arguments`` hold everything it needs (curves, weights, labels, limits, sizes).

    A drawing is a function of its recipe, this module's code and the libraries alone, so
    :func:`recipe_digest` identifies the PNG it gives (see :func:`draw_all`).
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
        legend = figures.figure(name).legend
        return [_label(text, f"figures.{name}.legend", block_steps=block, **fields) for text in legend]

    def step_figure(name: str, curves: list[Curve]) -> Recipe:
        settings = figures.figure(name)
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
    shared = {l2_lambda for l2_lambda, _ in sweep if sum(l == l2_lambda for l, _ in sweep) > 1}

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


@contextlib.contextmanager
def figure_style(font_size: float) -> Iterator[None]:
    """Within: matplotlib's built-in defaults (not this machine's matplotlibrc) at ``font_size``.

    Starting from the built-in defaults makes the pixels depend on the inputs and matplotlib alone.
    Tick labels are made when a figure is drawn, so build and render inside the same context.
    """
    with matplotlib.style.context(["default", {"font.size": font_size}]):
        yield


def render_png(figure: Figure, dpi: int) -> bytes:
    """Returns the PNG bytes of ``figure``, without the metadata (matplotlib version) that varies."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _feed(hasher: Any, value: Any) -> None:
    """Feeds ``value`` to ``hasher`` unambiguously: a type tag, then the value (floats exactly, arrays
    with their dtype and shape). A type it does not know is an error, never a guess."""
    if value is None:
        hasher.update(b"N;")
    elif isinstance(value, bool):
        hasher.update(b"B1;" if value else b"B0;")
    elif isinstance(value, (int, np.integer)):
        hasher.update(b"I%d;" % int(value))
    elif isinstance(value, (float, np.floating)):
        hasher.update(b"F" + float(value).hex().encode() + b";")
    elif isinstance(value, str):
        data = value.encode("utf-8")
        hasher.update(b"S%d:" % len(data) + data)
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        hasher.update(b"A" + array.dtype.str.encode() + repr(array.shape).encode() + b":")
        hasher.update(array.tobytes())
    elif isinstance(value, (list, tuple)):
        hasher.update(b"L%d:" % len(value))
        for item in value:
            _feed(hasher, item)
    elif isinstance(value, dict):
        hasher.update(b"D%d:" % len(value))
        for key in sorted(value):
            _feed(hasher, key)
            _feed(hasher, value[key])
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _feed(hasher, type(value).__qualname__)
        _feed(hasher, {field.name: getattr(value, field.name) for field in dataclasses.fields(value)})
    else:
        raise TypeError(f"cannot digest a {type(value).__name__} in a figure recipe")


def recipe_digest(recipe: Recipe, dpi: int, font_size: float) -> str:
    """Returns the sha256 (hex) of everything the PNG of ``recipe`` depends on: the recipe (drawing
    function and arguments), the dpi and font size, this module's source (the drawing code) and the
    versions of Python, NumPy and matplotlib (whose fonts and defaults are part of the pixels)."""
    hasher = hashlib.sha256()
    font = font_manager.findfont(font_manager.FontProperties())  # the style's font, as the drawing finds it
    _feed(hasher, ["mnist-report figure", recipe.draw.__name__, recipe.arguments, dpi, font_size,
                   sys.version, np.__version__, matplotlib.__version__, font, Path(font).stat().st_size])
    hasher.update(Path(__file__).read_bytes())
    return hasher.hexdigest()


def _cached_png(cache_dir: Path, name: str, digest: str) -> bytes | None:
    """Returns the PNG stored for (name, digest) in ``cache_dir`` if its bytes are intact, else None.

    An entry is ``<name>-<recipe digest>-<sha256 of the PNG>.png``: a damaged file is never used."""
    for path in cache_dir.glob(f"{name}-{digest}-*.png"):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if path.stem.rsplit("-", 1)[1] == hashlib.sha256(data).hexdigest():
            return data
    return None


def _store_png(cache_dir: Path, name: str, digest: str, data: bytes) -> None:
    """Stores a PNG under (name, digest), and removes that figure's other entries (one per figure)."""
    path = cache_dir / f"{name}-{digest}-{hashlib.sha256(data).hexdigest()}.png"
    try:
        for old in cache_dir.glob(f"{name}-*.png"):
            if old != path:
                old.unlink(missing_ok=True)
        write_bytes(path, data)
    except (OSError, PipelineError):
        pass  # the cache only saves time: a failure to keep a PNG there costs the next run a redraw


def draw_all(params: Params | dict[str, Any], root: Path = Path("."), out_dir: Path | None = None, *,
             cache_dir: Path | None = None) -> list[Path]:
    """Draws every figure into ``out_dir/<name>.png``; returns the paths written (see :func:`draw_figures`)."""
    return draw_figures(params, root, out_dir, cache_dir=cache_dir)[0]


def draw_figures(params: Params | dict[str, Any], root: Path = Path("."), out_dir: Path | None = None, *,
                 cache_dir: Path | None = None) -> tuple[list[Path], list[str]]:
    """Draws every figure into ``out_dir/<name>.png``; returns (the paths written, the names drawn).

    Inputs are read under ``root``; ``out_dir`` defaults to ``root/report/figures``. With
    ``cache_dir``, a figure whose :func:`recipe_digest` is stored there is copied from it instead of
    drawn again (the same bytes: the digest covers everything the drawing depends on), and each
    figure drawn is stored there. Every input is read and checked before anything is written.
    """
    figures, _, _ = figure_settings(params)
    out_dir = Path(root) / FIGURES_DIR if out_dir is None else Path(out_dir)
    recipes = figure_recipes(params, root)
    pngs: dict[str, bytes] = {}
    drawn: list[str] = []
    with figure_style(figures.font_size):
        for name, recipe in recipes.items():
            digest = recipe_digest(recipe, figures.dpi, figures.font_size) if cache_dir is not None else ""
            data = _cached_png(Path(cache_dir), name, digest) if cache_dir is not None else None
            if data is None:
                data = render_png(recipe.figure(), figures.dpi)
                if cache_dir is not None:
                    _store_png(Path(cache_dir), name, digest, data)
                drawn.append(name)
            pngs[name] = data
    written = []
    for name, data in pngs.items():
        path = out_dir / f"{name}.png"
        write_bytes(path, data)
        written.append(path)
    return written, drawn


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    """Stage ``figures``: draws the report's figures from ``params.yaml`` and the runs' outputs."""
    params = stage_params("python -m mnist_report.figures", main.__doc__, argv, input_paths, mathtext=True)
    if params is None:
        return 0
    written, drawn = draw_figures(params, cache_dir=FIGURE_CACHE)
    print(f"figures: wrote {len(written)} PNGs to {FIGURES_DIR}/ ({len(drawn)} drawn, "
          f"{len(written) - len(drawn)} unchanged from {FIGURE_CACHE}/)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
