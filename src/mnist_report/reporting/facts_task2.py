"""The facts of Task 2: logistic regression (2b, 2c), early stopping (2d) and shuffling (2e).

Pure functions of the runs' facts (:func:`mnist_report.reporting.facts_runs.run_facts`) and validation
histories (column -> array of shape (n_validations,)); the template ``task2.tex.j2`` chooses its
sentences by the names they return. Accuracies and losses are compared as printed.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import numpy as np

from mnist_report.common.outputs import VALIDATION_COLUMNS
from mnist_report.reporting.facts_runs import Ending
from mnist_report.reporting.latex import accuracy_difference, loss_difference


class ComparedWith(StrEnum):
    """What the steps of the early-stopping run of Task 2d are set against (:func:`early_stopping_facts`)."""

    FULL_RUN = "full_run"  # fewer steps than run 2b, which ran to its end
    STOPPED_RUN = "stopped_run"  # fewer than run 2b, which early stopping ended too
    NOTHING = "nothing"


class Saving(StrEnum):
    """What early stopping saved against the full run (:func:`early_stopping_facts`)."""

    FREE = "free"  # fewer steps, no lower accuracy
    COSTLY = "costly"  # fewer steps, lower accuracy
    NONE = "none"  # no saving against a full run to speak of


def early_stopping_facts(full: dict[str, Any], stopping: dict[str, Any], accuracy_decimals: int) -> dict[str, Any]:
    """Returns how the early-stopping run of Task 2d (``stopping``) compares with the run of Task 2b
    (``full``), both :func:`mnist_report.reporting.facts_runs.run_facts`.

    ``reference_ran_to_end``: run 2b was not ended by early stopping. ``compared_with``: what the
    steps of 2d are set against: ``full_run`` (2d took fewer steps than 2b, which ran to its end),
    ``stopped_run`` (fewer than 2b, which early stopping ended too) or ``nothing`` (a :class:`ComparedWith`).
    ``accuracy_change``: validation accuracy of 2d - that of 2b, as printed. ``saved_steps``: 2b's
    steps - 2d's. ``saving``: ``free`` (fewer steps than the full run, no lower accuracy), ``costly``
    (fewer steps, lower accuracy) or ``none`` (no saving against a full run to speak of): a :class:`Saving`.
    """
    ran_to_end = full["ending"] != Ending.STOPPED_EARLY
    fewer_steps = stopping["steps"] < full["steps"]
    change = accuracy_difference(stopping["val_accuracy"], full["val_accuracy"], accuracy_decimals)
    if fewer_steps and ran_to_end:
        compared_with, saving = ComparedWith.FULL_RUN, Saving.COSTLY if change.lower else Saving.FREE
    else:
        compared_with, saving = (ComparedWith.STOPPED_RUN if fewer_steps else ComparedWith.NOTHING), Saving.NONE
    return {"reference_ran_to_end": ran_to_end, "compared_with": compared_with, "accuracy_change": change,
            "saved_steps": full["steps"] - stopping["steps"], "saving": saving}


class Stopped(StrEnum):
    """Which of the two runs of Task 2e early stopping ended (:func:`stopping_comparison`)."""

    BOTH = "both"
    SHUFFLED_ONLY = "shuffled_only"
    UNSHUFFLED_ONLY = "unshuffled_only"
    NEITHER = "neither"


class StopOrder(StrEnum):
    """When the shuffled run stopped, against the unshuffled one (:func:`stopping_comparison`)."""

    EARLIER = "earlier"
    LATER = "later"
    SAME = "same"


def stopping_comparison(unshuffled: dict[str, Any], shuffled: dict[str, Any], accuracy_decimals: int) -> dict[str, Any]:
    """Returns how the two runs of Task 2e ended (both :func:`mnist_report.reporting.facts_runs.run_facts`).

    ``stopped``: which of them early stopping ended: ``both``, ``shuffled_only``,
    ``unshuffled_only`` or ``neither`` (a :class:`Stopped`). ``stop_order`` (both stopped; else None):
    the shuffled run stopped ``earlier``, ``later`` or in the ``same`` epoch (a :class:`StopOrder`). ``accuracy_change``: validation accuracy
    with shuffling - without, as printed. ``sooner_and_no_better``: the shuffled run took fewer steps
    and its accuracy is not higher.
    """
    with_stop, without_stop = shuffled["stop_epoch"], unshuffled["stop_epoch"]
    if with_stop is not None and without_stop is not None:
        stopped = Stopped.BOTH
        stop_order = (StopOrder.EARLIER if with_stop < without_stop else StopOrder.LATER if with_stop > without_stop
                      else StopOrder.SAME)
    else:
        stopped = (Stopped.SHUFFLED_ONLY if with_stop is not None else Stopped.UNSHUFFLED_ONLY
                   if without_stop is not None else Stopped.NEITHER)
        stop_order = None
    change = accuracy_difference(shuffled["val_accuracy"], unshuffled["val_accuracy"], accuracy_decimals)
    return {"stopped": stopped, "stop_order": stop_order, "accuracy_change": change,
            "sooner_and_no_better": shuffled["steps"] < unshuffled["steps"] and not change.higher}


def upward_moves(values: np.ndarray) -> tuple[float, int]:
    """Returns (sum of the increases, number of increases) between consecutive ``values`` (shape (n,))."""
    steps = np.diff(np.asarray(values, dtype=np.float64))
    rises = steps[steps > 0]
    return float(rises.sum()), int(rises.size)


def recurring_spikes(history: dict[str, np.ndarray], steps_per_epoch: int, interval: int) -> dict[str, Any] | None:
    """Returns where the largest upward moves of the validation loss recur, or None when they do not.

    Without shuffling, a batch that pushes the loss up does so at the same step of every epoch, but a
    validation (every ``interval`` steps) lands on that step of the epoch only every
    ``period = lcm(steps_per_epoch, interval)`` steps. Over the validations from epoch 1 on (epoch 0
    starts from zero weights), each upward move is put at the step of the later validation, and the
    moves are grouped by that step modulo ``period``. The spikes recur when, for the group with the
    largest total rise (of equal totals, the earliest step of the period), the loss rose at every one
    of its (at least two) validations and each of those rises is larger than every other rise of the
    run: then ``steps`` lists them, ``share`` is their part of the total rise, ``share_percent`` that
    share in per cent, ``epoch_step`` the step of the epoch (from 0) after which they come, and
    ``recovers`` says whether the loss fell again at the validation after each of them.
    """
    if steps_per_epoch < 1 or interval < 1:
        return None
    period = math.lcm(steps_per_epoch, interval)
    mask = history["step"] >= steps_per_epoch
    steps, losses = history["step"][mask], history["val_loss"][mask]
    if steps.size < 3:
        return None
    moves = np.diff(losses)
    rises = np.where(moves > 0, moves, 0.0)
    phases = steps[1:] % period
    totals = {int(phase): float(rises[phases == phase].sum()) for phase in np.unique(phases)}
    phase = max(totals, key=lambda key: (totals[key], -key))
    at_phase = phases == phase
    count_at_phase = int(at_phase.sum())
    if count_at_phase < 2 or not np.all(rises[at_phase] > 0):
        return None
    if not np.all(rises[~at_phase] < rises[at_phase].min()):  # a tie with another rise: not the largest
        return None
    after = np.flatnonzero(at_phase) + 1  # the move from each spike to the next validation
    after = after[after < moves.size]  # never empty: of two or more spikes, at most one is the last move
    return {"steps": [int(step) for step in steps[1:][at_phase]], "period": period,
            "recovers": bool(np.all(moves[after] < 0)),
            "epochs_between": period // steps_per_epoch,
            "epoch_step": phase % steps_per_epoch, "share": totals[phase] / float(rises.sum()),
            "share_percent": 100 * (totals[phase] / float(rises.sum())),
            "first_step": int(steps[0]), "last_step": int(steps[-1])}


class RiseSize(StrEnum):
    """The total rise of the validation loss with shuffling, against without (:func:`shuffling_facts`)."""

    SMALLER = "smaller"
    LARGER = "larger"
    SAME = "same"


class RiseCount(StrEnum):
    """The number of rises of the validation loss with shuffling, against without (:func:`shuffling_facts`)."""

    MORE = "more"
    FEWER = "fewer"
    SAME = "same"


def shuffling_facts(unshuffled: dict[str, np.ndarray], shuffled: dict[str, np.ndarray], steps_per_epoch: int,
                    interval: int | None, plotted: dict[str, np.ndarray], loss_decimals: int) -> dict[str, Any]:
    """Returns how much the validation loss jumps upwards with and without shuffling: the spikes of Task 2e.

    The moves are counted between consecutive validations from the first validation of epoch 1
    (step >= ``steps_per_epoch``) to the last step both runs reached: in epoch 0 both runs start
    from zero weights and the loss swings widely, and taking the same batches every epoch cannot
    matter yet. ``interval`` is the number of steps between validations of the unshuffled run (None:
    unknown; then no spikes are looked for). Of the rises, ``rise_size`` compares the totals as printed
    with ``loss_decimals`` (a :class:`RiseSize`), ``rise_count`` the
    numbers of rises (a :class:`RiseCount`), and ``count_agrees_with_size`` says whether
    both point the same way (more and larger, or fewer and smaller). ``in_figure`` says whether the unshuffled run's validation history is the start of
    ``plotted`` (the run of Figure 1), so that the text can point to the curve it measures.
    """
    last_step = int(min(unshuffled["step"][-1], shuffled["step"][-1]))

    def window(history: dict[str, np.ndarray]) -> np.ndarray:
        return (history["step"] >= steps_per_epoch) & (history["step"] <= last_step)

    loss_unshuffled, loss_shuffled = unshuffled["val_loss"][window(unshuffled)], shuffled["val_loss"][window(shuffled)]
    first_validation = int(unshuffled["step"][window(unshuffled)][0]) if loss_unshuffled.size else last_step
    rise_unshuffled, rises_unshuffled = upward_moves(loss_unshuffled)
    rise_shuffled, rises_shuffled = upward_moves(loss_shuffled)
    length = len(unshuffled["step"])
    in_figure = len(plotted["step"]) >= length and all(
        np.array_equal(plotted[column][:length], unshuffled[column]) for column in VALIDATION_COLUMNS)
    size = loss_difference(rise_shuffled, rise_unshuffled, loss_decimals)
    rise_size = RiseSize.SMALLER if size.lower else RiseSize.LARGER if size.higher else RiseSize.SAME
    rise_count = (RiseCount.MORE if rises_shuffled > rises_unshuffled else RiseCount.FEWER
                  if rises_shuffled < rises_unshuffled else RiseCount.SAME)
    return {
        "first_step": steps_per_epoch, "epoch_0_last_step": steps_per_epoch - 1, "first_validation": first_validation, "last_step": last_step,
        "steps_per_epoch": steps_per_epoch,
        "rise_unshuffled": rise_unshuffled, "rises_unshuffled": rises_unshuffled,
        "rise_shuffled": rise_shuffled, "rises_shuffled": rises_shuffled,
        "rise_size": rise_size, "rise_count": rise_count,
        "count_agrees_with_size": (rise_count, rise_size) in ((RiseCount.MORE, RiseSize.LARGER),
                                                              (RiseCount.FEWER, RiseSize.SMALLER)),
        "unshuffled_never_rose": rises_unshuffled == 0, "shuffled_never_rose": rises_shuffled == 0,
        "validation_interval": interval,
        "spikes": recurring_spikes(unshuffled, steps_per_epoch, interval) if interval else None,
        "in_figure": in_figure, "unshuffled_last_step": int(unshuffled["step"][-1]),
    }
