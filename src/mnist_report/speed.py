"""How training runs fast on two cores, kept apart from the math it computes.

Two devices, each numerically the plain expression it replaces (see their docstrings for exactly
in what sense), used by :mod:`mnist_report.models` and :mod:`mnist_report.trainer`:

- :func:`product`: ``A @ B`` in blocks of rows small enough for OpenBLAS's single-threaded
  small-matrix kernel, which leaves the second core free;
- :class:`Validations`: a run's validations on two threads, the caller's and one worker.

``benchmarks/train_speed.py`` measures what they gain; README, Speed, explains it.
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
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
SMALL_PRODUCT = 1_000_000


def row_blocks(M: int, K: int, N: int) -> int:
    """Returns the rows per block for ``product``: the fewest blocks of at most ``SMALL_PRODUCT``
    multiply-adds each (``rows * K * N``), as even as whole blocks of one size allow."""
    most_rows = max(1, SMALL_PRODUCT // (K * N))
    blocks = math.ceil(M / most_rows)
    return math.ceil(M / blocks)


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
    relative; it also varies with the block's number of rows). For N = 10 no sum is split across
    threads, so the bits depend on the shapes alone, not on the thread count or on timing. With
    N = 1 (the binary task) NumPy calls BLAS's matrix-vector product instead, which OpenBLAS
    splits over its threads for large blocks: there, as with a plain ``A @ B``, the bits depend on
    the BLAS thread count too (never on timing).
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

class Validations:
    """Runs the validations of one run on two threads: the caller's and one worker.

    A validation needs ``X w`` for the validation set (10000 x 785) and the training set (20000 x 785).
    Early stopping needs the validation loss at once; nothing needs the training accuracy before the
    run ends. So the two threads share the validation set's product, half each, and the worker then
    computes the training accuracy while the caller's thread goes on with SGD. Every product runs on
    one core (:func:`product`), so the two threads keep both cores busy (the softmax run in
    about half the time of one thread; README, Speed). Deterministic all the same: the split
    depends on the shapes alone, the worker gets its own copy of the weights of the moment, and at
    most one training accuracy is in flight, so they arrive in order. Use as a context manager:
    leaving it normally appends the last training accuracy; leaving it with an exception waits for
    the worker and drops it.
    """

    def __init__(self, model: LinearModel, train_set: Split, val_set: Split, history: History):
        self.model, self.train_set, self.val_set, self.history = model, train_set, val_set, history
        self.pending: Future | None = None  # the latest validation's training accuracy
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="validation")

    def validate(self, step: int) -> None:
        """Appends the validation loss and accuracy of the current weights, after ``step``, to the
        history, and starts computing their training accuracy."""
        self.collect()
        w = self.model.w.copy()
        X_val = self.val_set.X
        half = len(X_val) // 2
        z_val = np.empty((len(X_val), w.shape[1]))
        # The worker's queue: its half of z_val, then the training accuracy.
        their_half = self.worker.submit(product, X_val[half:], w, out=z_val[half:])
        self.pending = self.worker.submit(self.model.accuracy, self.train_set.X, self.train_set.Y, w)
        product(X_val[:half], w, out=z_val[:half])
        their_half.result()
        self.history.val_step.append(step)
        self.history.val_loss.append(self.model.loss_from_logits(z_val, self.val_set.Y))
        self.history.val_accuracy.append(self.model.accuracy_from_logits(z_val, self.val_set.Y))

    def collect(self) -> None:
        """Waits for the training accuracy in flight, if any, and appends it to the history."""
        if self.pending is not None:
            self.history.train_accuracy.append(self.pending.result())
            self.pending = None

    def __enter__(self) -> Validations:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None:
                self.collect()
        finally:
            self.worker.shutdown(wait=True, cancel_futures=True)
