"""config/figures.py: which files each figure is drawn from (figure_inputs, following roles) and that the figures stage's deps are exactly those (input_paths)."""

from __future__ import annotations

from pathlib import Path
from mnist_report.config import figures as registry
from mnist_report.config.figures import FIGURE_NAMES, input_paths
from mnist_report.config.params import check_params
from support.figure_runs import LAMBDAS, LARGEST, SMALLEST, draw_all, make_run, metrics_of, params, run_stage  # noqa: F401  (fixtures)


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
