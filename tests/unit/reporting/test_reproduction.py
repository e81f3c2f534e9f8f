"""reproduction.py: the pipeline's numbers against those the original report printed, to a relative tolerance (inclusive at its limit), grouped by the task of each role."""

from __future__ import annotations

import math
import pytest
from mnist_report.common.errors import PipelineError
from mnist_report.reporting import reproduction
from mnist_report.reporting.published import PUBLISHED


def published_values():
    return {run: {key: int(text) if key == "early_stop_epoch" else float(text) for key, text in values.items()}
            for run, values in PUBLISHED.items()}


def test_reproduction_tolerance_is_inclusive_at_its_limit():
    metrics = published_values()
    published = metrics["softmax"]["val_accuracy"]
    metrics["softmax"]["val_accuracy"] = published * (1 + 1e-6)
    relative = reproduction.relative_difference(metrics["softmax"]["val_accuracy"], published)
    rows = {row["key"]: row for group in reproduction.reproduction(metrics, relative)["groups"]
            if group["run"] == "softmax" for row in group["rows"]}
    assert rows["val_accuracy"]["agrees"] and rows["val_accuracy"]["relative"] == relative
    table = reproduction.reproduction(metrics, math.nextafter(relative, 0))
    assert table["mismatches"] == 1 and not table["all_agree"]
    assert reproduction.reproduction(metrics, 1e-3)["all_agree"]  # a looser tolerance accepts it


def test_reproduction_groups_by_the_task_of_each_role_and_a_missing_stop_disagrees():
    metrics = published_values()
    metrics["binary_shuffled"]["early_stop_epoch"] = None
    table = reproduction.reproduction(metrics, 1e-10)
    assert [(group["task"], group["run"]) for group in table["groups"]] == [
        ("2b", "binary"), ("2d", "binary_early_stopping"), ("2e", "binary_shuffled"), ("3b", "softmax")]
    row = table["groups"][2]["rows"][0]
    assert row["missing"] and not row["agrees"] and row["relative"] is None
    assert (table["count"], table["mismatches"]) == (10, 1)
    assert reproduction.relative_difference(0.5, 0.0) == 0.5  # published 0: the absolute difference
    assert reproduction.relative_difference(3.0, 2.0) == 0.5 and reproduction.relative_difference(-3.0, -4.0) == 0.25
    assert table["rtol"] == 1e-10
    assert [row["quantity"] for row in table["groups"][0]["rows"]] == [
        "training loss", "validation loss", "training accuracy", "validation accuracy"]
    assert table["groups"][1]["rows"] == [{
        "quantity": "early-stopping epoch", "key": "early_stop_epoch", "published": "33", "value": 33,
        "missing": False, "relative": 0.0, "agrees": True}]
    del metrics["softmax"]
    with pytest.raises(PipelineError, match=r"runs: missing 'softmax'.*\(Task 3b\)"):
        reproduction.reproduction(metrics, 1e-10)
