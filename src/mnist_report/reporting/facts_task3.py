"""The facts of Task 3: softmax regression against the binary task (3b) and overfitting (3d).

Pure functions of run facts (:func:`mnist_report.reporting.facts_runs.run_facts`) and a validation history
(column -> array of shape (n_validations,)); ``task3.tex.j2`` chooses its sentences by the names they
return. Accuracies and losses are compared as printed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np

from mnist_report.reporting.latex import Difference, accuracy_difference, diff_pp, loss_difference


def softmax_facts(softmax: dict[str, Any], binary: dict[str, Any], accuracy_decimals: int) -> dict[str, Any]:
    """Returns the comparisons of Task 3b and 3d, as printed: ``versus_binary`` = validation accuracy of
    the softmax run - that of the binary run of Task 2b; ``final_gap`` = training - validation accuracy
    of the softmax run (both :class:`Difference`)."""
    return {
        "versus_binary": accuracy_difference(softmax["val_accuracy"], binary["val_accuracy"], accuracy_decimals),
        "final_gap": accuracy_difference(softmax["train_accuracy"], softmax["val_accuracy"], accuracy_decimals),
    }


class Verdict(StrEnum):
    """Whether the softmax run overfits (:func:`overfitting_facts`)."""

    EARLY = "early"  # the gap widens while the validation accuracy still improves
    OVERFITS = "overfits"  # the gap widens and the validation accuracy no longer improves
    NONE = "none"  # the gap does not widen


class GapTrend(StrEnum):
    """How the gap between training and validation accuracy moved (:func:`overfitting_facts`)."""

    WIDENED = "widened"
    NARROWED = "narrowed"
    STAYED = "stayed"


def overfitting_facts(history: dict[str, np.ndarray], decimals: int, loss_decimals: int) -> dict[str, Any]:
    """Returns the trends of Task 3d over the second half of the recorded validations: the gap
    between training and validation accuracy then and at the last validation, the gains of both,
    where the validation loss was lowest, and the verdict (a :class:`Verdict`): ``early`` (the gap widens while the
    validation accuracy still improves), ``overfits`` (the gap widens and the validation accuracy
    no longer improves) or ``none`` (the gap does not widen). The position of the lowest validation
    loss is reported but does not decide: with shuffled batches it moves by noise alone.

    Gaps and gains are in percentage points, differences of the accuracies as printed with
    ``decimals`` digits (:func:`diff_pp`), so that the verdict agrees with the numbers the text shows;
    ``train_gain`` and ``val_gain`` are :class:`Difference`, ``gap_trend`` is a
    :class:`GapTrend`. ``loss_rise``: the last validation loss - the lowest, as printed with
    ``loss_decimals`` (a :class:`Difference`).
    """
    middle, last = len(history["step"]) // 2, len(history["step"]) - 1
    train, val, loss = history["train_accuracy"], history["val_accuracy"], history["val_loss"]
    best = int(np.argmin(loss))
    gap_middle, gap_last = diff_pp(train[middle], val[middle], decimals), diff_pp(train[last], val[last], decimals)
    val_gain = diff_pp(val[last], val[middle], decimals)
    if gap_last > gap_middle and val_gain > 0:
        verdict = Verdict.EARLY  # still improving on validation data, but more slowly than on training data
    elif gap_last > gap_middle:
        verdict = Verdict.OVERFITS  # better on the training data, no better on validation data
    else:
        verdict = Verdict.NONE
    gap_trend = GapTrend.WIDENED if gap_last > gap_middle else GapTrend.NARROWED if gap_last < gap_middle else GapTrend.STAYED
    return {
        "verdict": verdict, "gap_trend": gap_trend,
        "middle_step": int(history["step"][middle]), "last_step": int(history["step"][last]),
        "gap_middle": gap_middle, "gap_last": gap_last,
        "train_gain": Difference(diff_pp(train[last], train[middle], decimals)), "val_gain": Difference(val_gain),
        "best_val_loss_step": int(history["step"][best]), "best_val_loss": float(loss[best]),
        "last_val_loss": float(loss[last]), "best_is_last": best == last,
        "loss_rise": loss_difference(loss[last], loss[best], loss_decimals),
        "validations_after_best": last - best,
    }
