"""Stage ``figures``: every figure draws exactly its input data, refuses bad inputs and sizes past
their bounds by name. Synthetic runs only (support.figure_runs), written under ``tmp_path``; drawing
every figure to files: tests/integration/test_figures.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mnist_report import figures
from mnist_report.common.errors import PipelineError
from mnist_report.common.outputs import output_paths
from mnist_report.config.figures import FIGURE_NAMES, input_paths, print_width
from mnist_report.config.params import check_params
from mnist_report.plotting import recipes
from mnist_report.plotting.drawings import block_mean_std
from mnist_report.plotting.render import MAX_SIDE_PIXELS
from support.figure_runs import LAMBDAS, LARGEST, SMALLEST, build_figures, draw_all, make_run, metrics_of, params, root, run_stage  # noqa: F401  (fixtures)
from support.paths import REPO
from mnist_report.config.schema import load_params
from support.yaml_files import yaml_text


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


# ------------------------------------------------------------------------------- files written


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
    (root / "params.yaml").write_text(yaml_text(params))
    monkeypatch.chdir(root)
    assert figures.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: roles.2b = 'nope'") and err.count("\n") == 1


REPOSITORY = REPO


def test_the_repository_params_have_a_valid_figures_section():
    params = load_params(REPOSITORY / "params.yaml")
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

    settings = load_params(REPOSITORY / "params.yaml")["figures"]
    for name in FIGURE_NAMES:
        width_inches = settings.get(name, {}).get("size_inches", settings["size_inches"])[0]
        printed_inches = print_width(name) * layout.TEXT_WIDTH_MM / 25.4
        printed_points = settings["font_size"] * printed_inches / width_inches
        assert 9 <= printed_points <= 12, f"{name}: its type prints at {printed_points:.1f} pt"


# ------------------------------------------------------------- drawing details, by hand (mutation tests)


def test_a_missing_training_history_names_the_run_and_the_file(params, root):
    (root / "metrics/history/binary_shuffled/train.csv").unlink()
    with pytest.raises(PipelineError, match=r"^run binary_shuffled: metrics/history/binary_shuffled/train\.csv: "):
        recipes.figure_recipes(check_params(params, mathtext=True), root)


def test_the_stage_parses_the_labels_mathematics_before_reading_any_run(params, root):
    params["figures"]["2b_loss"]["y_label"] = "$\\frac{1$"
    with pytest.raises(PipelineError, match=r"^figures\.2b_loss\.y_label = '\$\\\\frac\{1\$': matplotlib cannot draw"):
        recipes.figure_recipes(check_params(params, mathtext=True), root / "no-runs-here")


@pytest.mark.parametrize("edit, complaint", [
    pytest.param({"size_inches": [0.01, 0.01]}, "figures.size_inches = [0.01, 0.01]: figure 2b_loss prints at",
                 id="2x2-pixel-figures"),
    pytest.param({"size_inches": [SMALLEST * 0.99, SMALLEST * 0.99 * 0.76]}, "expected the type to print at 5 to 20 pt",
                 id="type-just-too-large-in-print"),
    pytest.param({"size_inches": [LARGEST * 1.01, LARGEST * 1.01 * 0.76], "dpi": 100},
                 "expected the type to print at 5 to 20 pt", id="type-just-too-small-in-print"),
    pytest.param({"size_inches": [1000, 1000], "dpi": 200}, "figures.dpi = 200 with figures.size_inches = [1000, 1000]: figure "
                 "2b_loss would be 200000 pixels on a side; expected at most 4000", id="1000-inches"),
    pytest.param({"dpi": 10000}, "figures.dpi = 10000 with figures.size_inches = [5, 3.8]: figure 2b_loss would be "
                 "50000 pixels", id="dpi-10000"),
    pytest.param({"dpi": int(MAX_SIDE_PIXELS / 6.4) + 1}, "figure 4b_weights would be 4006 pixels on a side", id="dpi-one-past"),
    pytest.param({"dpi": 50}, "would print at 60 pixels per inch; expected at least 72",
                 id="dpi-too-low"),
])
def test_a_size_or_dpi_past_its_bound_is_one_line_naming_the_key(params, root, monkeypatch, capsys, edit, complaint):
    params["figures"].update(edit)
    status, err = run_stage(params, root, monkeypatch, capsys)
    assert status == 1 and err.count("\n") == 1 and err.startswith("error: figures.") and complaint in err, err
    assert not (root / "report/figures").exists()


def test_the_4b_figures_own_size_is_checked_under_its_own_key(params, root, monkeypatch, capsys):
    params["figures"].update({"dpi": 200})
    params["figures"]["4b_weights"]["size_inches"] = [0.5, 0.1]
    status, err = run_stage(params, root, monkeypatch, capsys)
    assert status == 1 and err.startswith("error: figures.4b_weights.size_inches = [0.5, 0.1]: figure 4b_weights")
