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

#: How many validations' training accuracies one pass over the training set computes: it starts
#: once FEWEST_WEIGHTS_PER_PASS weight matrices wait (any number at the end of the run) and takes at
#: most MOST_WEIGHTS_PER_PASS. Each block of the training set (800 kB, which stays in the core's
#: 2 MB L2 cache) is multiplied by every weight matrix of the pass before the next block is read:
#: one pass over the 125 MB set per group instead of one per validation. Measured on the Intel Xeon
#: (AVX-512, 2 cores), per validation: 14.6 ms alone, 10.3 for 2, 8.8 for 3, 8.5 for 4, 8.2 for 5,
#: 7.9 for 8 (6.3 with the block always in cache). Until enough wait, the worker helps with the
#: validation sets' blocks instead of making small passes.
FEWEST_WEIGHTS_PER_PASS = 4
MOST_WEIGHTS_PER_PASS = 8


@dataclass(eq=False)
class Pass:
    """One pass over the training set: the training accuracies of up to ``MOST_WEIGHTS_PER_PASS``
    validations. ``logits[j]`` (N, K) is ``X w_j``, filled block by block."""

    weights: list[np.ndarray]
    logits: np.ndarray  # (len(weights), N, K)
    todo: list[int]  # indices of the blocks not yet taken, the next last
    unfinished: int  # blocks not yet done
    accuracies: list[float] | None = None  # once every block is done


class Validations:
    """Runs the validations of one run on two threads: the caller's and one worker.

    A validation needs ``z = X w`` for the validation set (10000 x 785) and the training set
    (20000 x 785). Early stopping needs the validation loss at once; nothing needs the training
    accuracy before the run ends. So:

    - the validation set's product is cut into the blocks of :func:`product` on each half of it
      (:func:`row_ranges`), and both threads take blocks until none is left;
    - the validation's weights (a copy) then wait for their training accuracy, which the worker
      computes in passes (:class:`Pass`) over the training set: a pass takes the weight matrices
      waiting (``FEWEST_WEIGHTS_PER_PASS`` to ``MOST_WEIGHTS_PER_PASS``) and multiplies each block
      of the training set by each of them in turn, while the caller's thread goes on with SGD. The worker takes validation
      blocks first, between the blocks of a pass, since the caller waits for them.

    Deterministic all the same, to the bit: every block is the same ``matmul`` call, with the same
    rows, as in :func:`product`, whichever thread runs it and whenever (the grouping into passes
    depends on timing; no number does), and each accuracy is ``accuracy_from_logits`` of the whole
    set's logits; the accuracies reach the history in the order of their validations. Every product
    runs on one core, so the two threads keep both cores busy. Use as a context manager: leaving it
    normally finishes the training accuracies (the caller's thread helps) and appends them to the
    history; leaving it with an exception stops the worker after its current block and drops them.
    An exception on the worker is raised on the caller's thread at its next validation or on leaving.
    """

    def __init__(self, model: LinearModel, train_set: Split, val_set: Split, history: History):
        self.model, self.train_set, self.val_set, self.history = model, train_set, val_set, history
        K, N = model.w.shape
        num_val, half = len(val_set.X), len(val_set.X) // 2
        # The blocks of product() on each half of the validation set (the split of earlier versions,
        # which decides the bits of the validation losses).
        self.val_blocks = row_ranges(half, K, N) + row_ranges(num_val - half, K, N, start=half)
        self.train_blocks = row_ranges(len(train_set.X), K, N)
        self.changed = threading.Condition()  # guards everything below; notified on every change
        self.val_todo: list[tuple[slice, np.ndarray, np.ndarray]] = []  # (rows, w, z_val) not yet taken
        self.val_unfinished = 0  # blocks of the current validation not yet done
        self.waiting: list[np.ndarray] = []  # weights whose training accuracy no pass has taken yet
        self.passes: list[Pass] = []  # in order; a pass leaves when its accuracies reach the history
        self.error: BaseException | None = None  # the worker's, raised on the caller's thread
        self.finishing = False  # the run has ended: passes take any number of weights
        self.closing = False
        self.worker = threading.Thread(target=self.work, name="validation", daemon=True)
        self.worker.start()

    # ---- the caller's side

    def validate(self, step: int) -> None:
        """Appends the validation loss and accuracy of the current weights, after ``step``, to the
        history, and queues their training accuracy."""
        w = self.model.w.copy()
        z_val = np.empty((len(self.val_set.X), w.shape[1]))
        with self.changed:
            self.raise_worker_error()
            self.val_todo = [(rows, w, z_val) for rows in self.val_blocks]
            self.val_unfinished = len(self.val_todo)
            self.changed.notify_all()
        self.help_until(lambda: self.val_unfinished == 0, training_too=False)
        self.history.val_step.append(step)
        self.history.val_loss.append(self.model.loss_from_logits(z_val, self.val_set.Y))
        self.history.val_accuracy.append(self.model.accuracy_from_logits(z_val, self.val_set.Y))
        with self.changed:
            self.waiting.append(w)
            self.collect()
            self.changed.notify_all()

    def finish(self) -> None:
        """Computes the training accuracies still waiting or in a pass, on both threads, and appends
        them to the history."""
        with self.changed:
            self.finishing = True
            self.changed.notify_all()
        self.help_until(lambda: not self.waiting and all(p.accuracies is not None for p in self.passes),
                        training_too=True)
        with self.changed:
            self.collect()

    def help_until(self, done: Callable[[], bool], training_too: bool) -> None:
        """Runs blocks on the caller's thread (validation blocks; pass blocks too if ``training_too``)
        until ``done()``, waiting for the worker when no block is left to take."""
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
            self.run(task)

    def collect(self) -> None:
        """(Under the lock.) Appends the training accuracies of the finished passes to the history,
        in order."""
        while self.passes and self.passes[0].accuracies is not None:
            self.history.train_accuracy.extend(self.passes.pop(0).accuracies)

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
                self.run(task)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread, which raises it
            with self.changed:
                self.error = error
                self.changed.notify_all()

    # ---- the blocks, on either thread

    def take(self, training_too: bool) -> tuple | None:
        """(Under the lock.) Returns the next block to run, or None: a validation block if any;
        else, if ``training_too``, a block of the latest pass, starting a new pass once every block
        of the latest is taken, if enough weights are waiting."""
        if self.val_todo:
            return ("validation", *self.val_todo.pop())
        if not training_too:
            return None
        enough = len(self.waiting) >= (1 if self.finishing else FEWEST_WEIGHTS_PER_PASS)
        if (not self.passes or not self.passes[-1].todo) and enough:
            weights = self.waiting[:MOST_WEIGHTS_PER_PASS]
            del self.waiting[:MOST_WEIGHTS_PER_PASS]
            logits = np.empty((len(weights), len(self.train_set.X), weights[0].shape[1]))
            todo = list(range(len(self.train_blocks)))[::-1]
            self.passes.append(Pass(weights, logits, todo, unfinished=len(todo)))
            if not todo:  # no training samples (train() refuses them): nothing to wait for
                self.passes[-1].accuracies = [self.model.accuracy_from_logits(z, self.train_set.Y) for z in logits]
        if self.passes and self.passes[-1].todo:
            latest = self.passes[-1]
            return ("training", latest, latest.todo.pop())
        return None

    def run(self, task: tuple) -> None:
        """Runs one block taken by ``take`` (without the lock, so that the other thread goes on) and
        records that it is done; the thread that does a pass's last block computes its accuracies."""
        kind, *arguments = task
        if kind == "validation":
            rows, w, z_val = arguments
            np.matmul(self.val_set.X[rows], w, out=z_val[rows])
            with self.changed:
                self.val_unfinished -= 1
                self.changed.notify_all()
            return
        this_pass, index = arguments
        rows = self.train_blocks[index]
        X = self.train_set.X[rows]
        for w, z in zip(this_pass.weights, this_pass.logits):
            np.matmul(X, w, out=z[rows])
        with self.changed:
            this_pass.unfinished -= 1
            last = this_pass.unfinished == 0
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
