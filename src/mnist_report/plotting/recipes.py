"""The figures' recipes: each figure of :data:`~mnist_report.config.figures.FIGURES` reduced to a
:class:`Recipe` (the drawing function of :mod:`mnist_report.plotting.drawings` and the data, labels and
sizes it is given), read from the runs' histories, final weights and metrics.

Inputs (formats in ``docs/contracts.md``): ``metrics/history/<run>/train.csv`` and
``validation.csv``, ``models/<run>.npy`` and ``metrics/<run>.json``; which runs each figure draws
is the registry's (``roles`` in ``params.yaml``; figures 4c and 4e draw every softmax run, ordered by
``l2_lambda``). A recipe is a function of those inputs and params.yaml alone, so its digest
(:func:`~mnist_report.plotting.cache.recipe_digest`) identifies the figure it draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_report.common import outputs
from mnist_report.common.errors import PipelineError
from mnist_report.common.outputs import TRAIN_COLUMNS, VALIDATION_COLUMNS, output_paths
from mnist_report.config.figures import FIGURE_NAMES, REGISTRY, NormFigure, StepFigure, shown_runs
from mnist_report.config.params import Params
from mnist_report.mnist.data import SOFTMAX_WEIGHTS_SHAPE
from mnist_report.plotting.drawings import LINESTYLES, Curve, steps_figure, weight_norm_figure, weights_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _label(template: str, key_path: str, **fields: Any) -> str:
    """Returns ``template.format(**fields)``; an unknown field names the params key."""
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as error:
        raise PipelineError(f"{key_path} = {template!r}: cannot fill it in ({error!r}); "
                            f"expected fields among {', '.join(fields)} (double literal braces)") from error


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
        return outputs.read_weights(root / path, str(path), SOFTMAX_WEIGHTS_SHAPE)
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


@dataclass(frozen=True)
class Recipe:
    """How to draw one figure: ``draw(**arguments)``, where ``draw`` is a drawing function of
    :mod:`mnist_report.plotting.drawings` and ``arguments`` hold everything it needs (curves, weights,
    labels, limits, sizes).

    A drawing is a function of its recipe, the drawing code and the libraries alone, so
    :func:`~mnist_report.plotting.cache.recipe_digest` identifies the PNG it gives (see
    :func:`~mnist_report.plotting.render.draw_figures`).
    """

    draw: Any
    arguments: dict[str, Any]

    def figure(self) -> Figure:
        return self.draw(**self.arguments)


def figure_recipes(params: Params, root: Path = Path(".")) -> dict[str, Recipe]:
    """Returns figure name -> :class:`Recipe`, in the order of FIGURE_NAMES, every input read and
    checked. Which runs each figure shows, and in which order, is its registry entry's
    (:func:`~mnist_report.config.figures.shown_runs`)."""
    figures, runs, roles = params.figures, params.runs, params.roles
    block = figures.loss_block_steps
    root = Path(root)
    histories: dict[Path, dict[str, np.ndarray]] = {}

    def history(path: Path, columns: Sequence[str], run: str) -> dict[str, np.ndarray]:
        if path not in histories:  # 3b's softmax history is also 4c's lambda = 0
            histories[path] = read_history(root, path, columns, run)
        return histories[path]

    def shown(name: str) -> list[str]:
        return shown_runs(REGISTRY[name], runs, roles)

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

    def loss_and_accuracy(loss_name: str, accuracy_name: str) -> dict[str, Recipe]:
        """A run's training and validation loss, and its training and validation accuracy."""
        (loss_run,), (accuracy_run,) = shown(loss_name), shown(accuracy_name)
        loss_labels, accuracy_labels = labels(loss_name), labels(accuracy_name)
        return {
            loss_name: step_figure(loss_name, [
                Curve(loss_labels[0], train(loss_run)["step"], train(loss_run)["train_loss"], block),
                Curve(loss_labels[1], validation(loss_run)["step"], validation(loss_run)["val_loss"])]),
            accuracy_name: step_figure(accuracy_name, [
                Curve(accuracy_labels[0], validation(accuracy_run)["step"], validation(accuracy_run)["train_accuracy"]),
                Curve(accuracy_labels[1], validation(accuracy_run)["step"], validation(accuracy_run)["val_accuracy"])]),
        }

    drawn = loss_and_accuracy("2b_loss", "2b_accuracy")
    drawn["2e_loss"] = step_figure("2e_loss", [
        Curve(label, train(run)["step"], train(run)["train_loss"], block)
        for label, run in zip(labels("2e_loss"), shown("2e_loss"))])
    drawn["2e_accuracy"] = step_figure("2e_accuracy", [
        Curve(label, validation(run)["step"], validation(run)["val_accuracy"])
        for label, run in zip(labels("2e_accuracy"), shown("2e_accuracy"))])
    drawn |= loss_and_accuracy("3b_loss", "3c_accuracy")

    weights = figures.figure("4b_weights")
    drawn["4b_weights"] = Recipe(weights_figure, dict(
        rows=[(_label(weights.row_label, "figures.4b_weights.row_label",
                      l2_lambda=runs[run].l2_lambda, run=run), read_softmax_weights(root, run))
              for run in shown("4b_weights")],
        size_inches=figures.size_of("4b_weights")))

    sweep = [(runs[run].l2_lambda, run) for run in shown("4c_val_accuracy")]  # by lambda
    shared = {l2_lambda for l2_lambda, _ in sweep if sum(other == l2_lambda for other, _ in sweep) > 1}

    def sweep_label(l2_lambda: float, run: str) -> str:
        label = _label(figures.figure("4c_val_accuracy").legend, "figures.4c_val_accuracy.legend",
                       l2_lambda=l2_lambda, run=run)
        return f"{label} ({run})" if l2_lambda in shared else label  # two runs, one lambda: tell them apart

    drawn["4c_val_accuracy"] = step_figure("4c_val_accuracy", [
        Curve(sweep_label(l2_lambda, run),
              validation(run)["step"], validation(run)["val_accuracy"],
              # Small lambdas give nearly the same curve: dashes let the one beneath show through.
              linestyle=LINESTYLES[i % len(LINESTYLES)])
        for i, (l2_lambda, run) in enumerate(sweep)])

    norm = figures.figure("4e_weight_norm")
    norm_runs = shown("4e_weight_norm")
    drawn["4e_weight_norm"] = Recipe(weight_norm_figure, dict(
        l2_lambdas=[runs[run].l2_lambda for run in norm_runs], weight_norms=[read_weight_norm(root, run) for run in norm_runs],
        x_label=norm.x_label, y_label=norm.y_label, y_scale=norm.y_scale,
        legend=labels("4e_weight_norm"), size_inches=figures.size_inches))
    return {name: drawn[name] for name in FIGURE_NAMES}


