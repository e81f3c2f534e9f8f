"""plotting/recipes.py: what each figure is drawn from (the runs of its roles, their histories, weights and norms) and with which labels, legends and line styles, on the synthetic runs of support.figure_runs."""

from __future__ import annotations

import json
import pytest
from mnist_report.common.errors import PipelineError
from mnist_report.config.params import check_params
from mnist_report.plotting import recipes
from support.figure_runs import LAMBDAS, LARGEST, SMALLEST, draw_all, make_run, metrics_of, params, root, run_stage  # noqa: F401  (fixtures)


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


def test_a_label_with_an_unknown_field_lists_the_fields_it_may_use():
    with pytest.raises(PipelineError) as refusal:
        recipes._label("lambda = {lam}", "figures.x.legend", l2_lambda=0.1, run="r")
    assert str(refusal.value).endswith("expected fields among l2_lambda, run (double literal braces)")
