"""Facts about single runs and the table of runs (Setup).

Pure functions of settings, metrics and histories; the templates choose their sentences by the names
these return (``ending``, ``loss_gap.higher``...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mnist_report.config.roles import ROLES, SWEEP_TASKS
from mnist_report.reporting.latex import accuracy_difference, loss_difference

if TYPE_CHECKING:
    from mnist_report.config.runs import Run

#: The model each task of params.yaml trains, as the text names it.
MODEL_NAMES = {"binary": "logistic", "softmax": "softmax"}


class Ending(StrEnum):
    """How a run ended (:func:`ending`)."""

    NO_EARLY_STOPPING = "no_early_stopping"  # it has none and trained all its epochs
    NEVER_TRIGGERED = "never_triggered"  # it has early stopping, which never ended it
    STOPPED_EARLY = "stopped_early"


def ending(settings: Run, metrics: Mapping[str, Any]) -> Ending:
    """Returns how a run ended, an :class:`Ending`."""
    if not settings.early_stopping:
        return Ending.NO_EARLY_STOPPING
    return Ending.NEVER_TRIGGERED if metrics["early_stop_epoch"] is None else Ending.STOPPED_EARLY


def run_facts(run: str, settings: Run, metrics: Mapping[str, Any], number_format: Mapping[str, int]
              ) -> dict[str, Any]:
    """Returns what the text says of one run: its name, ``settings``, its ``metrics`` (each key at the
    top level), :func:`ending`, ``stopped_early``, ``stop_epoch`` (None unless it stopped early),
    ``penalised`` (lambda > 0) and, as printed with ``number_format``'s decimals, ``loss_gap``
    (validation - training loss) and ``accuracy_gap`` (validation - training accuracy)."""
    how = ending(settings, metrics)
    return {
        **metrics, "run": run, "settings": settings, "ending": how, "stopped_early": how == Ending.STOPPED_EARLY,
        "stop_epoch": metrics["early_stop_epoch"] if how == Ending.STOPPED_EARLY else None,
        "penalised": float(settings.l2_lambda) > 0,
        "loss_gap": loss_difference(metrics["val_loss"], metrics["train_loss"], number_format["loss_decimals"]),
        "accuracy_gap": accuracy_difference(metrics["val_accuracy"], metrics["train_accuracy"],
                                            number_format["accuracy_decimals"]),
    }


def task_ranges(tasks: Sequence[str]) -> str:
    """Returns tasks as ranges of consecutive letters: 3b, 3c, 3d, 4b, 4c -> ``3b--3d, 4b, 4c``."""
    ordered = sorted(set(tasks))
    ranges: list[list[str]] = []
    for task in ordered:
        previous = ranges[-1][-1] if ranges else None
        if previous and previous[:-1] == task[:-1] and ord(task[-1]) == ord(previous[-1]) + 1:
            ranges[-1].append(task)
        else:
            ranges.append([task])
    return ", ".join(f"{r[0]}--{r[-1]}" if len(r) > 2 else ", ".join(r) for r in ranges)


def tasks_of_runs(roles: Mapping[str, str], sweep_runs: Sequence[str]) -> dict[str, str]:
    """Returns run -> the tasks of this report that use it (``2b, 2c``), from the roles table
    (:data:`mnist_report.config.roles.ROLES`) and the runs of the lambda sweep."""
    uses: dict[str, list[str]] = {}
    for role, served in ROLES.items():
        uses.setdefault(roles[role], []).extend(served.tasks)
    for run in sweep_runs:
        uses.setdefault(run, []).extend(SWEEP_TASKS)
    return {run: task_ranges(tasks) for run, tasks in uses.items()}


def run_table(runs: Mapping[str, Run], roles: Mapping[str, str], sweep_runs: Sequence[str]) -> list[dict[str, Any]]:
    """Returns the rows of the table of runs: ``run``, ``tasks`` (``--`` for none), ``model`` and
    ``settings``, in the order of params.yaml."""
    uses = tasks_of_runs(roles, sweep_runs)
    return [{"run": run, "tasks": uses.get(run, "--"), "model": MODEL_NAMES[settings.task], "settings": settings}
            for run, settings in runs.items()]

