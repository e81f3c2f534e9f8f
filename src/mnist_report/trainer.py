"""Mini-batch SGD as the original code runs it, with validation, shuffling and early stopping.

One loop a reader can follow against the report: per epoch, ``N // batch_size`` batches in index
order (the last partial batch dropped); after the update of every global step ``s`` with
``s % ((N // batch_size) // validations_per_epoch) == 0`` (step 0 included; the original validates
five times an epoch), a validation records the validation loss and accuracy and the accuracy on the
whole training set; early stopping may end the run there, after ``patience`` validations without
improvement (the original waits 10). Both numbers are run settings of ``params.yaml``.
``benchmarks/train_speed.py`` times it against a straightforward implementation of the same loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from mnist_report.data import Split
from mnist_report.errors import PipelineError
from mnist_report.models import LinearModel
from mnist_report.speed import Validations


class DivergedError(PipelineError):
    """The training loss became inf or NaN."""


@dataclass
class History:
    """What a run records: ``train_loss[s]`` for every step ``s``; one entry per validation in the rest."""

    train_loss: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)


@dataclass
class TrainingResult:
    history: History
    early_stop_epoch: int | None  # 0-based epoch in which early stopping ended the run, or None
    steps: int  # SGD steps taken
    # The schedule the run followed, as the report states it:
    steps_per_epoch: int
    validation_interval: int  # steps between validations
    early_stopping_patience: int  # validations without improvement that end the run (if early_stopping)


def epoch_order(num_samples: int, rng: np.random.RandomState | None) -> np.ndarray | None:
    """Returns the sample order of one epoch: ``arange(N)`` permuted in place by ``rng.shuffle``, or
    None (file order) without shuffling.

    Every epoch permutes a fresh ``arange(N)``, not the previous epoch's order: that is what the
    original code does, and what reproduces its early stop at epoch 16 (Task 2e) and its Task 3b figures.
    """
    if rng is None:
        return None
    indices = np.arange(num_samples)
    rng.shuffle(indices)
    return indices


def batches(num_samples: int, batch_size: int, order: np.ndarray | None) -> Iterator[np.ndarray | slice]:
    """Yields the ``num_samples // batch_size`` batches of one epoch, taken from ``order`` in turn; the
    last partial batch is dropped. In file order (``order`` None) a batch is a slice, which saves a copy."""
    for start in range(0, (num_samples // batch_size) * batch_size, batch_size):
        yield slice(start, start + batch_size) if order is None else order[start:start + batch_size]


def should_stop_early(val_loss: list[float], patience: int) -> bool:
    """Returns True when the oldest of the last ``patience + 1`` validation losses is less than or
    equal to each of the ``patience`` after it: no improvement over ``patience`` validations."""
    if len(val_loss) < patience + 1:
        return False
    oldest, *after = val_loss[-(patience + 1):]
    return all(oldest <= loss for loss in after)


def could_stop_early(val_loss: list[float], pending: int, patience: int) -> bool:
    """Returns False when the validation losses known so far, ``val_loss``, already rule out
    :func:`should_stop_early` for the losses of ``pending`` more validations after them, whatever
    those are: one of the known losses after the oldest of the last ``patience + 1`` is not >= it.
    Returns True when the rule needs the pending losses (or, with none pending, when it holds)."""
    count = len(val_loss) + pending
    if count < patience + 1:
        return False
    oldest = count - (patience + 1)
    if oldest >= len(val_loss):  # the oldest itself is pending
        return True
    return all(val_loss[oldest] <= loss for loss in val_loss[oldest + 1:])


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    """Returns the SGD steps of one epoch: ``num_samples // batch_size`` (the last partial batch dropped)."""
    return num_samples // batch_size


def validation_interval(num_samples: int, batch_size: int, validations_per_epoch: int) -> int:
    """Returns the number of steps between validations: ``steps_per_epoch // validations_per_epoch``,
    at least 1 (more validations than steps: one after every step)."""
    return max(1, steps_per_epoch(num_samples, batch_size) // validations_per_epoch)


def train(model: LinearModel, train_set: Split, val_set: Split, *, learning_rate: float, epochs: int,
          batch_size: int, shuffle: bool, early_stopping: bool, early_stopping_patience: int,
          validations_per_epoch: int, seed: int,
          on_epoch: Callable[[int, History], None] | None = None) -> TrainingResult:
    """Trains ``model`` in place and returns what it recorded.

    Shuffling permutes ``arange(N)`` at the start of every epoch with NumPy's legacy generator,
    seeded once per run (``RandomState(seed).shuffle``), as the original does, so that the batches are
    the original's. Early stopping keeps the weights of the moment it stops.
    Raises DivergedError at the first step whose training loss or updated weights are inf or NaN.
    ``on_epoch`` sees the history at the end of each epoch, where ``train_accuracy`` may still lack
    the entries of the latest validations (see Validations); it is complete when ``train`` returns.
    A validation follows every :func:`validation_interval` steps; early stopping ends the run when
    :func:`should_stop_early` with ``early_stopping_patience``. Validations are computed in groups
    (Validations), by the end of their epoch; early stopping asks for them at once whenever
    :func:`could_stop_early` says the losses known so far do not decide the rule, so that it stops
    at the same step as if every validation were computed at once.
    """
    X, Y = train_set.X, train_set.Y
    num_samples = X.shape[0]
    if num_samples < batch_size:
        raise PipelineError(f"batch_size {batch_size} is larger than the training set ({num_samples} samples)")
    interval = validation_interval(num_samples, batch_size, validations_per_epoch)
    rng = np.random.RandomState(seed) if shuffle else None
    history = History()
    early_stop_epoch = None
    step = 0
    with Validations(model, train_set, val_set, history) as validations:
        for epoch in range(epochs):
            for batch in batches(num_samples, batch_size, epoch_order(num_samples, rng)):
                X_batch, Y_batch = X[batch], Y[batch]
                # Overflow is not warned about but caught: a non-finite loss or weight ends the run below.
                with np.errstate(over="ignore", invalid="ignore"):
                    loss, gradient = model.loss_and_gradient(X_batch, Y_batch)
                    gradient *= learning_rate  # the step, in place: the same bits as learning_rate * gradient
                    model.w -= gradient
                if not (math.isfinite(loss) and np.isfinite(model.w).all()):
                    raise DivergedError(f"diverged at step {step} (epoch {epoch}): training loss {loss}, "
                                        f"largest |weight| {np.abs(model.w).max()}")
                history.train_loss.append(loss)
                if step % interval == 0:
                    validations.validate(step)  # queued: computed at the end of the epoch, or now if needed
                    if early_stopping and could_stop_early(history.val_loss, validations.pending,
                                                           early_stopping_patience):
                        validations.flush()
                        if should_stop_early(history.val_loss, early_stopping_patience):
                            early_stop_epoch = epoch
                            break
                step += 1
            if early_stop_epoch is not None:
                step += 1  # the step that stopped the run was taken
                break
            validations.flush()
            if on_epoch is not None:
                on_epoch(epoch, history)
    return TrainingResult(history, early_stop_epoch=early_stop_epoch, steps=step,
                          steps_per_epoch=steps_per_epoch(num_samples, batch_size), validation_interval=interval,
                          early_stopping_patience=early_stopping_patience)


def final_metrics(model: LinearModel, train_set: Split, val_set: Split, result: TrainingResult) -> dict:
    """Returns the run's figures: loss and accuracy of the final weights on the whole training and
    validation sets, the early-stop epoch, the steps taken and ``||w||^2``, then the schedule it
    followed (steps per epoch, steps between validations, the early-stopping patience), which the
    report states."""
    z_train, z_val = model.logits(train_set.X), model.logits(val_set.X)  # one product per set serves both
    return {
        "train_loss": model.loss_from_logits(z_train, train_set.Y),
        "val_loss": model.loss_from_logits(z_val, val_set.Y),
        "train_accuracy": model.accuracy_from_logits(z_train, train_set.Y),
        "val_accuracy": model.accuracy_from_logits(z_val, val_set.Y),
        "early_stop_epoch": result.early_stop_epoch,
        "steps": result.steps,
        "weight_norm_squared": float(np.sum(model.w ** 2)),
        "steps_per_epoch": result.steps_per_epoch,
        "validation_interval": result.validation_interval,
        "early_stopping_patience": result.early_stopping_patience,
    }
