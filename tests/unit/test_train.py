"""The train stage as DVC runs it: outputs, determinism, refusals that leave nothing behind, and the
run settings at and past every bound (on the real data, one epoch): one line naming the key, or a run
that trains."""

import json
import re
import sys

import numpy as np
import pytest

from mnist_report import train as train_stage
from mnist_report.config.runs import SEED_LIMIT
from support.paths import REPO
from mnist_report.config.schema import load_params
from support.train_workdir import REAL_DATA, workdir, write_params  # noqa: F401  (fixtures)
from support.yaml_files import yaml_text

ROOT = REPO


def test_stage_writes_metrics_history_and_weights(workdir):
    write_params(workdir)
    assert train_stage.main(["trial"]) == 0
    metrics = json.loads((workdir / "metrics" / "trial.json").read_text())
    # Only measurements: `dvc metrics show` and `dvc exp show` list results, not settings.
    assert set(metrics) == {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "early_stop_epoch",
                            "steps", "weight_norm_squared"}
    assert metrics["steps"] == 2 * (4005 // 128)
    # The schedule the run followed, as the report states it, in its own file: 4005 2s and 3s // 128 =
    # 31 steps an epoch, a validation every 31 // 5 = 6 steps, the default patience.
    schedule = json.loads((workdir / "metrics" / "history" / "trial" / "schedule.json").read_text())
    assert schedule == {"steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": 10}
    weights = np.load(workdir / "models" / "trial.npy")
    assert weights.shape == (785, 1)
    assert metrics["weight_norm_squared"] == pytest.approx(float(np.sum(weights ** 2)), rel=1e-15)
    train_rows = (workdir / "metrics" / "history" / "trial" / "train.csv").read_text().splitlines()
    assert train_rows[0] == "step,train_loss" and len(train_rows) == 1 + metrics["steps"]
    val_rows = (workdir / "metrics" / "history" / "trial" / "validation.csv").read_text().splitlines()
    assert val_rows[0] == "step,val_loss,val_accuracy,train_accuracy"
    assert [int(row.split(",")[0]) for row in val_rows[1:]] == list(range(0, metrics["steps"], 6))


def test_progress_lines_say_what_each_number_is_counting_epochs_as_the_report_does(workdir, capsys):
    write_params(workdir, epochs=2)
    assert train_stage.main(["trial"]) == 0
    lines = capsys.readouterr().out.splitlines()
    metrics = json.loads((workdir / "metrics" / "trial.json").read_text())
    history = workdir / "metrics" / "history" / "trial"
    batch_losses = [float(row.split(",")[1]) for row in (history / "train.csv").read_text().splitlines()[1:]]
    validations = [row.split(",") for row in (history / "validation.csv").read_text().splitlines()[1:]]
    assert len(lines) == 3
    for epoch, line in enumerate(lines[:2]):  # epochs 0 and 1, as the report and early_stop_epoch count them
        found = re.fullmatch(r"train@trial epoch (\d) \(epochs 0-1\): mean batch loss (\S+); validation loss (\S+), "
                             r"validation accuracy (\S+); (\d+\.\d) s elapsed, at most (\d+\.\d) s left", line)
        assert found, line
        # The mean of the epoch's 31 mini-batch losses (train.csv), and the epoch's last validation.
        epoch_batches = batch_losses[31 * epoch:31 * (epoch + 1)]
        last_validation = [row for row in validations if int(row[0]) < 31 * (epoch + 1)][-1]
        assert (int(found[1]), found[2]) == (epoch, f"{sum(epoch_batches) / 31:.4f}")
        assert (found[3], found[4]) == (f"{float(last_validation[1]):.4f}", f"{float(last_validation[2]):.4f}")
    assert float(re.search(r"at most (\S+) s left", lines[1])[1]) == 0.0
    assert lines[2] == (
        f"train@trial: 62 steps, trained all epochs 0-1, in {re.search(r'in (.*? s);', lines[2])[1]}; final weights: "
        f"training-set loss {metrics['train_loss']:.6f}, validation loss {metrics['val_loss']:.6f}, "
        f"validation accuracy {metrics['val_accuracy']:.4f}; wrote metrics/trial.json, metrics/history/trial/train.csv, "
        "metrics/history/trial/validation.csv, metrics/history/trial/schedule.json, models/trial.npy")
    for path in re.search(r"wrote (.*)$", lines[2])[1].split(", "):
        assert (workdir / path).is_file(), path


def test_an_early_stop_is_named_in_the_epoch_after_the_last_progress_line(workdir, capsys):
    write_params(workdir, epochs=6, early_stopping=True, early_stopping_patience=1, learning_rate=5.0)
    assert train_stage.main(["trial"]) == 0
    lines = capsys.readouterr().out.splitlines()
    metrics = json.loads((workdir / "metrics" / "trial.json").read_text())
    assert metrics["early_stop_epoch"] is not None, "the test needs a run that stops early"
    stop = metrics["early_stop_epoch"]
    # One line per finished epoch 0..stop-1, then the epoch early stopping ended, 0-based too.
    assert [line.split(" (")[0] for line in lines[:-1]] == [f"train@trial epoch {epoch}" for epoch in range(stop)]
    assert f"stopped early in epoch {stop} (of 0-5)" in lines[-1]


def test_identical_runs_give_identical_outputs_bit_for_bit(workdir):
    write_params(workdir, shuffle=True)
    outputs = []
    for _ in range(2):
        assert train_stage.main(["trial"]) == 0
        outputs.append({p.relative_to(workdir): p.read_bytes() for p in workdir.rglob("*")
                        if p.is_file() and "data" not in p.parts and p.name != "params.yaml"})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 5  # metrics, schedule, two histories, weights


def test_diverging_run_names_run_step_and_loss_and_writes_nothing(workdir, capsys):
    write_params(workdir, task="softmax", learning_rate=1000.0, l2_lambda=1.0)
    assert train_stage.main(["trial"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: run trial: diverged at step ")
    assert "training loss" in err[0]
    assert not (workdir / "metrics").exists() and not (workdir / "models").exists()


def test_unknown_run_is_refused(workdir, capsys):
    write_params(workdir)
    assert train_stage.main(["nonexistent"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: runs.nonexistent: no such run") and "trial" in err


def test_batch_larger_than_the_runs_training_set_names_the_key(workdir, capsys):
    # 4005 binary training images: a batch of 5000 passes the schema (<= 20000) but not this task.
    write_params(workdir, batch_size=5000)
    assert train_stage.main(["trial"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: runs.trial.batch_size = 5000: expected at most the 4005 training images of this run's task"]
    assert not (workdir / "metrics").exists()




def test_unwritable_output_directory_is_one_line(workdir, capsys):
    write_params(workdir)
    (workdir / "metrics").write_text("a file where the stage needs a directory")
    assert train_stage.main(["trial"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot write metrics/history/trial/train.csv")
    assert not (workdir / "models").exists()


# --- which run: the argument, or DVC_STAGE as DVC sets it ----------------------------------------

@pytest.mark.parametrize("stage", ["train@trial", "dvc.yaml:train@trial", "../dvc.yaml:train@trial"])
def test_without_an_argument_the_run_is_the_one_dvc_stage_names(workdir, stage):
    # DVC runs `python -m mnist_report.train` with DVC_STAGE = train@<run> (prefixed with the path of
    # dvc.yaml when dvc runs from another directory).
    write_params(workdir, epochs=1)
    assert train_stage.main([], environment={"DVC_STAGE": stage}) == 0
    assert (workdir / "metrics" / "trial.json").is_file()


def test_an_explicit_run_wins_over_dvc_stage(workdir):
    write_params(workdir, epochs=1)
    assert train_stage.main(["trial"], environment={"DVC_STAGE": "train@binary"}) == 0
    assert [p.name for p in (workdir / "models").iterdir()] == ["trial.npy"]


@pytest.mark.parametrize(("environment", "message"), [
    ({}, "error: no run given: name one (python -m mnist_report.train <run>) or let DVC run the stage "
         "(DVC_STAGE = train@<run>)"),
    ({"DVC_STAGE": "figures"}, "error: DVC_STAGE = 'figures': expected train@<run>, a stage of dvc.yaml's train"),
    ({"DVC_STAGE": "train@nonexistent"}, "error: runs.nonexistent: no such run in params.yaml; expected one of"),
    ({"DVC_STAGE": "train@a;touch MARKER"}, "error: runs.a;touch MARKER: no such run in params.yaml"),
])
def test_no_run_or_a_stage_that_is_no_run_is_one_line(workdir, capsys, environment, message):
    write_params(workdir)
    assert train_stage.main([], environment=environment) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
    assert not (workdir / "metrics").exists() and not (workdir / "MARKER").exists()


def test_a_hostile_run_name_in_params_yaml_is_refused_before_training(workdir, capsys):
    write_params(workdir)
    params = load_params(workdir / "params.yaml")
    params["runs"]["$(touch MARKER)"] = {}
    (workdir / "params.yaml").write_text(yaml_text(params))
    assert train_stage.main([], environment={"DVC_STAGE": "train@$(touch MARKER)"}) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: runs.$(touch MARKER): not a valid run name; expected 1 to 100 letters, digits, _ or - "
        "(no '.', '/', space or other character)"]
    assert not (workdir / "metrics").exists() and not (workdir / "MARKER").exists()


def test_list_deps_prints_the_mnist_files(workdir, capsys):
    write_params(workdir)
    assert train_stage.main(["--list-deps"]) == 0
    assert capsys.readouterr().out.split() == [f"data/mnist/{name}" for name in (
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]


def test_a_run_takes_its_validations_per_epoch_and_patience_from_params(workdir):
    write_params(workdir, validations_per_epoch=2, early_stopping_patience=3, early_stopping=True)
    assert train_stage.main(["trial"]) == 0
    metrics = json.loads((workdir / "metrics" / "trial.json").read_text())
    schedule = json.loads((workdir / "metrics" / "history" / "trial" / "schedule.json").read_text())
    assert schedule == {"steps_per_epoch": 31, "validation_interval": 15, "early_stopping_patience": 3}
    val_rows = (workdir / "metrics" / "history" / "trial" / "validation.csv").read_text().splitlines()
    assert [int(row.split(",")[0]) for row in val_rows[1:]] == list(range(0, metrics["steps"], 15))


def test_outputs_match_the_course_loop_step_for_step(workdir):
    # An independent reference: benchmarks/baseline.py, the course code's loop, shares nothing with the
    # core but the data. Training rows are steps 0, 1, 2, ... (the curve starts at the first step, as
    # the validation curve does); the final train_accuracy is the accuracy on the training set.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import baseline
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from mnist_report.mnist.splits import load_splits

    write_params(workdir, shuffle=True, early_stopping=False, seed=7)
    assert train_stage.main(["trial"]) == 0
    train, validation = load_splits("binary", (2, 3), REAL_DATA)
    expected, history = baseline.train(train.X.as_floats(), train.Y, validation.X.as_floats(), validation.Y, task="binary", learning_rate=0.05,
                                       epochs=2, batch_size=128, shuffle=True, early_stopping=False, seed=7,
                                       l2_lambda=0.0)
    metrics = json.loads((workdir / "metrics" / "trial.json").read_text())
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "weight_norm_squared"):
        assert metrics[key] == pytest.approx(expected[key], rel=1e-10), key
    assert metrics["train_accuracy"] != pytest.approx(expected["val_accuracy"], rel=1e-6)  # the two sets differ here
    assert (metrics["steps"], metrics["early_stop_epoch"]) == (expected["steps"], None)
    rows = np.genfromtxt(workdir / "metrics/history/trial/train.csv", delimiter=",", names=True)
    assert rows["step"].tolist() == list(range(metrics["steps"]))
    assert rows["train_loss"] == pytest.approx(history["train_loss"], rel=1e-10)
    validations = np.genfromtxt(workdir / "metrics/history/trial/validation.csv", delimiter=",", names=True)
    assert validations["step"].tolist() == list(range(0, metrics["steps"], 6))
    for column in ("val_loss", "val_accuracy", "train_accuracy"):
        assert validations[column] == pytest.approx(history[column], rel=1e-10), column


# ------------------------------------- the run settings at and past every bound, through the stage

#: The binary task's training images (2s and 3s of the first 20000): the largest batch it accepts.
BINARY_TRAIN_SIZE = 4005


@pytest.mark.parametrize("settings", [
    pytest.param({"seed": SEED_LIMIT - 1, "shuffle": True}, id="seed-last"),
    pytest.param({"seed": 0, "shuffle": True}, id="seed-first"),
    pytest.param({"batch_size": BINARY_TRAIN_SIZE}, id="batch-whole-set"),
    pytest.param({"batch_size": 1, "validations_per_epoch": 1}, id="batch-one"),
    pytest.param({"validations_per_epoch": 10**6}, id="more-validations-than-steps"),
    pytest.param({"early_stopping_patience": 10**30}, id="patience-huge"),
    pytest.param({"learning_rate": 5e-324}, id="learning-rate-smallest-float"),
    pytest.param({"l2_lambda": 0.0}, id="lambda-zero"),
])
def test_a_setting_at_its_bound_trains(workdir, settings):
    write_params(workdir, epochs=1, **settings)
    assert train_stage.main(["trial"]) == 0
    metrics = json.loads((workdir / "metrics/trial.json").read_text())
    assert metrics["steps"] == BINARY_TRAIN_SIZE // settings.get("batch_size", 128)


@pytest.mark.parametrize("settings, message", [
    pytest.param({"seed": SEED_LIMIT}, "runs.trial.seed = 4294967296: expected an integer from 0 to 4294967295",
                 id="seed-past"),
    pytest.param({"seed": -1}, "runs.trial.seed = -1: expected an integer from 0", id="seed-negative"),
    pytest.param({"batch_size": BINARY_TRAIN_SIZE + 1}, "runs.trial.batch_size = 4006: expected at most the 4005",
                 id="batch-past-the-task"),
    pytest.param({"batch_size": 0}, "runs.trial.batch_size = 0: expected an integer from 1", id="batch-zero"),
    pytest.param({"validations_per_epoch": 0}, "runs.trial.validations_per_epoch = 0: expected an integer >= 1",
                 id="validations-zero"),
    pytest.param({"early_stopping_patience": 0}, "runs.trial.early_stopping_patience = 0: expected an integer >= 1",
                 id="patience-zero"),
    pytest.param({"learning_rate": 0.0}, "runs.trial.learning_rate = 0.0: expected a finite number > 0", id="lr-zero"),
    pytest.param({"learning_rate": 1e308, "task": "softmax"}, "run trial: diverged at step", id="lr-huge"),
    pytest.param({"l2_lambda": 1e308}, "run trial: diverged at step", id="lambda-huge"),
    pytest.param({"l2_lambda": -1e-300}, "runs.trial.l2_lambda = -1e-300: expected a finite number >= 0",
                 id="lambda-negative"),
    pytest.param({"epochs": 0}, "runs.trial.epochs = 0: expected an integer >= 1", id="epochs-zero"),
])
def test_a_setting_past_its_bound_is_one_line_and_nothing_written(workdir, capsys, settings, message):
    write_params(workdir, **{"epochs": 1, **settings})
    assert train_stage.main(["trial"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {message}"), err
    assert not (workdir / "metrics").exists() and not (workdir / "models").exists()
