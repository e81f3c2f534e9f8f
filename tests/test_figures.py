"""Stage ``figures``: every figure draws exactly its input data, refuses bad inputs by name, and is
byte-for-byte reproducible. Synthetic runs only, written under ``tmp_path``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import yaml

from mnist_report import figures
from mnist_report.common.errors import PipelineError
from mnist_report.common.outputs import output_paths
from mnist_report.config import figures as registry
from mnist_report.config.figures import FIGURE_NAMES, input_paths, print_width
from mnist_report.config.params import check_params
from mnist_report.plotting import drawings as plots
from mnist_report.plotting import recipes
from mnist_report.plotting.drawings import block_mean_std
from mnist_report.plotting.recipes import build_figures
from mnist_report.plotting.render import draw_figures

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
LAMBDAS = {"softmax": 0.0, "softmax_lambda_0_1": 0.1, "softmax_lambda_1": 1.0}
TRAIN_STEPS = {"binary": 47, "binary_early_stopping": 33, "binary_shuffled": 25,
               "softmax": 40, "softmax_lambda_0_1": 31, "softmax_lambda_1": 22}


def make_run(root: Path, run: str, steps: int, offset: float) -> None:
    """Writes a run's outputs: losses and accuracies that differ per run (through ``offset``), the
    validation every 6 steps, softmax weights whose pixel p of digit k is ``offset + k + p / 1000``."""
    history = root / "metrics/history" / run
    history.mkdir(parents=True, exist_ok=True)
    train_loss = offset + 0.01 * (np.arange(steps) % 7)
    (history / "train.csv").write_text(
        "step,train_loss\n" + "".join(f"{s},{v!r}\n" for s, v in enumerate(train_loss.tolist())))
    rows = [f"{s},{offset + 0.1 + s / 1000!r},{0.9 + offset + s / 10000!r},{0.8 + offset + s / 10000!r}\n"
            for s in range(0, steps, 6)]
    (history / "validation.csv").write_text("step,val_loss,val_accuracy,train_accuracy\n" + "".join(rows))
    (root / "models").mkdir(exist_ok=True)
    weights = offset + np.arange(10)[None, :] + np.arange(785)[:, None] / 1000
    np.save(root / "models" / f"{run}.npy", weights)
    (root / "metrics" / f"{run}.json").write_text(json.dumps(metrics_of(weight_norm_squared=10 * (1 - offset))))


def metrics_of(**values) -> dict:
    """A run's metrics file as the train stage writes it (every key outputs.read_metrics checks)."""
    return {"train_loss": 0.2, "val_loss": 0.25, "train_accuracy": 0.95, "val_accuracy": 0.93,
            "early_stop_epoch": None, "steps": 31, "weight_norm_squared": 1.0, **values}


@pytest.fixture
def params() -> dict:
    # Sections this stage does not read come from the project's params.yaml: every stage checks the whole file.
    project = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    return {"data": project["data"], "report": project["report"], **yaml.safe_load(PARAMS_YAML)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for i, (run, steps) in enumerate(TRAIN_STEPS.items()):
        make_run(tmp_path, run, steps, offset=i / 100)
    return tmp_path


def read(root: Path, run: str, name: str) -> dict[str, np.ndarray]:
    table = np.genfromtxt(root / "metrics/history" / run / f"{name}.csv", delimiter=",", names=True)
    return {column: table[column] for column in table.dtype.names}


def line_data(figure, index: int) -> tuple[np.ndarray, np.ndarray]:
    line = figure.axes[0].get_lines()[index]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def legend_texts(figure) -> list[str]:
    legend = figure.legends[0] if figure.legends else figure.axes[0].get_legend()
    return [text.get_text() for text in legend.get_texts()]


# ---------------------------------------------------------------------------------- block means

def test_block_mean_std_by_hand_drops_the_partial_block_and_plots_at_the_middle_step():
    steps = np.arange(100, 125)  # 25 recorded steps: two blocks of 10, five left over
    values = np.array([1.0, 3.0] * 5 + list(range(10)) + [50.0] * 5)
    block_step, mean, std = block_mean_std(steps, values, 10)
    np.testing.assert_array_equal(block_step, [105, 115])  # index 5 of each block
    # Block 1: five 1s and five 3s: mean 2, every deviation 1. Block 2: 0..9: mean 4.5,
    # variance (sum of (k - 4.5)^2) / 10 = 82.5 / 10.
    np.testing.assert_allclose(mean, [2.0, 4.5])
    np.testing.assert_allclose(std, [1.0, (82.5 / 10) ** 0.5])


def test_training_loss_is_block_means_with_a_one_std_band_and_validation_is_raw(params, root):
    figure = build_figures(check_params(params, mathtext=True), root)["2b_loss"]
    train, validation = read(root, "binary", "train"), read(root, "binary", "validation")
    blocks = train["train_loss"][:40].reshape(4, 10)  # 47 steps: four blocks, 7 dropped
    x, y = line_data(figure, 0)
    np.testing.assert_array_equal(x, [5, 15, 25, 35])
    np.testing.assert_allclose(y, blocks.mean(axis=1))
    band = figure.axes[0].collections[0].get_paths()[0].vertices
    for step, mean, std in zip(x, blocks.mean(axis=1), blocks.std(axis=1)):
        edge = band[band[:, 0] == step, 1]
        assert edge.min() == pytest.approx(mean - std) and edge.max() == pytest.approx(mean + std)
    x, y = line_data(figure, 1)
    np.testing.assert_array_equal(x, validation["step"])
    np.testing.assert_allclose(y, validation["val_loss"])
    assert figure.axes[0].get_ylim() == (0, 0.2)
    assert figure.axes[0].get_xlabel() == "Number of Training Steps"
    assert legend_texts(figure) == ["Training loss (mean $\\pm$ std of 10 steps)", "Validation loss"]


def test_accuracy_figures_plot_the_validation_history_columns(params, root):
    drawn = build_figures(check_params(params, mathtext=True), root)
    for name, run, ylim in [("2b_accuracy", "binary", (0.75, 0.95)),
                            ("3c_accuracy", "softmax", (0.8, 0.95))]:
        validation = read(root, run, "validation")
        for index, column in enumerate(["train_accuracy", "val_accuracy"]):
            x, y = line_data(drawn[name], index)
            np.testing.assert_array_equal(x, validation["step"])
            np.testing.assert_allclose(y, validation[column])
        assert drawn[name].axes[0].get_ylim() == ylim
    x, y = line_data(drawn["3b_loss"], 1)
    np.testing.assert_allclose(y, read(root, "softmax", "validation")["val_loss"])


def test_2e_compares_the_unshuffled_and_shuffled_runs_in_that_order(params, root):
    drawn = build_figures(check_params(params, mathtext=True), root)
    for index, run in enumerate(["binary_early_stopping", "binary_shuffled"]):
        train, validation = read(root, run, "train"), read(root, run, "validation")
        x, y = line_data(drawn["2e_loss"], index)
        np.testing.assert_allclose(y, block_mean_std(train["step"], train["train_loss"], 10)[1])
        x, y = line_data(drawn["2e_accuracy"], index)
        np.testing.assert_array_equal(x, validation["step"])
        np.testing.assert_allclose(y, validation["val_accuracy"])
    assert legend_texts(drawn["2e_accuracy"]) == ["Without shuffling", "With shuffling"]


def test_4b_shows_lambda_0_over_lambda_1_as_ten_28x28_tiles_in_digit_order(params, root):
    figure = build_figures(check_params(params, mathtext=True), root)["4b_weights"]
    for row, run in enumerate(["softmax", "softmax_lambda_1"]):
        weights = np.load(root / "models" / f"{run}.npy")
        for digit in range(10):
            ax = figure.axes[row * 10 + digit]
            tile = np.asarray(ax.get_images()[0].get_array())
            assert tile.shape == (28, 28)
            # Pixel p of digit k holds offset + k + p / 1000: row-major order and digit both show.
            np.testing.assert_array_equal(tile, weights[:784, digit].reshape(28, 28))
    assert [figure.axes[k].get_title() for k in range(10)] == [str(k) for k in range(10)]
    assert [figure.axes[r * 10].get_ylabel() for r in (0, 1)] == ["lambda = 0", "lambda = 1"]


def test_4c_and_4e_draw_every_softmax_run_by_increasing_lambda(params, root):
    drawn = build_figures(check_params(params, mathtext=True), root)
    runs = sorted(LAMBDAS, key=LAMBDAS.get)
    assert legend_texts(drawn["4c_val_accuracy"]) == ["lambda = 0", "lambda = 0.1", "lambda = 1"]
    for index, run in enumerate(runs):
        validation = read(root, run, "validation")
        x, y = line_data(drawn["4c_val_accuracy"], index)
        np.testing.assert_array_equal(x, validation["step"])
        np.testing.assert_allclose(y, validation["val_accuracy"])
    norms = {run: json.loads((root / "metrics" / f"{run}.json").read_text())["weight_norm_squared"]
             for run in runs}
    figure = drawn["4e_weight_norm"]
    ax = figure.axes[0]
    x, y = line_data(figure, 0)
    np.testing.assert_allclose(x, [0.1, 1.0])
    np.testing.assert_allclose(y, [norms["softmax_lambda_0_1"], norms["softmax_lambda_1"]])
    # lambda = 0 cannot sit on the log axis: a labelled horizontal line at its norm, in view.
    x, y = line_data(figure, 1)
    np.testing.assert_allclose(y, [norms["softmax"]] * 2)
    assert ax.get_ylim()[0] < norms["softmax"] < ax.get_ylim()[1]
    assert ax.get_xscale() == "log"
    assert legend_texts(figure) == ["lambda > 0", "lambda = 0"]


def test_a_new_lambda_run_in_params_adds_a_curve_and_a_point(params, root):
    params["runs"]["softmax_lambda_0_01"] = {"l2_lambda": 0.01}
    make_run(root, "softmax_lambda_0_01", 30, offset=0.5)
    drawn = build_figures(check_params(params, mathtext=True), root)
    assert len(drawn["4c_val_accuracy"].axes[0].get_lines()) == 4
    np.testing.assert_allclose(line_data(drawn["4e_weight_norm"], 0)[0], [0.01, 0.1, 1.0])
    assert output_paths("softmax_lambda_0_01")["metrics"] in input_paths(check_params(params, mathtext=True))


# --------------------------------------------------------------------------------- y limits

def write_losses(root: Path, run: str, train_loss: np.ndarray, val_loss: np.ndarray) -> None:
    """Replaces a run's losses, keeping its steps (train: 0..n-1; validation: every 6 steps)."""
    history = root / "metrics/history" / run
    (history / "train.csv").write_text(
        "step,train_loss\n" + "".join(f"{s},{v!r}\n" for s, v in enumerate(train_loss.tolist())))
    rows = (history / "validation.csv").read_text().splitlines()
    (history / "validation.csv").write_text("\n".join(
        [rows[0]] + [",".join([row.split(",")[0], repr(loss)] + row.split(",")[2:])
                     for row, loss in zip(rows[1:], val_loss.tolist(), strict=True)]) + "\n")


def test_limits_that_would_hide_the_losses_are_widened_to_show_all_of_them_and_said(params, root, capsys):
    # learning_rate: 1000: every loss in the thousands, far above 3b_loss's y_limits [0, 0.2].
    train_loss = 2000 + 900 * np.sin(np.arange(40))
    val_loss = 3000 + 10 * np.arange(7.0)
    write_losses(root, "softmax", train_loss, val_loss)
    capsys.readouterr()
    figure = build_figures(check_params(params, mathtext=True), root)["3b_loss"]
    blocks = train_loss.reshape(4, 10)
    lowest = (blocks.mean(axis=1) - blocks.std(axis=1)).min()  # the band's lower edge
    low, high = figure.axes[0].get_ylim()
    assert low <= 0 and low <= lowest and high >= val_loss.max() > 3000
    assert high < 1.1 * val_loss.max()  # widened to the data, not beyond it
    line = "figures: 3b_loss: most of a curve lies outside y_limits [0, 0.2] (data from"
    assert capsys.readouterr().out.splitlines() == [
        f"{line} {lowest:.4g} to {val_loss.max():.4g}); drawn with y from {low:.4g} to {high:.4g} instead"]


def test_limits_that_hold_the_data_are_drawn_as_configured_and_silently(params, root, capsys):
    # The original's zoom: the first steps' losses lie above the range, most of the curve inside.
    train_loss = 0.05 + 0.01 * np.cos(np.arange(47))
    train_loss[:10] = 0.7
    write_losses(root, "binary", train_loss, np.r_[0.69, 0.1 + 0.01 * np.arange(7)])
    capsys.readouterr()
    drawn = build_figures(check_params(params, mathtext=True), root)
    assert drawn["2b_loss"].axes[0].get_ylim() == (0, 0.2)
    assert drawn["3c_accuracy"].axes[0].get_ylim() == (0.8, 0.95)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("values, extent, expected", [
    ([0.5, 0.5, 5.0, 5.0], (0.5, 5.0), (0.0, 1.0)),           # half inside: the zoom is kept
    ([0.5, 5.0, 5.0, 5.0], (0.5, 5.0), (0.0, 5.0 + 0.25)),    # most outside, above: the top widens
    ([-1.0, -1.0, 3.0, 0.5], (-1.0, 3.0), (-1.2, 3.2)),       # both sides: 5 % of 4 each
])
def test_y_limits_to_draw_by_hand(values, extent, expected):
    shown = plots.y_limits_to_draw((0.0, 1.0), [np.array([0.5] * 4), np.array(values)], extent)
    assert shown == pytest.approx(expected)


# ------------------------------------------------------------------------------- files written

@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_draw_all_writes_every_figure_as_a_pdf_and_a_png_that_is_not_blank(params, root):
    written = draw_all(params, root)
    assert [path.name for path in written] == [f"{name}.{kind}" for name in FIGURE_NAMES for kind in ("pdf", "png")]
    assert {path.parent for path in written[::2]} == {root / "report/build/figures"}
    for path in written[1::2]:
        assert path.parent == root / "report/figures"
        pixels = matplotlib.image.imread(path)
        assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 1, path.name
    assert matplotlib.image.imread(written[1]).shape[:2] == (int(3.8 * 72), int(5.0 * 72))  # 273.6 pixels: 273


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_the_pdfs_are_vectors_in_computer_modern_with_no_date(params, root):
    # The report includes the PDFs: text in the body's typeface (Computer Modern, from which Latin
    # Modern is drawn), embedded as TrueType; curves as paths; nothing that changes run to run.
    written = {path.name: path.read_bytes() for path in draw_all(params, root)}
    for name in FIGURE_NAMES:
        data = written[f"{name}.pdf"]
        assert data.startswith(b"%PDF-")
        fonts = set(re.findall(rb"/BaseFont /(?:[A-Z]{6}\+)?([A-Za-z0-9-]+)", data))
        assert fonts and fonts <= {b"Cmr10", b"Cmmi10", b"Cmsy10", b"Cmex10"}, (name, fonts)
        assert b"/FontFile2" in data, name  # TrueType embedded, not type 3 outlines
        assert b"/CreationDate" not in data and b"/Producer" not in data and b"/ModDate" not in data, name
        # A vector drawing: no raster image, except 4b's weights, which are images (a digit's 28 x 28 each).
        images = data.count(b"/Subtype /Image")
        assert (images > 0) if name == "4b_weights" else (images == 0), (name, images)


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_same_inputs_give_the_same_bytes(params, root, tmp_path):
    first = draw_all(params, root, tmp_path / "first")
    second = draw_all(params, root, tmp_path / "second")
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
        assert b"matplotlib" not in a.read_bytes()  # no version stamp that would change the bytes


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_main_draws_from_params_yaml_in_the_working_directory(params, root, monkeypatch, capsys):
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    assert figures.main([]) == 0
    assert sorted(path.name for path in (root / "report/figures").iterdir()) == sorted(f"{n}.png" for n in FIGURE_NAMES)
    assert sorted(path.name for path in (root / "report/build/figures").iterdir()) == sorted(
        f"{name}.pdf" for name in FIGURE_NAMES)
    assert figures.main(["--list-deps"]) == 0
    listed = capsys.readouterr().out.splitlines()[-len(input_paths(check_params(params, mathtext=True))):]
    assert listed == [str(path) for path in input_paths(check_params(params, mathtext=True))]


def test_input_paths_are_exactly_the_files_the_stage_reads(params):
    assert [str(path) for path in input_paths(check_params(params, mathtext=True))] == [
        f"metrics/history/{run}/{name}.csv"
        for run in ["binary", "binary_early_stopping", "binary_shuffled", "softmax"]
        for name in ["train", "validation"]
    ] + [
        "metrics/history/softmax_lambda_0_1/validation.csv",
        "metrics/history/softmax_lambda_1/validation.csv",
        "metrics/softmax.json", "metrics/softmax_lambda_0_1.json", "metrics/softmax_lambda_1.json",
        "models/softmax.npy", "models/softmax_lambda_1.npy",
    ]


# ------------------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("content, complaint", [
    (None, "missing"),
    ("", "header is 'nothing'"),
    ("step,val_loss,val_accuracy\n0,1,1\n", "header is"),
    ("step,val_loss,val_accuracy,train_accuracy\n", "no rows"),
    ("step,val_loss,val_accuracy,train_accuracy\n0,0.5,abc,0.9\n", "line 2"),
    ("step,val_loss,val_accuracy,train_accuracy\n0,0.5,nan,0.9\n", "finite"),
    ("step,val_loss,val_accuracy,train_accuracy\n0,0.5,0.9\n", "line 2 has 3 values"),
    ("step,val_loss,val_accuracy,train_accuracy\n6,0.5,0.9,0.9\n0,0.5,0.9,0.9\n", "increasing"),
])
def test_a_missing_or_malformed_history_names_the_run_and_the_file(params, root, content, complaint):
    path = root / "metrics/history/binary_shuffled/validation.csv"
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(PipelineError) as error:
        draw_all(params, root)
    message = str(error.value)
    assert message.startswith("run binary_shuffled: metrics/history/binary_shuffled/validation.csv: ")
    assert complaint in message
    assert not (root / "report/figures").exists()  # nothing drawn until every input passed


def test_malformed_weights_or_metrics_name_the_run_and_the_file(params, root):
    np.save(root / "models/softmax_lambda_1.npy", np.zeros((785, 1)))
    with pytest.raises(PipelineError,
                       match=r"^run softmax_lambda_1: models/softmax_lambda_1.npy: .*\(785, 1\)"):
        build_figures(check_params(params, mathtext=True), root)
    make_run(root, "softmax_lambda_1", 22, offset=0.04)
    (root / "metrics/softmax_lambda_0_1.json").write_text('{"steps": 3}')
    with pytest.raises(PipelineError, match=r"^run softmax_lambda_0_1: metrics/softmax_lambda_0_1.json: "
                                            r"missing 'train_loss'"):
        build_figures(check_params(params, mathtext=True), root)


@pytest.mark.parametrize("edit, message", [
    (lambda p: p["roles"].update({"4b_bottom": "softmax_lambda_7"}),
     "roles.4b_bottom = 'softmax_lambda_7': expected a run of params runs with "
     'task = softmax (softmax, softmax_lambda_1, softmax_lambda_0_1)'),
    (lambda p: p["roles"].update({"3b": "binary"}), "roles.3b = 'binary': "),
    (lambda p: p["roles"].update({"2e_shuffled": "binary_early_stopping"}),
     "roles.2e_shuffled = 'binary_early_stopping': expected a run of params runs "
     'with task = binary, shuffle = True, early_stopping = True (binary_shuffled)'),
    (lambda p: p["roles"].pop("2b"), "roles: missing 2b"),
    (lambda p: p["figures"]["2b_loss"].update({"y_limits": [0.2, 0]}),
     "figures.2b_loss.y_limits = [0.2, 0]: expected null (automatic) or [low, high] with low < high"),
    (lambda p: p["figures"]["2b_loss"].update({"ylim": [0, 1]}), "figures.2b_loss.ylim: unknown key"),
    (lambda p: p["figures"]["4c_val_accuracy"].update({"legend": "lambda = {lambda}"}),
     "figures.4c_val_accuracy.legend = 'lambda = {lambda}': cannot fill it in"),
    (lambda p: p.pop("figures"), "figures = None: expected a mapping"),
])
def test_bad_figures_params_name_the_key_the_value_and_what_was_expected(params, root, edit, message):
    edit(params)
    with pytest.raises(PipelineError) as error:
        build_figures(check_params(params, mathtext=True), root)
    assert str(error.value).startswith(message)


def test_main_turns_a_refusal_into_one_line(params, root, monkeypatch, capsys):
    params["roles"]["2b"] = "nope"
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    assert figures.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: roles.2b = 'nope'") and err.count("\n") == 1


REPOSITORY = Path(__file__).parents[1]


def test_the_repository_params_have_a_valid_figures_section():
    params = yaml.safe_load((REPOSITORY / "params.yaml").read_text())
    assert input_paths(check_params(params, mathtext=True))  # checks the section and the lambda sweep


def test_softmax_runs_that_differ_in_more_than_lambda_are_still_drawn(params, root):
    # An experiment on one softmax run (dvc exp run -S runs.softmax.learning_rate=...) must not stop
    # the figures: every softmax run is drawn, by lambda.
    params["runs"]["softmax"]["learning_rate"] = 0.02
    drawn = build_figures(check_params(params, mathtext=True), root)
    assert legend_texts(drawn["4c_val_accuracy"]) == ["lambda = 0", "lambda = 0.1", "lambda = 1"]


def test_two_runs_with_one_lambda_are_told_apart_by_name(params, root):
    params["runs"]["softmax_again"] = {"seed": 1}
    make_run(root, "softmax_again", steps=40, offset=0.003)
    drawn = build_figures(check_params(params, mathtext=True), root)
    assert legend_texts(drawn["4c_val_accuracy"]) == [
        "lambda = 0 (softmax)", "lambda = 0 (softmax_again)", "lambda = 0.1", "lambda = 1"]


def test_3b_and_3c_draw_the_run_of_role_3b_not_that_of_4b_top(params, root):
    params["roles"]["3b"] = "softmax_lambda_0_1"  # 4b_top stays softmax: the two roles differ
    drawn = build_figures(check_params(params, mathtext=True), root)
    validation = read(root, "softmax_lambda_0_1", "validation")
    train = read(root, "softmax_lambda_0_1", "train")
    x, y = line_data(drawn["3b_loss"], 0)
    np.testing.assert_allclose(y, block_mean_std(train["step"], train["train_loss"], 10)[1])
    x, y = line_data(drawn["3b_loss"], 1)
    np.testing.assert_allclose(y, validation["val_loss"])
    for index, column in enumerate(["train_accuracy", "val_accuracy"]):
        x, y = line_data(drawn["3c_accuracy"], index)
        np.testing.assert_array_equal(x, validation["step"])
        np.testing.assert_allclose(y, validation[column])
    top_row_digit_0 = drawn["4b_weights"].axes[0].get_images()[0].get_array()
    assert top_row_digit_0[0, 0] == pytest.approx(np.load(root / "models/softmax.npy")[0, 0])


def test_printed_at_their_layout_width_the_figures_type_is_about_that_of_the_text():
    # The figures stage draws at figures.size_inches; the templates print each figure at
    # print_width (the registry) of the text width. Together they must give type near the text's 11 pt: from
    # 9 pt (the size of a caption) to 12 pt (4b, at the full width, prints at 11.8), never 7 or 14.
    from mnist_report.config import layout

    settings = yaml.safe_load((REPOSITORY / "params.yaml").read_text())["figures"]
    for name in FIGURE_NAMES:
        width_inches = settings.get(name, {}).get("size_inches", settings["size_inches"])[0]
        printed_inches = print_width(name) * layout.TEXT_WIDTH_MM / 25.4
        printed_points = settings["font_size"] * printed_inches / width_inches
        assert 9 <= printed_points <= 12, f"{name}: its type prints at {printed_points:.1f} pt"


# ------------------------------------------------------------- drawing details, by hand (mutation tests)

from matplotlib import rc_context  # noqa: E402  (kept with the tests below, so that merges stay clean)
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402


def draw_all(params, root, out_dir=None, **options):
    """Draws every figure of ``params`` (checked here) under ``root``; returns the paths written."""
    return draw_figures(check_params(params, mathtext=True), root, out_dir, **options)[0]


def test_4e_by_hand_points_for_positive_lambdas_and_a_dashed_c1_line_for_each_unpenalised_run():
    with plots.figure_style(12):
        figure = plots.weight_norm_figure(
            [0.0, 0.0, 0.001, 0.01], [9.0, 8.0, 4.0, 1.0], x_label="lambda", y_label="norm", y_scale="log",
            legend=["lambda > 0", "lambda = 0"], size_inches=[4.0, 3.0])
        ax = figure.axes[0]
        assert tuple(figure.get_size_inches()) == (4.0, 3.0)
        assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
        points, *unpenalised = ax.get_lines()
        assert (points.get_marker(), points.get_linestyle()) == ("o", "-")
        for line, norm in zip(unpenalised, [9.0, 8.0], strict=True):
            np.testing.assert_array_equal(line.get_ydata(), [norm, norm])
            assert line.get_linestyle() == "--" and to_hex(line.get_color()) == to_hex("C1")  # one colour: one meaning
        low, high = ax.get_xlim()
        assert low < 0.001 and 0.01 < high < 1.0  # the lines' room is made in y only: x stays the lambdas'
        assert ax.get_ylim()[0] < 1.0 and 9.0 < ax.get_ylim()[1]
        assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale()) == ("lambda", "norm", "log")
        assert [line.get_alpha() for line in ax.xaxis.get_gridlines()] == [0.3] * len(ax.xaxis.get_gridlines())
        assert ax.xaxis.get_gridlines() and all(line.get_visible() for line in ax.yaxis.get_gridlines())


def test_render_png_gives_png_bytes_whatever_the_default_format():
    figure = Figure(figsize=(1, 1))
    with rc_context({"savefig.format": "svg"}):
        data = plots.render_png(figure, 10)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and b"Software" not in data


@pytest.mark.parametrize("content, complaint", [
    (None, "run r: metrics/r.json: missing; expected the metrics of its train stage"),
    ("{", "run r: metrics/r.json: not readable JSON (Expecting property name"),
    ("[1.0]", "run r: metrics/r.json: expected a JSON object of metrics, got list"),
    (json.dumps(metrics_of(weight_norm_squared=-0.5)),
     "run r: metrics/r.json: weight_norm_squared = -0.5; expected a number >= 0"),
    (json.dumps(metrics_of(weight_norm_squared=float("inf"))),
     "run r: metrics/r.json: 'weight_norm_squared' = inf: expected a finite number"),
    (json.dumps(metrics_of(weight_norm_squared=True)),
     "run r: metrics/r.json: 'weight_norm_squared' = True: expected a finite number"),
    (json.dumps({"weight_norm_squared": 1.0}), "run r: metrics/r.json: missing 'train_loss'"),
])
def test_read_weight_norm_refuses_by_run_file_and_value(tmp_path, content, complaint):
    (tmp_path / "metrics").mkdir()
    if content is not None:
        (tmp_path / "metrics/r.json").write_text(content)
    with pytest.raises(PipelineError) as refusal:
        recipes.read_weight_norm(tmp_path, "r")
    assert str(refusal.value).startswith(complaint)


@pytest.mark.parametrize("norm", [0, 0.25, 3])
def test_read_weight_norm_takes_any_finite_number_from_zero(tmp_path, norm):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/r.json").write_text(json.dumps(metrics_of(weight_norm_squared=norm)))
    assert recipes.read_weight_norm(tmp_path, "r") == norm


def test_4b_with_one_row_at_its_size_and_constrained():
    weights = np.arange(785 * 10, dtype=float).reshape(785, 10) - 3000
    figure = plots.weights_figure([("only", weights)], size_inches=[6.0, 1.0])
    assert tuple(figure.get_size_inches()) == (6.0, 1.0)
    assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
    tiles = [ax for ax in figure.axes if ax.get_images()]
    assert len(tiles) == 10 and tiles[0].get_ylabel() == "only"
    np.testing.assert_array_equal(tiles[3].get_images()[0].get_array(), weights[:784, 3].reshape(28, 28))
    image = tiles[3].get_images()[0]
    # One scale per row, symmetric about 0 up to the largest |pixel weight|: 783 * 10 + 9 - 3000 = 4839 (the
    # bias row, up to 4849, left out).
    assert image.get_clim() == (-4839.0, 4839.0) and image.get_cmap().name == "RdBu_r"
    assert image.get_interpolation() == "nearest"
    zero = plots.weights_figure([("zero", np.zeros((785, 10)))], size_inches=[6.0, 1.0])
    assert zero.axes[0].get_images()[0].get_clim() == (-1.0, 1.0)  # all zero: a scale of +-1, not of 0


@pytest.mark.parametrize("values, expected", [
    ([0.0, 0.0, 5.0], (0.0, 1.0)),     # points on a limit are inside it
    ([1.0, 1.0, 5.0], (0.0, 1.0)),
    ([-4.0, -4.0, 0.5], (-4.25, 1.0)),  # widened below only: 5 % of 5 there, the top stays
])
def test_y_limits_to_draw_at_the_limits_by_hand(values, expected):
    assert plots.y_limits_to_draw((0.0, 1.0), [np.array(values)], (min(values), max(values))) == expected


def test_block_means_are_taken_in_double_precision():
    # In float32, 1 + 2**-30 rounds to 1; the mean of the block is 0.5 + 2**-31.
    _, mean, _ = block_mean_std(np.arange(2), np.array([1.0, 2.0 ** -30], dtype=np.float32), 2)
    assert mean.tolist() == [0.5 + 2.0 ** -31]


def test_a_label_with_an_unknown_field_lists_the_fields_it_may_use():
    with pytest.raises(PipelineError) as refusal:
        recipes._label("lambda = {lam}", "figures.x.legend", l2_lambda=0.1, run="r")
    assert str(refusal.value).endswith("expected fields among l2_lambda, run (double literal braces)")


@pytest.mark.parametrize("label, columns", [("short", 2), ("a label too long to sit beside another", 1)])
def test_the_legend_sits_above_the_axes_frameless_in_as_many_columns_as_fit(label, columns):
    curves = [plots.Curve(f"{label} {k}", np.arange(3), np.arange(3.0) + k) for k in range(2)]
    with plots.figure_style(12):
        figure = plots.steps_figure(curves, x_label="step", y_label="loss", y_limits=None, size_inches=[5.0, 3.8])
        FigureCanvasAgg(figure).draw()
        (legend,) = figure.legends
        assert legend._ncols == columns and not legend.get_frame_on()
        box, axes = legend.get_window_extent(), figure.axes[0].get_window_extent()
        assert box.y0 >= axes.y1 and box.width <= figure.bbox.width  # above the axes, within the figure
        assert abs((box.x0 + box.x1) / 2 - figure.bbox.width / 2) < 0.05 * figure.bbox.width  # centred


def test_figure_inputs_are_each_figures_runs_in_the_order_shown_and_their_files(params):
    def history(run, *names):
        return [Path(f"metrics/history/{run}/{name}.csv") for name in names]

    assert registry.figure_inputs(check_params(params, mathtext=True)) == {
        "2b_loss": {"binary": history("binary", "train", "validation")},
        "2b_accuracy": {"binary": history("binary", "validation")},
        "2e_loss": {"binary_early_stopping": history("binary_early_stopping", "train"),
                    "binary_shuffled": history("binary_shuffled", "train")},
        "2e_accuracy": {"binary_early_stopping": history("binary_early_stopping", "validation"),
                        "binary_shuffled": history("binary_shuffled", "validation")},
        "3b_loss": {"softmax": history("softmax", "train", "validation")},
        "3c_accuracy": {"softmax": history("softmax", "validation")},
        "4b_weights": {"softmax": [Path("models/softmax.npy")],
                       "softmax_lambda_1": [Path("models/softmax_lambda_1.npy")]},
        "4c_val_accuracy": {run: history(run, "validation")
                            for run in ["softmax", "softmax_lambda_0_1", "softmax_lambda_1"]},
        "4e_weight_norm": {run: [Path(f"metrics/{run}.json")]
                           for run in ["softmax", "softmax_lambda_0_1", "softmax_lambda_1"]},
    }
    assert list(registry.figure_inputs(check_params(params, mathtext=True))) == list(FIGURE_NAMES)


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_draw_all_writes_into_the_folder_it_is_given_and_keeps_each_png_in_the_cache(params, root):
    written = draw_all(params, root, root / "elsewhere", cache_dir=root / "cache")
    assert written == [root / "elsewhere" / f"{name}.{kind}" for name in FIGURE_NAMES for kind in ("pdf", "png")]
    assert not (root / "report").exists()
    cached = sorted(root.joinpath("cache").iterdir())
    assert sorted(path.name.split("-")[0] + path.suffix for path in cached) == sorted(path.name for path in written)
    by_name = {path.name.split("-")[0] + path.suffix: path.read_bytes() for path in cached}
    assert all(by_name[path.name] == path.read_bytes() for path in written)


def test_a_block_averaged_curves_legend_key_shows_its_band_and_the_next_key_the_next_line():
    curves = [plots.Curve("block", np.arange(20), np.arange(20.0), 5), plots.Curve("raw", np.arange(20), np.arange(20.0))]
    with plots.figure_style(12):
        figure = plots.steps_figure(curves, x_label="step", y_label="loss", y_limits=None, size_inches=[5.0, 3.8])
    band_key, line_key = figure.legends[0].legend_handles
    # The key of (band, line) starts with the band's patch, in the first colour at the band's alpha.
    assert band_key.__class__.__name__ == "Rectangle" and to_hex(band_key.get_facecolor()) == "#1f77b4"
    assert band_key.get_facecolor()[3] == 0.25
    assert to_hex(line_key.get_color()) == "#ff7f0e"  # the second curve's line, not the first one's band


def test_a_legend_exactly_as_wide_as_the_figure_keeps_its_columns_and_one_pixel_less_does_not():
    curves = [plots.Curve(f"label {k}", np.arange(3), np.arange(3.0) + k) for k in range(2)]
    with plots.figure_style(12):
        def legend_of(width):
            figure = plots.steps_figure(curves, x_label="s", y_label="l", y_limits=None, size_inches=[width, 3.8])
            (legend,) = figure.legends
            return figure, legend, legend.get_window_extent(FigureCanvasAgg(figure).get_renderer()).width

        figure, legend, width = legend_of(5.0)
        assert legend._ncols == 2
        figure, legend, exact = legend_of(width / figure.dpi)
        assert figure.bbox.width == width == exact and legend._ncols == 2  # the boundary: it fits
        figure, legend, _ = legend_of(np.nextafter(width / figure.dpi, 0))
        assert figure.bbox.width < width and legend._ncols == 1


def test_each_rows_colour_bar_is_six_times_as_tall_as_wide_with_small_tick_labels():
    weights = np.arange(785 * 10, dtype=float).reshape(785, 10) - 3000
    with plots.figure_style(12):
        figure = plots.weights_figure([("a", weights), ("b", weights / 2)], size_inches=[6.4, 1.6])
        FigureCanvasAgg(figure).draw()
    bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 2
    # Each bar shows its row's scale: +-4839 (the largest |pixel weight|, 783 * 10 + 9 - 3000), then half.
    assert [bar.get_ylim() for bar in bars] == [(-4839.0, 4839.0), (-2419.5, 2419.5)]
    for bar in bars:
        assert bar.get_box_aspect() == 6.0
        sizes = [label.get_fontsize() for label in bar.get_yticklabels()]
        assert sizes and sizes == pytest.approx([12 * 0.833] * len(sizes))  # "small": 0.833 of the font size


def test_steps_figure_by_hand_its_size_layout_band_styles_limits_and_grid(capsys):
    curves = [plots.Curve("train", np.arange(10), np.r_[1.0, 3.0].repeat(5), 5, linestyle="--"),
              plots.Curve("val", np.array([0, 4, 8]), np.array([0.5, 1.5, 2.5]), linestyle=":")]
    with plots.figure_style(12):
        figure = plots.steps_figure(curves, x_label="steps", y_label="loss", y_limits=[0.0, 5.0],
                                    size_inches=[4.0, 3.0], name="2b_loss")
        FigureCanvasAgg(figure).draw()
    assert tuple(figure.get_size_inches()) == (4.0, 3.0)
    assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
    ax = figure.axes[0]
    (mean_line, val_line) = ax.get_lines()
    assert mean_line.get_linestyle() == "--" and val_line.get_linestyle() == ":"
    # Blocks of 5 values, [1] * 5 and [3] * 5: their means, at their middle steps 2 and 7.
    np.testing.assert_array_equal(mean_line.get_xdata(), [2, 7])
    np.testing.assert_array_equal(mean_line.get_ydata(), [1.0, 3.0])
    (band,) = ax.collections
    assert to_hex(band.get_facecolor()[0]) == to_hex(mean_line.get_color()) and band.get_facecolor()[0][3] == 0.25
    assert list(band.get_linewidth()) == [0.0]
    assert ax.get_xlabel() == "steps" and ax.get_ylabel() == "loss"
    assert ax.get_xlim()[0] == 0 and ax.get_ylim() == (0.0, 5.0)
    gridlines = ax.xaxis.get_gridlines() + ax.yaxis.get_gridlines()
    assert gridlines and all(line.get_visible() and line.get_alpha() == 0.3 for line in gridlines)
    assert capsys.readouterr().out == ""  # the data lies within y_limits: nothing said


def test_steps_figure_without_limits_scales_to_the_data_and_with_hiding_limits_names_the_figure(capsys):
    curves = [plots.Curve("val", np.array([1, 4, 8]), np.array([10.0, 20.0, 30.0]))]
    with plots.figure_style(12):
        free = plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=None, size_inches=[4.0, 3.0])
        low, high = free.axes[0].get_ylim()
        assert low <= 10.0 and high >= 30.0 and free.axes[0].get_xlim()[0] == 0
        plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=[0, 1], size_inches=[4.0, 3.0])
        plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=[0, 1], size_inches=[4.0, 3.0], name="3b_loss")
    # 10..30 against [0, 1]: widened to [0, 30 + 5 % of 30] = [0, 31.5].
    said = "most of a curve lies outside y_limits [0, 1] (data from 10 to 30); drawn with y from 0 to 31.5 instead"
    assert capsys.readouterr().out.splitlines() == [f"figures: loss: {said}", f"figures: 3b_loss: {said}"]


def test_a_missing_training_history_names_the_run_and_the_file(params, root):
    (root / "metrics/history/binary_shuffled/train.csv").unlink()
    with pytest.raises(PipelineError, match=r"^run binary_shuffled: metrics/history/binary_shuffled/train\.csv: "):
        recipes.figure_recipes(check_params(params, mathtext=True), root)


def test_step_figures_y_labels_and_legends_are_those_of_their_params(params, root):
    # Recipes only (nothing drawn): each step figure's labels, as PARAMS_YAML says.
    by_name = recipes.figure_recipes(check_params(params, mathtext=True), root)
    expected = {
        "2b_loss": ("Loss", ["Training loss (mean $\\pm$ std of 10 steps)", "Validation loss"]),
        "2b_accuracy": ("Accuracy", ["Training accuracy", "Validation accuracy"]),
        "2e_loss": ("Training loss", ["Without shuffling", "With shuffling"]),
        "2e_accuracy": ("Validation accuracy", ["Without shuffling", "With shuffling"]),
        "3b_loss": ("Loss", ["Training loss", "Validation loss"]),
        "3c_accuracy": ("Accuracy", ["Training accuracy", "Validation accuracy"]),
        "4c_val_accuracy": ("Validation accuracy", ["lambda = 0", "lambda = 0.1", "lambda = 1"]),
    }
    for name, (y_label, legend) in expected.items():
        arguments = by_name[name].arguments
        assert arguments["y_label"] == y_label and arguments["x_label"] == "Number of Training Steps", name
        assert [curve.label for curve in arguments["curves"]] == legend, name
        assert arguments["name"] == name and arguments["size_inches"] == (5.0, 3.8)


def test_per_run_labels_are_filled_with_each_runs_name_and_lambda(params, root):
    params["figures"]["4b_weights"]["row_label"] = "{run}: {l2_lambda:g}"
    params["figures"]["4c_val_accuracy"]["legend"] = "{run} ({l2_lambda:g})"
    by_name = recipes.figure_recipes(check_params(params, mathtext=True), root)
    assert [label for label, _ in by_name["4b_weights"].arguments["rows"]] == ["softmax: 0", "softmax_lambda_1: 1"]
    assert [curve.label for curve in by_name["4c_val_accuracy"].arguments["curves"]] == [
        "softmax (0)", "softmax_lambda_0_1 (0.1)", "softmax_lambda_1 (1)"]


def test_4c_cycles_four_line_styles_by_increasing_lambda(params, root):
    for i, (run, l2_lambda) in enumerate([("softmax_lambda_0_01", 0.01), ("softmax_lambda_0_001", 0.001)]):
        params["runs"][run] = {"l2_lambda": l2_lambda}
        make_run(root, run, 30, offset=0.5 + i / 100)
    curves = recipes.figure_recipes(check_params(params, mathtext=True), root)["4c_val_accuracy"].arguments["curves"]
    assert [curve.label for curve in curves] == [
        "lambda = 0", "lambda = 0.001", "lambda = 0.01", "lambda = 0.1", "lambda = 1"]
    assert [curve.linestyle for curve in curves] == ["-", "--", "-.", ":", "-"]


def test_4e_recipe_has_its_labels_scale_legend_and_each_runs_norm_by_increasing_lambda(params, root):
    arguments = recipes.figure_recipes(check_params(params, mathtext=True), root)["4e_weight_norm"].arguments
    # make_run writes weight_norm_squared = 10 * (1 - offset): offsets 0.03, 0.04, 0.05 for these runs.
    assert arguments == {"l2_lambdas": [0.0, 0.1, 1.0], "weight_norms": [pytest.approx(9.7), pytest.approx(9.6),
                                                                        pytest.approx(9.5)],
                         "x_label": "lambda", "y_label": "squared norm", "y_scale": "linear",
                         "legend": ["lambda > 0", "lambda = 0"], "size_inches": (5.0, 3.8)}


def test_the_stage_parses_the_labels_mathematics_before_reading_any_run(params, root):
    params["figures"]["2b_loss"]["y_label"] = "$\\frac{1$"
    with pytest.raises(PipelineError, match=r"^figures\.2b_loss\.y_label = '\$\\\\frac\{1\$': matplotlib cannot draw"):
        recipes.figure_recipes(check_params(params, mathtext=True), root / "no-runs-here")


def test_4b_digit_titles_sit_3_points_above_in_the_text_size_and_row_labels_read_level_at_the_left():
    weights = np.arange(785 * 10, dtype=float).reshape(785, 10) - 3000
    with plots.figure_style(12):
        figure = plots.weights_figure([("row a", weights), ("row b", -weights)], size_inches=[6.4, 1.6])
        FigureCanvasAgg(figure).draw()
    tiles = [ax for ax in figure.axes if ax.get_images()]
    for ax in tiles[:10]:
        title = ax.title
        assert title.get_fontsize() == 12.0  # "medium": the figures' font size
        assert tuple(ax.titleOffsetTrans.transform((0, 0))) == pytest.approx((0, 3 / 72 * figure.dpi))  # 3 points
    for ax in (tiles[0], tiles[10]):
        label = ax.yaxis.label
        assert label.get_rotation() == 0 and label.get_horizontalalignment() == "right"
        assert label.get_verticalalignment() == "center"


def test_a_curve_of_blocks_of_two_is_averaged_with_a_band_in_its_own_lines_colour():
    raw = plots.Curve("raw", np.arange(4), np.arange(4.0))
    pairs = plots.Curve("pairs", np.arange(4), np.array([1.0, 3.0, 5.0, 9.0]), 2)
    with plots.figure_style(12):
        figure = plots.steps_figure([raw, pairs], x_label="s", y_label="l", y_limits=None, size_inches=[4.0, 3.0])
    ax = figure.axes[0]
    np.testing.assert_array_equal(ax.get_lines()[1].get_xdata(), [1, 3])  # the middle step of each pair
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [2.0, 7.0])
    (band,) = ax.collections  # one band, for the averaged curve only: +-1 and +-2 around the means
    assert band.get_paths()[0].vertices[:, 1].min() == 1.0 and band.get_paths()[0].vertices[:, 1].max() == 9.0
    # The second line is C1; a band left to matplotlib's colour cycle would take C0, the first patch colour.
    assert to_hex(band.get_facecolor()[0]) == to_hex(ax.get_lines()[1].get_color()) == "#ff7f0e"


def test_4b_colour_bars_span_their_row_close_to_its_last_tile_inside_the_figure():
    weights = np.arange(785 * 10, dtype=float).reshape(785, 10) - 3000
    with plots.figure_style(12):
        figure = plots.weights_figure([("a", weights), ("b", weights / 2)], size_inches=[6.4, 1.6])
        FigureCanvasAgg(figure).draw()
    tiles = [ax for ax in figure.axes if ax.get_images() and ax.get_label() != "<colorbar>"]
    bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
    for row, bar in enumerate(bars):
        box, first, last = bar.get_position(), tiles[row * 10].get_position(), tiles[row * 10 + 9].get_position()
        assert box.y0 <= first.y0 and box.y1 >= first.y1  # as tall as the row at least (not one tile's slice)
        assert last.x1 < box.x0 < last.x1 + first.width / 4 and box.x1 <= 1  # just right of the row, in view


def test_limits_are_widened_to_the_top_of_a_band_when_it_is_the_highest_point_drawn(capsys):
    # Blocks of [0, 10]: mean 5, std 5, a band from 0 to 10 that all of [100, 101] misses.
    curves = [plots.Curve("train", np.arange(4), np.array([0.0, 10.0, 0.0, 10.0]), 2)]
    with plots.figure_style(12):
        figure = plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=[100, 101], size_inches=[4.0, 3.0])
    # [min(100, 0), max(101, 10)] = [0, 101], widened below only by 5 % of 101.
    assert figure.axes[0].get_ylim() == pytest.approx((-5.05, 101))
    assert capsys.readouterr().out == ("figures: loss: most of a curve lies outside y_limits [100, 101] (data from 0 "
                                       "to 10); drawn with y from -5.05 to 101 instead\n")


def test_the_widened_limits_line_is_out_at_once_even_if_the_stage_dies_right_after(capsys):
    # DVC reads the stage's output through a pipe, where print buffers: a stage killed later (os._exit
    # here) must not lose the line. The same drawing in-process, for the line itself.
    curves = [plots.Curve("c", np.array([0, 1, 2]), np.array([10.0, 20.0, 30.0]))]
    plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=[0, 1], size_inches=[4.0, 3.0])
    line = capsys.readouterr().out
    assert line.startswith("figures: loss: most of a curve lies outside y_limits [0, 1]")
    code = ("import os, numpy as np; from mnist_report.plotting import drawings; drawings.steps_figure([drawings.Curve('c', "
            "np.array([0, 1, 2]), np.array([10.0, 20.0, 30.0]))], x_label='s', y_label='loss', y_limits=[0, 1], "
            "size_inches=[4.0, 3.0]); os._exit(0)")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}  # as a user runs it
    env["PYTHONPATH"] = str(Path(plots.__file__).parents[1])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out == line


@pytest.mark.parametrize("content, complaint", [
    (None, "s.json: missing; expected the schedule of its train stage"),
    ('{"steps_per_epoch": 0, "validation_interval": 6, "early_stopping_patience": 10}',
     "s.json: 'steps_per_epoch' = 0: expected an integer >= 1"),
    ('{"steps_per_epoch": 31, "validation_interval": 2.0, "early_stopping_patience": 10}',
     "s.json: 'validation_interval' = 2.0: expected an integer >= 1"),
    ('{"steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": true}',
     "s.json: 'early_stopping_patience' = True: expected an integer >= 1"),
    ('{"steps_per_epoch": 31, "validation_interval": 6}',
     "s.json: missing 'early_stopping_patience'; expected an integer >= 1, as its train stage writes it"),
])
def test_read_schedule_refuses_by_file_key_and_value(tmp_path, content, complaint):
    # The schedule a run followed (its own file, not a metric): lengths, so at least 1.
    from mnist_report.common import outputs
    if content is not None:
        (tmp_path / "s.json").write_text(content)
    with pytest.raises(PipelineError) as refusal:
        outputs.read_schedule(tmp_path / "s.json", "s.json")
    assert str(refusal.value).startswith(complaint)


def test_split_schedule_keeps_metrics_and_schedule_apart_and_refuses_an_unknown_key():
    from mnist_report.common import outputs
    values = {"val_loss": 0.3, "steps": 31, "steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": 10}
    assert outputs.split_schedule(values) == ({"val_loss": 0.3, "steps": 31},
                                              {"steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": 10})
    with pytest.raises(PipelineError, match="returned learning_rate: neither a metric nor a schedule key"):
        outputs.split_schedule({**values, "learning_rate": 0.1})
