"""The reproduction of Appendix A: every value the original report published beside this run's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnist_report.common.errors import PipelineError
from mnist_report.config.roles import ROLES
from mnist_report.reporting.published import PUBLISHED, ROLE_OF_RUN

QUANTITY_NAMES = {"train_loss": "training loss", "val_loss": "validation loss",
                  "train_accuracy": "training accuracy", "val_accuracy": "validation accuracy",
                  "early_stop_epoch": "early-stopping epoch"}


def relative_difference(value: float, published: float) -> float:
    """Returns ``|value - published| / |published|``, or ``|value|`` when ``published`` is 0."""
    difference = abs(value - published)
    return difference / abs(published) if published != 0 else difference


def reproduction(metrics: Mapping[str, Mapping[str, Any]], rtol: float) -> dict[str, Any]:
    """Returns the reproduction table: every published value beside this run's, with the relative
    difference (:func:`relative_difference`) and whether it is within ``rtol`` (``agrees``).

    A value this run lacks (an early stop that never happened: null) is ``missing`` and disagrees.
    Groups follow :data:`mnist_report.reporting.published.PUBLISHED`; each is headed by the task in which the
    original printed it (the first task of the run's role). ``all_agree``: no row disagrees.
    """
    groups, count, mismatches = [], 0, 0
    for run, published_values in PUBLISHED.items():
        task = ROLES[ROLE_OF_RUN[run]].tasks[0]
        if run not in metrics:
            raise PipelineError(f"runs: missing {run!r}, whose values the original report published (Task {task})")
        rows = []
        for key, published_text in published_values.items():
            published = float(published_text)  # an epoch too: "33" and 33 give the same difference
            value = metrics[run][key]
            missing = value is None
            relative = None if missing else relative_difference(float(value), published)
            agrees = relative is not None and relative <= rtol
            count += 1
            mismatches += not agrees
            rows.append({"quantity": QUANTITY_NAMES[key], "key": key, "published": published_text,
                         "value": value, "missing": missing, "relative": relative, "agrees": agrees})
        groups.append({"task": task, "run": run, "rows": rows})
    return {"groups": groups, "count": count, "mismatches": mismatches, "all_agree": mismatches == 0, "rtol": rtol}
