"""The synthetic runs of the facts tests (tests/unit/reporting/test_facts_*.py): a run's settings as a
checked :class:`~mnist_report.config.runs.Run`, its facts as facts_runs.run_facts gives them, and a
validation history, each from values a test writes by hand."""

from __future__ import annotations

import numpy as np

from mnist_report.config.runs import Run, RunTable
from mnist_report.config.schema import validate
from mnist_report.reporting import facts_runs

#: The report's number format: decimals of a loss and of an accuracy in percent.
FORMAT = {"loss_decimals": 4, "accuracy_decimals": 2}
#: A binary run's settings, every key of a run.
SETTINGS = {"task": "binary", "classes": [2, 3], "learning_rate": 0.05, "epochs": 50, "batch_size": 128,
            "shuffle": False, "early_stopping": True, "early_stopping_patience": 10, "validations_per_epoch": 5,
            "l2_lambda": 0.0, "seed": 0}


def checked_settings(**own) -> Run:
    """A run's settings as the stages receive them: ``own`` over :data:`SETTINGS`, checked as
    params.yaml's ``defaults`` and ``runs`` are (a :class:`Run`)."""
    return validate(RunTable, {"defaults": SETTINGS, "runs": {"r": own}}).runs["r"]


def run(name="r", *, early_stopping=True, stop=None, steps=1000, val_accuracy=0.97, train_accuracy=0.975,
        val_loss=0.07, train_loss=0.065, **settings):
    """The facts (facts_runs.run_facts) of a synthetic run with these final metrics and ``settings``."""
    metrics = {"train_loss": train_loss, "val_loss": val_loss, "train_accuracy": train_accuracy,
               "val_accuracy": val_accuracy, "early_stop_epoch": stop, "steps": steps, "weight_norm_squared": 1.0}
    return facts_runs.run_facts(name, checked_settings(early_stopping=early_stopping, **settings), metrics, FORMAT)


def history(steps, val_loss, val_accuracy=None, train_accuracy=None):
    """A validation history as the facts read it: columns by name (accuracies 0.9 unless given)."""
    steps = np.asarray(steps)
    val_accuracy = np.full(steps.shape, 0.9) if val_accuracy is None else np.asarray(val_accuracy, float)
    train_accuracy = val_accuracy if train_accuracy is None else np.asarray(train_accuracy, float)
    return {"step": steps, "val_loss": np.asarray(val_loss, float), "val_accuracy": val_accuracy,
            "train_accuracy": train_accuracy}
