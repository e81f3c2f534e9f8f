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
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from mnist_report.common.errors import PipelineError
from mnist_report.core.exact import one_blas_thread, total
from mnist_report.core.models import LinearModel, Split


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


@one_blas_thread()  # the bits do not depend on it, the speed does (exact.one_blas_thread)
def train(model: LinearModel, train_set: Split, val_set: Split, *, learning_rate: float, epochs: int,
          batch_size: int, shuffle: bool, early_stopping: bool, early_stopping_patience: int,
          validations_per_epoch: int, seed: int,
          on_epoch: Callable[[int, History], None] | None = None) -> TrainingResult:
    """Trains ``model`` in place and returns what it recorded.

    Shuffling permutes ``arange(N)`` at the start of every epoch with NumPy's legacy generator,
    seeded once per run (``RandomState(seed).shuffle``), as the original does, so that the batches are
    the original's. A validation follows every :func:`validation_interval` steps; early stopping ends
    the run when :func:`should_stop_early` with ``early_stopping_patience``, and keeps the weights of
    that moment. Raises DivergedError at the first step whose training loss or updated weights are
    inf or NaN. ``on_epoch(epoch, history)`` is called after each epoch once that epoch's
    validations are in the history (:class:`Validations` computes them while SGD goes on).
    """
    X, Y = train_set.X, train_set.Y
    num_samples = len(X)
    if num_samples < batch_size:
        raise PipelineError(f"batch_size {batch_size} is larger than the training set ({num_samples} samples)")
    interval = validation_interval(num_samples, batch_size, validations_per_epoch)
    rng = np.random.RandomState(seed) if shuffle else None
    history = History()
    early_stop_epoch = None
    step = 0
    with Validations(model, train_set, val_set, history, on_epoch) as validations:
        for epoch in range(epochs):
            for batch in batches(num_samples, batch_size, epoch_order(num_samples, rng)):
                # Overflow is not warned about but caught: a non-finite loss or weight ends the run below.
                with np.errstate(over="ignore", invalid="ignore"):
                    loss, gradient = model.loss_and_gradient(X[batch], Y[batch])
                    model.w = model.w - learning_rate * gradient
                if not (math.isfinite(loss) and np.isfinite(model.w).all()):
                    raise DivergedError(f"diverged at step {step} (epoch {epoch}): training loss {loss}, "
                                        f"largest |weight| {np.abs(model.w).max()}")
                history.train_loss.append(loss)
                if step % interval == 0:
                    validations.add(step, model.w)
                    # The losses of queued validations are computed at once when the rule could hold.
                    if early_stopping and could_stop_early(history.val_loss, validations.unfinished,
                                                           early_stopping_patience):
                        validations.finish()
                        if should_stop_early(history.val_loss, early_stopping_patience):
                            early_stop_epoch = epoch
                            break
                step += 1
            if early_stop_epoch is not None:
                step += 1  # the step that stopped the run was taken
                break
            validations.end_epoch(epoch)
    return TrainingResult(history, early_stop_epoch=early_stop_epoch, steps=step,
                          steps_per_epoch=steps_per_epoch(num_samples, batch_size), validation_interval=interval,
                          early_stopping_patience=early_stopping_patience)


class Validations:
    """A run's validations, computed several at a time on a second thread while SGD goes on.

    A validation needs ``z = X w`` for the validation set (10000 x 785) and the training set (20000 x
    785), two passes over 190 MB that memory bandwidth limits; one pass serves every weight matrix
    of a group (``evaluate_each``, ``accuracy_each``). :meth:`add` queues a copy of the weights;
    :meth:`end_epoch` hands the epoch's queue to the thread, as does a queue of ``MOST_QUEUED``;
    :meth:`finish` computes everything and waits (early stopping, the end of the run). Results reach
    the history in the order of the steps, and ``on_epoch(epoch, history)`` is called, on the
    caller's thread, once the validations of that epoch are in it. Each figure is a function of its
    weights alone, so when and where it is computed changes no bit. An error on the thread is raised
    on the caller's at the next :meth:`end_epoch` or :meth:`finish`.
    """

    MOST_QUEUED = 16  # weight matrices of one group: 16 x 785 x 10 x 8 bytes, and the group's logits

    def __init__(self, model: LinearModel, train_set: Split, val_set: Split, history: History,
                 on_epoch: Callable[[int, History], None] | None = None):
        self.model, self.train_set, self.val_set, self.history = model, train_set, val_set, history
        self.on_epoch = on_epoch
        self.queue: list[tuple[int, np.ndarray]] = []  # (step, weights) not handed over yet
        # (epoch ended, steps, validation figures, training accuracies), in order
        self.groups: deque[tuple[int | None, list[int], Future, Future]] = deque()
        # One thread for each data set's pass: with SGD on the caller's, the system shares the cores.
        self.threads = (ThreadPoolExecutor(1, thread_name_prefix="validation set"),
                        ThreadPoolExecutor(1, thread_name_prefix="training set"))

    @property
    def unfinished(self) -> int:
        """The number of validations not in the history yet."""
        return len(self.queue) + sum(len(group[1]) for group in self.groups)

    def add(self, step: int, w: np.ndarray) -> None:
        """Queues the validation of the weights ``w`` after ``step`` (a copy of them)."""
        self.queue.append((step, w.copy()))
        if len(self.queue) == self.MOST_QUEUED:
            self.hand_over(epoch=None)

    def end_epoch(self, epoch: int) -> None:
        """Hands the epoch's validations over and records every group that is done."""
        self.hand_over(epoch)
        self.record(wait=False)

    def finish(self) -> None:
        """Computes every queued validation and records it."""
        self.hand_over(epoch=None)
        self.record(wait=True)

    def hand_over(self, epoch: int | None) -> None:
        steps = [step for step, _ in self.queue]
        weights = [w for _, w in self.queue]
        self.queue = []
        if steps or epoch is not None:
            validation, training = self.threads
            self.groups.append((epoch, steps, validation.submit(self.on_validation_set, weights),
                                training.submit(self.on_training_set, weights)))

    def on_validation_set(self, weights: list[np.ndarray]) -> list[tuple[float, float]]:
        """(On its thread.) Returns the validation loss and accuracy of each weight matrix."""
        return self.model.evaluate_each(self.val_set.X, self.val_set.Y, weights) if weights else []

    def on_training_set(self, weights: list[np.ndarray]) -> list[float]:
        """(On its thread.) Returns the training accuracy of each weight matrix."""
        return self.model.accuracy_each(self.train_set.X, self.train_set.Y, weights) if weights else []

    def record(self, wait: bool) -> None:
        """Appends the figures of the groups handed over, in order: those done, or all if ``wait``."""
        while self.groups and (wait or (self.groups[0][2].done() and self.groups[0][3].done())):
            epoch, steps, validation_figures, training_figures = self.groups.popleft()
            validation, training_accuracies = validation_figures.result(), training_figures.result()  # raise here
            for step, (val_loss, val_accuracy) in zip(steps, validation):
                self.history.val_step.append(step)
                self.history.val_loss.append(val_loss)
                self.history.val_accuracy.append(val_accuracy)
            self.history.train_accuracy.extend(training_accuracies)
            if epoch is not None and self.on_epoch is not None:
                self.on_epoch(epoch, self.history)

    def __enter__(self) -> Validations:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None:
                self.finish()
        finally:
            for thread in self.threads:
                thread.shutdown(wait=True, cancel_futures=True)


@one_blas_thread()
def final_metrics(model: LinearModel, train_set: Split, val_set: Split, result: TrainingResult) -> dict:
    """Returns the run's figures: loss and accuracy of the final weights on the whole training and
    validation sets, the early-stop epoch, the steps taken and ``||w||^2``, then the schedule it
    followed (steps per epoch, steps between validations, the early-stopping patience), which the
    report states."""
    train_loss, train_accuracy = model.evaluate(train_set.X, train_set.Y)
    val_loss, val_accuracy = model.evaluate(val_set.X, val_set.Y)
    return {
        "train_loss": train_loss,
        "val_loss": val_loss,
        "train_accuracy": train_accuracy,
        "val_accuracy": val_accuracy,
        "early_stop_epoch": result.early_stop_epoch,
        "steps": result.steps,
        "weight_norm_squared": total(model.w ** 2),
        "steps_per_epoch": result.steps_per_epoch,
        "validation_interval": result.validation_interval,
        "early_stopping_patience": result.early_stopping_patience,
    }
