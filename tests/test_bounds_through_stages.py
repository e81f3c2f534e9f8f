"""The run settings at and past every bound, through the stage that uses them (the train stage, on
the real data, one epoch): one line naming the key, or a run that trains. The figures' bounds go
through the figures stage in test_figure_bounds.py."""

from __future__ import annotations

import json

import pytest
from test_train_stage import workdir, write_params  # noqa: F401  (fixture)

from mnist_report import train as train_stage
from mnist_report.config.runs import SEED_LIMIT

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
