"""The synthetic runs the figures tests draw (tests/unit/test_figures.py, tests/unit/plotting/,
tests/integration/test_figures.py): six runs whose losses, accuracies and weights differ by run,
written through the train stage's own writers (:mod:`support.synthetic_runs`), the params that draw
them (the ``params`` and ``root`` fixtures), and the comparison of a cached draw with a clean one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnist_report import figures
from mnist_report.config import layout
from mnist_report.config.figures import FIGURE_NAMES, PRINT_WIDTH
from mnist_report.config.params import check_params
from mnist_report.config.schema import load_params, parse_yaml
from mnist_report.config.params import Params
from mnist_report.plotting.recipes import figure_recipes
from mnist_report.plotting.render import PRINTED_TYPE_PT, draw_figures
from support.paths import REPO
from support.yaml_files import yaml_text
from support.synthetic_runs import METRICS, write_histories, write_metrics, write_weights


PARAMS_YAML = r"""
defaults: {task: softmax, classes: [2, 3], learning_rate: 0.01, epochs: 2, batch_size: 128,
           shuffle: true, early_stopping: true, early_stopping_patience: 10, validations_per_epoch: 5,
           l2_lambda: 0.0, seed: 0}
runs:
  binary: {task: binary, learning_rate: 0.05, shuffle: false, early_stopping: false}
  binary_early_stopping: {task: binary, learning_rate: 0.05, shuffle: false}
  binary_shuffled: {task: binary, learning_rate: 0.05}
  softmax: {}
  softmax_lambda_1: {l2_lambda: 1.0}
  softmax_lambda_0_1: {l2_lambda: 0.1}
roles: {2b: binary, 2d: binary_early_stopping, 2e_unshuffled: binary_early_stopping,
        2e_shuffled: binary_shuffled, 3b: softmax, 4b_top: softmax, 4b_bottom: softmax_lambda_1}
figures:
  size_inches: [5.0, 3.8]
  dpi: 72                   # the smallest the figures stage draws at (MIN_PRINTED_PPI): the tests look at data
  font_size: 12
  loss_block_steps: 10
  steps_label: Number of Training Steps
  2b_loss: {y_label: Loss, y_limits: [0, 0.2],
            legend: ["Training loss (mean $\\pm$ std of {block_steps} steps)", Validation loss]}
  2b_accuracy: {y_label: Accuracy, y_limits: [0.75, 0.95], legend: [Training accuracy, Validation accuracy]}
  2e_loss: {y_label: Training loss, y_limits: [0, 0.2], legend: [Without shuffling, With shuffling]}
  2e_accuracy: {y_label: Validation accuracy, y_limits: null, legend: [Without shuffling, With shuffling]}
  3b_loss: {y_label: Loss, y_limits: [0, 0.2], legend: [Training loss, Validation loss]}
  3c_accuracy: {y_label: Accuracy, y_limits: [0.8, 0.95], legend: [Training accuracy, Validation accuracy]}
  4b_weights: {size_inches: [6.4, 1.6], row_label: "lambda = {l2_lambda:g}"}
  4c_val_accuracy: {y_label: Validation accuracy, y_limits: null, legend: "lambda = {l2_lambda:g}"}
  4e_weight_norm: {x_label: lambda, y_label: squared norm, y_scale: linear,
                   legend: ["lambda > 0", "lambda = 0"]}
"""
#: The l2_lambda of each softmax run of :data:`PARAMS_YAML`.
LAMBDAS = {"softmax": 0.0, "softmax_lambda_0_1": 0.1, "softmax_lambda_1": 1.0}
#: The training steps of each synthetic run.
TRAIN_STEPS = {"binary": 47, "binary_early_stopping": 33, "binary_shuffled": 25,
               "softmax": 40, "softmax_lambda_0_1": 31, "softmax_lambda_1": 22}


def make_run(root: Path, run: str, steps: int, offset: float) -> None:
    """Writes a run's outputs: losses and accuracies that differ per run (through ``offset``), the
    validation every 6 steps, softmax weights whose pixel p of digit k is ``offset + k + p / 1000``."""
    validations = range(0, steps, 6)
    write_histories(root, run, train_loss=offset + 0.01 * (np.arange(steps) % 7), val_step=validations,
                    val_loss=[offset + 0.1 + step / 1000 for step in validations],
                    val_accuracy=[0.9 + offset + step / 10000 for step in validations],
                    train_accuracy=[0.8 + offset + step / 10000 for step in validations])
    write_weights(root, run, offset + np.arange(10)[None, :] + np.arange(785)[:, None] / 1000)
    write_metrics(root, run, metrics_of(weight_norm_squared=10 * (1 - offset)))


def metrics_of(**values) -> dict:
    """A run's metrics file as the train stage writes it (every key outputs.read_metrics checks)."""
    return {**METRICS, **values}


@pytest.fixture
def params() -> dict:
    """The figures' params (:data:`PARAMS_YAML`); the sections the figures stage does not read come
    from the project's params.yaml: every stage checks the whole file."""
    project = load_params(REPO / "params.yaml")
    return {"data": project["data"], "report": project["report"], **parse_yaml(PARAMS_YAML)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A temporary folder holding the outputs of the six runs of :data:`TRAIN_STEPS`."""
    for i, (run, steps) in enumerate(TRAIN_STEPS.items()):
        make_run(tmp_path, run, steps, offset=i / 100)
    return tmp_path


def draw_all(params, root, out_dir=None, **options):
    """Draws every figure of ``params`` (checked here) under ``root``; returns the paths written."""
    return draw_figures(check_params(params, mathtext=True), root, out_dir, **options)[0]


def pngs(folder: Path) -> dict[str, bytes]:
    """Figure name -> the bytes of its PNG in ``folder``."""
    return {path.stem: path.read_bytes() for path in sorted(folder.glob("*.png"))}


def pdfs(folder: Path) -> dict[str, bytes]:
    """Figure name -> the bytes of its PDF in ``folder``."""
    return {path.stem: path.read_bytes() for path in sorted(folder.glob("*.pdf"))}


def incremental_equals_clean(params: dict, root: Path, cache: Path, tmp_path: Path, tag: str) -> list[str]:
    """Draws with the cache into root/report/figures and without it into a new folder; asserts the
    two sets of PNGs, and of PDFs, are the same bytes and returns the names the cached draw redrew."""
    written, drawn = draw_figures(check_params(params, mathtext=True), root, cache_dir=cache)
    clean = draw_all(params, root, tmp_path / f"clean-{tag}")
    assert [path.stem for path in written] == [name for name in FIGURE_NAMES for _ in ("pdf", "png")]
    assert pngs(root / figures.FIGURES_DIR) == pngs(tmp_path / f"clean-{tag}")
    assert pdfs(root / figures.FIGURE_PDFS_DIR) == pdfs(tmp_path / f"clean-{tag}")
    assert len(clean) == 2 * len(FIGURE_NAMES)
    return drawn


# ------------------------------------------------------------------- the figures' bounds

#: The print width of the figures that share figures.size_inches: 0.66 of the 160-mm text width.
PRINT_INCHES = PRINT_WIDTH * layout.TEXT_WIDTH_MM / 25.4


def run_stage(params: dict, root, monkeypatch, capsys) -> tuple[int, str]:
    """Runs the figures stage (its ``main``) in ``root`` with ``params`` as its params.yaml; returns
    (its exit status, what it wrote to stderr)."""
    (root / "params.yaml").write_text(yaml_text(params), encoding="utf-8")
    monkeypatch.chdir(root)
    status = figures.main([])
    return status, capsys.readouterr().err


# Type printed at exactly the bounds, with the 12-pt font: width = 12 * PRINT_INCHES / printed size.
LARGEST = 12 * PRINT_INCHES / PRINTED_TYPE_PT[0]


SMALLEST = 12 * PRINT_INCHES / PRINTED_TYPE_PT[1]


def build_figures(params: Params, root: Path) -> dict:
    """Figure name -> the matplotlib Figure its recipe draws (not saved): what the figures stage would
    draw from the runs under ``root``."""
    return {name: recipe.figure() for name, recipe in figure_recipes(params, root).items()}
