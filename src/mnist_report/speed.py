"""How training runs fast on two cores, kept apart from the math it computes.

Two devices, each numerically the plain expression it replaces (see their docstrings for exactly
in what sense), used by :mod:`mnist_report.models` and :mod:`mnist_report.trainer`:

- :func:`product`: ``A @ B`` in blocks of rows small enough for OpenBLAS's single-threaded
  small-matrix kernel, which leaves the second core free;
- :class:`Validations`: a run's validations on two threads, the caller's and one worker, which
  computes the training accuracies of several validations in one pass over the training set.

``benchmarks/train_speed.py`` measures what they gain; README, Speed, explains it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # type names only: the trainer imports this module
    from mnist_report.data import Split
    from mnist_report.models import LinearModel
    from mnist_report.trainer import History


# ------------------------------------------------------------------------ products in row blocks

#: OpenBLAS multiplies ``(M, K) @ (K, N)`` with its unpacked small-matrix kernel, on the calling
#: thread, when ``M * N * K <= 10**6`` (the SkylakeX kernels this machine's DYNAMIC_ARCH build picks);
#: above that it copies both operands into packed panels and splits the work over every core.
#: Which rows share a block decides the last bit of their sums (the kernel adds a block's last
#: rows in another order than the others), so this number is part of the results: the committed
#: metrics were computed with it.
SMALL_PRODUCT = 1_000_000


def row_blocks(M: int, K: int, N: int) -> int:
    """Returns the rows per block for ``product``: the fewest blocks of at most ``SMALL_PRODUCT``
    multiply-adds each (``rows * K * N``), as even as whole blocks of one size allow."""
    most_rows = max(1, SMALL_PRODUCT // (K * N))
    blocks = math.ceil(M / most_rows)
    return math.ceil(M / blocks)


def row_ranges(M: int, K: int, N: int, start: int = 0) -> list[slice]:
    """Returns the blocks of rows that ``product`` multiplies for an ``(M, K) @ (K, N)`` product, in
    order, as slices of rows counted from ``start``: ``row_blocks(M, K, N)`` rows each, the last one
    shorter. ``A[block] @ B`` for each block is ``product(A, B)[block]`` to the bit."""
    rows = row_blocks(M, K, N) if M else 1
    return [slice(start + first, start + min(first + rows, M)) for first in range(0, M, rows)]


def product(A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Returns ``A @ B``   (M, K) @ (K, N) -> (M, N), computed in blocks of ``row_blocks(M, K, N)``
    rows of ``A`` (the last one shorter) small enough for BLAS's unpacked kernel; written into ``out``
    (M, N) if given, else into a new C-contiguous array.

    Why: with N = 10 outputs, packing costs as much as multiplying, so the unpacked kernel on one
    core is as fast as the packed one on two (9.9 vs 9.3 ms for the 20000 x 785 training set, 46 vs
    55 us for a 128-row batch). That leaves the second core free for the trainer's second thread
    (:class:`Validations`). The blocks are one stacked ``matmul`` call, which releases the GIL once.
    Exact in the sense that matters: each element is still one K-term dot product within one call;
    only the kernel's order of additions differs from a single ``A @ B`` (last bit, <= ~3e-15
    relative; it also varies with the block's number of rows and a row's place in its block). For
    N = 10 no sum is split across threads, so the bits depend on the shapes alone, not on the thread
    count or on timing. With N = 1 (the binary task) NumPy calls BLAS's matrix-vector product
    instead, which OpenBLAS splits over its threads for large blocks: there, as with a plain
    ``A @ B``, the bits depend on the BLAS thread count too (never on timing).
    """
    (M, K), N = A.shape, B.shape[1]
    if out is None:
        out = np.empty((M, N))
    elif out.shape != (M, N):
        raise ValueError(f"product: out has shape {out.shape}, expected {(M, N)}")
    if M == 0 or K * N == 0:
        out[...] = 0.0
        return out
    rows = row_blocks(M, K, N)
    stacked = (M // rows) * rows
    # Splitting axis 0 into (blocks, rows) is always a view, of A (X or X^T) as of out, so the
    # products land in out; the shorter last block, if any, is one more call.
    np.matmul(A[:stacked].reshape(-1, rows, K), B, out=out[:stacked].reshape(-1, rows, N))
    if stacked < M:
        np.matmul(A[stacked:], B, out=out[stacked:])
    return out


# --------------------------------------------------------------------- validations on two threads

#: How many weight matrices one pass over a data set multiplies. Each block of the set (800 kB,
#: which stays in the core's 2 MB L2 cache) is multiplied by every weight matrix of the pass before
#: the next block is read: one pass over the 125 MB training set (63 MB validation set) per group
#: instead of one per validation. Measured on the Intel Xeon (AVX-512, 2 cores), training set, per
#: weight matrix: 14.6 ms alone, 10.3 for 2, 8.8 for 3, 8.5 for 4, 8.2 for 5, 7.9 for 8 (6.3 with the
#: block always in cache); with other work on the machine, 9.0 for 4, 8.5 for 8, 7.9 for 16. A pass
#: for training accuracies waits until FEWEST_WEIGHTS_PER_PASS are waiting (any number at the end of
#: the run): until then the worker helps with the validation set; a worker that falls behind
#: catches up in larger passes.
FEWEST_WEIGHTS_PER_PASS = 4
MOST_WEIGHTS_PER_PASS = 16


@dataclass(eq=False)
class Pass:
    """One pass over a data set ``X`` (N, 785): ``logits[j] = X w_j`` (N, K) for each weight matrix,
    filled block by block (``blocks``, the row ranges of :func:`product`), by either thread."""

    X: np.ndarray
    blocks: list[slice]
    weights: np.ndarray  # (number of weight matrices, 785, K), stacked
    logits: np.ndarray  # (len(weights), N, K)
    todo: list[int]  # indices of the blocks not yet taken, the next last
    unfinished: int  # blocks not yet done
    training: bool  # a pass over the training set, for accuracies (else over the validation set)
    accuracies: list[float] | None = None  # training passes: once every block is done

    @classmethod
    def over(cls, X: np.ndarray, blocks: list[slice], weights: list[np.ndarray], training: bool) -> Pass:
        todo = list(range(len(blocks)))[::-1]
        logits = np.empty((len(weights), len(X), weights[0].shape[1]))
        return cls(X, blocks, np.stack(weights), logits, todo, len(todo), training)


class Validations:
    """Computes the validations of one run on two threads, the caller's and one worker, in groups.

    A validation needs ``z = X w`` for the validation set (10000 x 785) and the training set
    (20000 x 785): two passes over 190 MB, which memory bandwidth limits. :meth:`validate` only
    copies the weights; their figures are computed later, several weight matrices per pass (:class:`Pass`):

    - validation loss and accuracy, by both threads, when :meth:`flush` asks for them: at the end of
      each epoch, when ``MOST_WEIGHTS_PER_PASS`` wait, and whenever early stopping could end the run
      on the validation losses known so far (the trainer's ``could_stop_early``); so early stopping
      decides at the step of its validation, on exact figures, as if each validation came at once;
    - training accuracy, which nothing needs before the run ends: by the worker while the caller's
      thread goes on with SGD, in passes of ``FEWEST_WEIGHTS_PER_PASS`` to ``MOST_WEIGHTS_PER_PASS``
      weight matrices; the worker takes validation blocks first, since the caller waits for them.

    Deterministic all the same, to the bit: every block is the same ``matmul`` call, with the same
    rows, as in :func:`product` (of each half of the validation set, the split of earlier versions;
    of the whole training set), whichever thread runs it and whenever; the grouping into passes
    depends on timing, no number does. Each figure is the model's expression on the whole set's
    logits, and reaches the history in the order of the validations. Every product runs on one core,
    so the two threads keep both cores busy. Use as a context manager: leaving it normally finishes
    every figure (both threads) and appends it to the history; leaving it with an exception stops the
    worker after its current block and drops what is not done. An exception on the worker is raised
    on the caller's thread when it next waits for the worker, flushes or leaves.
    """

    def __init__(self, model: LinearModel, train_set: Split, val_set: Split, history: History):
        self.model, self.train_set, self.val_set, self.history = model, train_set, val_set, history
        K, N = model.w.shape
        num_val, half = len(val_set.X), len(val_set.X) // 2
        self.val_blocks = row_ranges(half, K, N) + row_ranges(num_val - half, K, N, start=half)
        self.train_blocks = row_ranges(len(train_set.X), K, N)
        self.val_waiting: list[tuple[int, np.ndarray]] = []  # (step, weights) without validation figures yet
        self.changed = threading.Condition()  # guards everything below; notified on every change
        self.val_pass: Pass | None = None  # the validation pass the caller waits for, if any
        self.train_waiting: list[np.ndarray] = []  # weights whose training accuracy no pass has taken yet
        self.train_passes: list[Pass] = []  # in order; a pass leaves when its accuracies reach the history
        self.error: BaseException | None = None  # the worker's, raised on the caller's thread
        self.finishing = False  # the run has ended: training passes take any number of weights
        self.closing = False
        self.worker = threading.Thread(target=self.work, name="validation", daemon=True)
        self.worker.start()

    # ---- the caller's side

    @property
    def pending(self) -> int:
        """The number of validations whose validation loss is not in the history yet."""
        return len(self.val_waiting)

    def validate(self, step: int) -> None:
        """Queues the validation of the current weights, after ``step``: a copy of them."""
        w = self.model.w.copy()
        self.val_waiting.append((step, w))
        with self.changed:
            self.train_waiting.append(w)
            self.changed.notify_all()
        if len(self.val_waiting) >= MOST_WEIGHTS_PER_PASS:
            self.flush()

    def flush(self) -> None:
        """Computes the validation loss and accuracy of every queued validation, on both threads, and
        appends them (and the training accuracies done so far) to the history."""
        if self.val_waiting:
            steps, weights = zip(*self.val_waiting)
            self.val_waiting.clear()
            val_pass = Pass.over(self.val_set.X, self.val_blocks, list(weights), training=False)
            with self.changed:
                self.raise_worker_error()
                self.val_pass = val_pass
                self.changed.notify_all()
            self.help_until(lambda: val_pass.unfinished == 0, training_too=False)
            with self.changed:
                self.val_pass = None
            for step, z_val in zip(steps, val_pass.logits):
                self.history.val_step.append(step)
                self.history.val_loss.append(self.model.loss_from_logits(z_val, self.val_set.Y))
                self.history.val_accuracy.append(self.model.accuracy_from_logits(z_val, self.val_set.Y))
        with self.changed:
            self.collect()

    def finish(self) -> None:
        """Computes every figure still queued, on both threads, and appends it to the history."""
        self.flush()
        with self.changed:
            self.finishing = True
            self.changed.notify_all()
        self.help_until(lambda: not self.train_waiting and all(p.accuracies is not None for p in self.train_passes),
                        training_too=True)
        with self.changed:
            self.raise_worker_error()  # one the worker met after the last block it finished
            self.collect()

    def help_until(self, done: Callable[[], bool], training_too: bool) -> None:
        """Runs blocks on the caller's thread (validation blocks; training blocks too if
        ``training_too``) until ``done()``, waiting for the worker when no block is left to take."""
        while True:
            with self.changed:
                task = None
                while not done():
                    self.raise_worker_error()
                    task = self.take(training_too)
                    if task is not None:
                        break
                    self.changed.wait()
                if task is None:
                    return
            self.run(*task)

    def collect(self) -> None:
        """(Under the lock.) Appends the training accuracies of the finished passes to the history,
        in order."""
        while self.train_passes and self.train_passes[0].accuracies is not None:
            self.history.train_accuracy.extend(self.train_passes.pop(0).accuracies)

    def raise_worker_error(self) -> None:
        if self.error is not None:
            raise self.error

    # ---- the worker's side

    def work(self) -> None:
        """The worker's loop: takes blocks (validation first) until the run closes."""
        try:
            while True:
                with self.changed:
                    task = None
                    while not self.closing:
                        task = self.take(training_too=True)
                        if task is not None:
                            break
                        self.changed.wait()
                if task is None:  # closing
                    return
                self.run(*task)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread, which raises it
            with self.changed:
                self.error = error
                self.changed.notify_all()

    # ---- the blocks, on either thread

    def take(self, training_too: bool) -> tuple[Pass, int] | None:
        """(Under the lock.) Returns the next block to run, as (pass, block index), or None: a block of
        the validation pass if any; else, if ``training_too``, a block of the latest training pass,
        starting a new one once every block of the latest is taken, if enough weights are waiting."""
        if self.val_pass is not None and self.val_pass.todo:
            return self.val_pass, self.val_pass.todo.pop()
        if not training_too:
            return None
        latest = self.train_passes[-1] if self.train_passes else None
        enough = len(self.train_waiting) >= (1 if self.finishing else FEWEST_WEIGHTS_PER_PASS)
        if (latest is None or not latest.todo) and enough:
            # The pass first, then the weights off the queue: if making it fails (memory), the weights
            # are still waiting, so finish() cannot take an empty queue for a finished one.
            latest = Pass.over(self.train_set.X, self.train_blocks, self.train_waiting[:MOST_WEIGHTS_PER_PASS],
                               training=True)
            del self.train_waiting[:MOST_WEIGHTS_PER_PASS]
            self.train_passes.append(latest)
            if not latest.todo:  # no training samples (train() refuses them): nothing to wait for
                latest.accuracies = [self.model.accuracy_from_logits(z, self.train_set.Y) for z in latest.logits]
        if latest is not None and latest.todo:
            return latest, latest.todo.pop()
        return None

    def run(self, this_pass: Pass, index: int) -> None:
        """Runs one block taken by ``take`` (without the lock, so that the other thread goes on) and
        records that it is done; the thread that does a training pass's last block computes its
        accuracies."""
        rows = this_pass.blocks[index]
        # One stacked matmul: the block times each weight matrix, one BLAS call each (the calls of
        # product() on this block), with the GIL released once for all of them rather than once per
        # weight matrix; the other thread's Python holds it in between.
        np.matmul(this_pass.X[rows], this_pass.weights, out=this_pass.logits[:, rows])
        with self.changed:
            this_pass.unfinished -= 1
            last = this_pass.training and this_pass.unfinished == 0
            self.changed.notify_all()
        if last:
            accuracies = [self.model.accuracy_from_logits(z, self.train_set.Y) for z in this_pass.logits]
            with self.changed:
                this_pass.accuracies = accuracies
                this_pass.logits = this_pass.logits[:0]  # let the logits go: a finished pass waits for collect
                self.changed.notify_all()

    # ---- the context

    def __enter__(self) -> Validations:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None:
                self.finish()
        finally:
            with self.changed:
                self.closing = True
                self.changed.notify_all()
            self.worker.join()
