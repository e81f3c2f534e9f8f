"""The facts of Task 4: the weights as images (4b) and the comparison across lambda (4c-4e).

Pure functions of weights, settings and metrics; ``task4.tex.j2`` chooses its sentences by the names
they return. Accuracies are compared as printed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import numpy as np

from mnist_report.common.errors import PipelineError
from mnist_report.config import layout
from mnist_report.config.runs import Run, lambda_sweep
from mnist_report.mnist import data
from mnist_report.reporting.facts_runs import ending
from mnist_report.reporting.latex import accuracy_difference, percent_value


def roughness(weights: np.ndarray) -> float:
    """Returns how rough the weight images of ``weights`` (785, K) are: per class, the mean absolute
    difference between horizontally or vertically neighbouring pixels of its 28x28 image divided by
    the mean absolute weight of the image, averaged over the K classes (0 for a flat image).

    Dividing by the size of the weights makes it a property of the image's shape alone, comparable
    between a strong penalty's small weights and the large weights of no penalty.
    """
    side = data.IMAGE_SIDE
    tiles = np.asarray(weights, dtype=np.float64)[: side * side].T.reshape(-1, side, side)
    across = np.abs(np.diff(tiles, axis=2)).reshape(tiles.shape[0], -1)
    down = np.abs(np.diff(tiles, axis=1)).reshape(tiles.shape[0], -1)
    neighbour = np.concatenate([across, down], axis=1).mean(axis=1)
    size = np.abs(tiles).reshape(tiles.shape[0], -1).mean(axis=1)
    per_class = neighbour / np.where(size > 0, size, 1.0)  # an all-zero image: 0 / 1, not 0 / 0
    return float(per_class.mean())


class Smoother(StrEnum):
    """Which penalty's weights of Task 4b are the smoother (:func:`weights_facts`)."""

    STRONGER = "stronger"
    WEAKER = "weaker"
    EQUAL = "equal"


def weights_facts(top: dict[str, Any], bottom: dict[str, Any]) -> dict[str, Any]:
    """Returns the comparison of Task 4b between the weights of its two rows, each ``{"run",
    "l2_lambda", "roughness"}`` (:func:`roughness`): ``top``, ``bottom``, the same as ``low`` and
    ``high`` (by lambda), ``smoother``: a :class:`Smoother`, and ``weaker_unpenalised`` (the weaker penalty is lambda = 0)."""
    low, high = sorted((top, bottom), key=lambda w: w["l2_lambda"])
    smoother = (Smoother.STRONGER if high["roughness"] < low["roughness"]
                else Smoother.WEAKER if high["roughness"] > low["roughness"] else Smoother.EQUAL)
    return {"top": top, "bottom": bottom, "low": low, "high": high, "smoother": smoother,
            "weaker_unpenalised": low["l2_lambda"] == 0}


def task4_sweep(runs: Mapping[str, Run]) -> list[dict[str, Any]]:
    """Returns the runs of Task 4 (:func:`mnist_report.config.params.lambda_sweep`) as records
    ``{"run", "l2_lambda"}`` by increasing lambda; Task 4 compares at least two of them."""
    sweep = [{"run": run, "l2_lambda": l2_lambda} for l2_lambda, run in lambda_sweep(runs)]
    if len(sweep) < 2:
        raise PipelineError("runs: Task 4 compares softmax runs that differ in l2_lambda; "
                            f"found {len(sweep)} softmax run(s)")
    return sweep


def sweep_entry(run: str, settings: Run, metrics: Mapping[str, Any], steps_per_epoch: int) -> dict[str, Any]:
    """Returns what Task 4 shows of one run of the sweep: its final metrics, how long it trained
    (``full_steps`` = epochs x steps per epoch, the steps without early stopping) and
    ``decay_steps`` = 1 / (2 eta lambda), the time constant in steps of the weight decay
    (1 - 2 eta lambda)^t ~ exp(-2 eta lambda t), with ``decay_periods`` = steps / decay_steps
    (both None for lambda = 0), and ``decay_factor`` = 1 - 2 eta lambda, by which every step shrinks the
    weights; ``ending`` as :func:`mnist_report.reporting.facts_runs.ending`."""
    l2_lambda, learning_rate = float(settings.l2_lambda), float(settings.learning_rate)
    decay = 2 * learning_rate * l2_lambda
    entry = {key: metrics[key] for key in ("val_accuracy", "train_accuracy", "val_loss", "weight_norm_squared",
                                             "steps", "early_stop_epoch")}
    entry.update({
        "run": run, "settings": settings, "ending": ending(settings, metrics),
        "decay_factor": 1 - decay, "l2_lambda": l2_lambda, "learning_rate": learning_rate,
        "early_stopping": bool(settings.early_stopping), "epochs": int(settings.epochs),
        "full_steps": int(settings.epochs) * steps_per_epoch,
        "decay_steps": 1 / decay if decay > 0 else None,
        "decay_periods": metrics["steps"] * decay if decay > 0 else None,
    })
    return entry


def strictly_monotonic(values: Sequence[Any], falling: bool) -> bool:
    """True when every value is below (``falling``) or above the one before it."""
    return all((b < a) if falling else (b > a) for a, b in zip(values, values[1:]))


class AccuracyTrend(StrEnum):
    """How the validation accuracy moves with lambda (:func:`sweep_facts`)."""

    DECREASING = "decreasing"  # strictly
    INCREASING = "increasing"  # strictly
    CONSTANT = "constant"
    MIXED = "mixed"


class PenaltyEffect(StrEnum):
    """What the penalty does to the validation accuracy (:func:`sweep_facts`)."""

    NONE = "none"  # accuracy constant
    ONLY_COSTS = "only_costs"  # no lambda beats the weakest
    HELPS_THEN_COSTS = "helps_then_costs"  # the best lambda beats the strongest
    HELPS = "helps"


class DecayBalance(StrEnum):
    """Of the runs with a penalty, which took more steps than their decay time constant (:func:`sweep_facts`)."""

    ALL = "all"
    NONE = "none"
    SOME = "some"


def sweep_facts(sweep: list[dict[str, Any]], decimals: int) -> dict[str, Any]:
    """Returns the comparisons Tasks 4c to 4e make across lambda (sweep entries of :func:`sweep_entry`,
    by increasing lambda). Accuracies are compared as printed with ``decimals`` digits; of equal
    ones, the smallest lambda counts as the best and as the worst.

    ``weakest``/``strongest``: the entries of the smallest and largest lambda. ``accuracy_trend``:
    an :class:`AccuracyTrend`.
    ``best_vs_weakest``, ``strongest_vs_weakest``: validation accuracy differences (Difference).
    ``penalty_effect``: a :class:`PenaltyEffect`. ``decay_balance``: of the runs with a penalty
    (``decaying``), which took more steps than their decay time constant (``balanced``,
    ``unbalanced``): a :class:`DecayBalance`.
    """
    accuracies = [percent_value(entry["val_accuracy"], decimals) for entry in sweep]
    train_accuracies = [percent_value(entry["train_accuracy"], decimals) for entry in sweep]
    norms = [entry["weight_norm_squared"] for entry in sweep]
    weakest, strongest = sweep[0], sweep[-1]
    best = sweep[max(range(len(sweep)), key=lambda i: (accuracies[i], -i))]
    worst = sweep[min(range(len(sweep)), key=lambda i: (accuracies[i], i))]
    decaying = [entry for entry in sweep if entry["decay_steps"] is not None]
    balanced = [entry for entry in decaying if entry["steps"] > entry["decay_steps"]]
    unbalanced = [entry for entry in decaying if entry["steps"] <= entry["decay_steps"]]
    full_steps = sorted({entry["full_steps"] for entry in sweep})
    if strictly_monotonic(accuracies, falling=True):
        accuracy_trend = AccuracyTrend.DECREASING
    elif strictly_monotonic(accuracies, falling=False):
        accuracy_trend = AccuracyTrend.INCREASING
    else:
        accuracy_trend = AccuracyTrend.CONSTANT if len(set(accuracies)) == 1 else AccuracyTrend.MIXED
    best_is_weakest = best is weakest
    strongest_costs = accuracies[-1] < percent_value(best["val_accuracy"], decimals)
    penalty_effect = (PenaltyEffect.NONE if accuracy_trend == AccuracyTrend.CONSTANT else PenaltyEffect.ONLY_COSTS
                      if best_is_weakest else PenaltyEffect.HELPS_THEN_COSTS if strongest_costs else PenaltyEffect.HELPS)
    norm_ratio = (weakest["weight_norm_squared"] / strongest["weight_norm_squared"]
                  if strongest["weight_norm_squared"] > 0 else None)
    return {
        "weakest": weakest, "strongest": strongest, "weakest_unpenalised": weakest["l2_lambda"] == 0,
        "lambdas": [entry["l2_lambda"] for entry in sweep],
        "lambdas_listed": layout.caption_lists(sweep),
        "accuracy_trend": accuracy_trend,
        "train_accuracy_decreasing": strictly_monotonic(train_accuracies, falling=True),
        "norm_decreasing": strictly_monotonic(norms, falling=True),
        "best": best, "best_is_weakest": best_is_weakest, "worst": worst,
        "best_vs_weakest": accuracy_difference(best["val_accuracy"], weakest["val_accuracy"], decimals),
        "strongest_vs_weakest": accuracy_difference(strongest["val_accuracy"], weakest["val_accuracy"], decimals),
        "strongest_costs_accuracy": strongest_costs, "penalty_effect": penalty_effect,
        "norm_ratio": norm_ratio, "has_norm_ratio": norm_ratio is not None,
        "stopped_early": [entry for entry in sweep if entry["early_stop_epoch"] is not None],
        "ran_to_the_end": [entry for entry in sweep if entry["early_stop_epoch"] is None],
        "full_steps": full_steps, "same_full_steps": len(full_steps) == 1,
        "decaying": decaying, "balanced": balanced, "unbalanced": unbalanced,
        "decay_balance": (DecayBalance.ALL if not unbalanced else DecayBalance.NONE if not balanced
                          else DecayBalance.SOME),
    }
