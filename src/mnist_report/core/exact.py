"""Arithmetic whose every bit is fixed by IEEE 754's ``+ - * /`` alone: the one seam between the
plain models (:mod:`mnist_report.core.models`) and the machine.

What else would decide the last bits of a run, and what this module does instead:

- a BLAS adds a dot product's terms in an order (and with fused multiply-adds) that depends on its
  kernel, the CPU and the thread count. :class:`Inputs` holds the data as small integers and
  multiplies them by weights cut into two slices of few bits (Ozaki's error-free splitting; Rump,
  Ogita and Oishi): every partial sum of every slice's product is an integer below ``2**53``, so
  exact, in whatever order a BLAS adds; the two slices are then added in a fixed order;
- NumPy's ``exp`` and ``log`` take other code paths (other last bits) on AVX-512, AVX2 and older
  CPUs, and across NumPy versions. :func:`exp`, :func:`log` and :func:`log1p` are fdlibm's
  algorithms (Sun's freely distributable libm, the one Java's ``StrictMath`` uses for the same
  reason), written with NumPy's elementwise ``+ - * /``, ``rint``, ``frexp`` and ``ldexp``, each
  correctly rounded or exact on every CPU; within 1 ulp of the true value (tests check it
  against mpmath);
- NumPy's sums pick their order by array layout and version. :func:`total` is ``math.fsum``
  (correctly rounded, so order-free); :func:`row_sum` adds columns in a fixed order.

Speed: :func:`argmax_rows`, for the training accuracies, multiplies in single precision and
re-computes exactly only the rows whose two largest logits are closer than a rigorous bound on
the single-precision error: the same classes as the exact logits, at a sixth of the cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

# ------------------------------------------------------------------------------------ products


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Runs the BLAS on one thread inside the block (restored after it).

    Why: a BLAS that splits the 128-row products of SGD over its threads gains little on an idle
    machine and loses 10-50x on a busy one, where its threads wait for each other; the SGD loop keeps
    the second core busy with the validations instead. The bits are the same either way."""
    with ThreadpoolController().limit(limits=1, user_api="blas"):
        yield


def slice_bits(terms: int, bound: float) -> int:
    """Returns ``b`` such that a dot product of ``terms`` integers of magnitude <= ``bound`` with
    integers of magnitude <= ``2**b`` has every partial sum below ``2**52``: exact in float64 in any
    order, with or without fused multiply-adds. ``b = 52 - ceil(log2(terms * bound))``."""
    return 52 - (max(1, math.ceil(terms * bound)) - 1).bit_length()


def split(B: np.ndarray, bits: int, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns ``(high, low, e)``: integer-valued arrays with ``|high| <= 2**bits``,
    ``|low| <= 2**(bits - 1)`` and ``B ~= (high + low * 2**-bits) * 2**(e - bits)`` column by column,
    where ``2**e[k]`` (an int array, (N,)) exceeds the largest ``|B[:, k]|``; what is dropped is below
    ``2**(e - 2 bits - 1)`` per element. Scaling by a power of two is exact and ``rint`` rounds to an
    integer, so the slices are the same bits everywhere (the error-free splitting of Ozaki's scheme).
    ``out`` (K, 2N), if given, receives ``[high low]`` side by side."""
    top = np.max(np.abs(B), axis=0) if B.shape[0] else np.zeros(B.shape[1])
    e = np.frexp(np.where(np.isfinite(top), top, 0.0))[1]  # top < 2**e; 0 for an all-zero column
    N = B.shape[1]
    if out is None:
        out = np.empty((B.shape[0], 2 * N))
    high, low = out[:, :N], out[:, N:]
    scaled = np.ldexp(B, bits - e)  # |scaled| < 2**bits
    np.rint(scaled, out=high)
    scaled -= high  # exact, |.| <= 1/2
    np.rint(np.ldexp(scaled, bits, out=scaled), out=low)
    return high, low, e


def exact_products(A: np.ndarray, Bs: list[np.ndarray], bound: float) -> list[np.ndarray]:
    """Returns ``[A @ B for B in Bs]``   (M, K) @ (K, N) -> (M, N) for an integer-valued ``A`` with
    ``|A| <= bound``, the same bits with every BLAS, kernel and thread count.

    Each ``B`` is split (:func:`split`) into two integer slices of ``b = slice_bits(K, bound)`` bits;
    ``A @ [high low ...]`` is one BLAS call for all of them, whose every sum is exact; each result is
    ``(P_high + P_low * 2**-b) * 2**(e - b)``: one rounding (the addition) and exact scalings. It is
    the correctly rounded ``A @ B~``, where ``B~`` is ``B`` to ``2 b`` bits below the largest element
    of its column (68 bits for the 785 inputs, 74 for a 128-row batch): as accurate as a float64
    product can be.
    Several ``B`` in one call read ``A`` once: the validation and training sets are large.
    """
    bits = slice_bits(A.shape[1], bound)
    with np.errstate(invalid="ignore", over="ignore"):  # a non-finite B gives a non-finite result
        slices = np.empty((A.shape[1], sum(2 * B.shape[1] for B in Bs)))
        exponents, first = [], 0
        for B in Bs:
            exponents.append(split(B, bits, out=slices[:, first:first + 2 * B.shape[1]])[2])
            first += 2 * B.shape[1]
        P = A @ slices
        results, first = [], 0
        for B, e in zip(Bs, exponents):
            N = B.shape[1]
            result = np.ldexp(P[:, first + N:first + 2 * N], -bits)
            result += P[:, first:first + N]
            results.append(np.ldexp(result, e - bits, out=result))
            first += 2 * N
        return results


def exact_product(A: np.ndarray, B: np.ndarray, bound: float) -> np.ndarray:
    """Returns ``A @ B`` exactly as :func:`exact_products` does, for one ``B``."""
    return exact_products(A, [B], bound)[0]


class Inputs:
    """A data set's inputs ``X = values / scale``   (n, K): ``values`` integer-valued float64 with
    ``|values| <= bound``. ``X @ w`` and ``X.T @ r`` are exact products (:func:`exact_product`)
    divided by ``scale``: the same bits on every machine. ``X[rows]`` is the inputs of those rows."""

    def __init__(self, values: np.ndarray, scale: float, bound: float | None = None):
        self.values = values
        self.scale = float(scale)
        self.bound = float(np.max(np.abs(values))) if bound is None and values.size else float(bound or 0.0)
        self._single: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, rows) -> Inputs:
        picked = self.values[rows] if isinstance(rows, slice) else np.take(self.values, rows, axis=0)
        return Inputs(picked, self.scale, self.bound)

    def __matmul__(self, w: np.ndarray) -> np.ndarray:
        """``X w``   (n, K) @ (K, N) -> (n, N)."""
        return exact_product(self.values, w, self.bound) / self.scale

    def times_each(self, weights: list[np.ndarray]) -> list[np.ndarray]:
        """Returns ``[X @ w for w in weights]``, the same bits, reading ``X`` once."""
        return [z / self.scale for z in exact_products(self.values, weights, self.bound)]

    @property
    def T(self) -> _Transposed:
        """``X^T``, for ``X.T @ r``   (K, n) @ (n, N) -> (K, N)."""
        return _Transposed(self)

    def as_floats(self) -> np.ndarray:
        """Returns ``values / scale`` as a plain float64 array (for comparisons and baselines)."""
        return self.values / self.scale

    def single(self) -> np.ndarray:
        """Returns ``values`` in float32 (exact: small integers), made once and kept."""
        if self._single is None:
            self._single = self.values.astype(np.float32)
        return self._single


class _Transposed:
    def __init__(self, inputs: Inputs):
        self.inputs = inputs

    def __matmul__(self, r: np.ndarray) -> np.ndarray:
        return exact_product(self.inputs.values.T, r, self.inputs.bound) / self.inputs.scale


#: The unit roundoff of float32 and the smallest normal float32.
_U32 = 2.0 ** -24
_TINY32 = 2.0 ** -126


def single_precision_error(X: Inputs, w: np.ndarray) -> np.ndarray:
    """Returns ``E_k``   (N,): a bound on ``|values32 @ w32 - values @ w|`` for every row of column
    ``k``, whatever the BLAS does: ``gamma_(K+1) bound ||w_k||_1 + K bound 2**-126`` (Higham, Accuracy
    and Stability, 3.1: ``gamma_m = m u / (1 - m u)``, ``u = 2**-24``; the rounding of ``w`` to float32
    is the extra term of ``K + 1``, underflow the last)."""
    K = X.shape[1]
    m = (K + 1) * _U32
    return (m / (1 - m)) * X.bound * np.sum(np.abs(w), axis=0) + K * X.bound * _TINY32


def argmax_rows(X: Inputs, weights: list[np.ndarray]) -> list[np.ndarray]:
    """Returns, for each ``w`` of ``weights``, ``argmax_k (X @ w)[n, k]`` for each row (n,): the classes
    of the exact logits (ties to the lowest ``k``), computed mostly in single precision, with one
    product for all of them.

    ``z32 = values32 @ w32`` differs from ``values @ w`` by at most :func:`single_precision_error`
    ``E_k`` per element (``Sum_i |values_i| |w_ik| <= bound ||w_k||_1``). A row whose largest ``z32`` exceeds the second by
    more than ``4 max_k E_k`` has the same largest exact logit (with room for the exact logits' own
    rounding); the other rows (and any non-finite one) are computed exactly.
    """
    n = len(X)
    # Class-major (N, n) per weight matrix: the reductions over the classes are then elementwise.
    # Weights beyond float32's range give inf or NaN there: those rows are computed exactly below.
    with np.errstate(over="ignore", invalid="ignore"):
        stacked = np.concatenate([w.astype(np.float32) for w in weights], axis=1).T @ X.single().T
    columns = np.arange(n)
    results, first = [], 0
    for w in weights:
        N = w.shape[1]
        z32 = stacked[first:first + N]
        first += N
        # The largest bound of a column: the top must exceed every other logit by twice two of them.
        E = float(np.max(single_precision_error(X, w)))
        top = np.max(z32, axis=0)
        predicted = np.zeros(n, dtype=np.intp)
        for k in range(1, N):  # a class at the top (of two there, either: a tie is unsure below)
            predicted[z32[k] == top] = k
        z32[predicted, columns] = -np.inf
        second = np.max(z32, axis=0)
        # float32 to float64 and the difference of two of them: exact. An inf in single precision
        # (an overflow of some partial sum) says nothing of the exact order: such rows are unsure.
        top64, second64 = top.astype(np.float64), second.astype(np.float64)
        unsure = ~(np.isfinite(top64) & np.isfinite(second64) & (top64 - second64 > 4 * E))  # NaN too
        if unsure.any():
            which = np.flatnonzero(unsure)
            predicted[which] = np.argmax(X[which] @ w, axis=1)
        results.append(predicted)
    return results


# ------------------------------------------------------------------------------- sums


def total(values: np.ndarray) -> float:
    """Returns ``Sum values``, correctly rounded (``math.fsum``): the same for every order of the terms."""
    return math.fsum(values.ravel().tolist())


def row_sum(A: np.ndarray) -> np.ndarray:
    """Returns ``Sum_k A[:, k]``   (n, K) -> (n, 1), in a fixed order: the left half of the columns
    plus the right half, again and again (an odd last column joins the first), so ``log2 K`` NumPy
    calls instead of ``K - 1``."""
    total = A
    while total.shape[1] > 1:
        half = total.shape[1] // 2
        paired = total[:, :half] + total[:, half:2 * half]
        if total.shape[1] % 2:
            paired[:, :1] += total[:, 2 * half:]
        total = paired
    return total if total is not A else A.copy()


# ----------------------------------------------------------------- elementary functions (fdlibm)

_LN2_HI = 6.93147180369123816490e-01  # ln 2's leading 32 bits: k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700e+00
# e_exp.c: R(r^2) ~ r (e^r + 1)/(e^r - 1) - 2 on [-ln2/2, ln2/2], error < 2**-59.
_EXP_P = (1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
          -1.65339022054652515390e-06, 4.13813679705723846039e-08)
#: exp overflows above this and is 0 below _EXP_UNDERFLOW.
_EXP_OVERFLOW = 7.09782712893383973096e+02
_EXP_UNDERFLOW = -7.45133219101941108420e+02


def exp(x: np.ndarray) -> np.ndarray:
    """Returns ``e^x`` elementwise (fdlibm's e_exp.c): ``x = k ln2 + r``, ``|r| <= ln2/2``, then
    ``e^r = 1 - ((lo - r c / (2 - c)) - hi)`` with ``c = r - r^2 P(r^2)``, ``P`` of degree 4,
    scaled by ``2^k``; ``inf`` above ``709.78``, ``0`` below ``-745.13``. < 1 ulp."""
    x = np.clip(x, _EXP_UNDERFLOW - 1, _EXP_OVERFLOW + 1)  # a new array: the steps below work in place
    with np.errstate(invalid="ignore", over="ignore"):  # NaN stays NaN; beyond the bounds, inf or 0
        k = np.rint(x * _INV_LN2)
        hi = np.multiply(k, -_LN2_HI)
        hi += x  # x - k ln2_hi, exact
        lo = k * _LN2_LO
        r = hi - lo
        t = r * r
        c = t * _EXP_P[4]
        for coefficient in _EXP_P[3::-1]:
            c += coefficient
            c *= t
        np.subtract(r, c, out=c)  # c = r - t P(t)
        y = np.multiply(r, c)
        np.subtract(2.0, c, out=c)
        y /= c
        np.subtract(lo, y, out=y)
        y -= hi
        np.subtract(1.0, y, out=y)
        return np.ldexp(y, k.astype(np.int32), out=y)  # 2^k exactly: k < 1026 in magnitude after the clip


# e_log.c: R(s) ~ (log(1+f) - 2s)/s ... as a polynomial in s^2 on [0, 0.1716^2], error < 2**-58.45.
_LOG_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
           2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
           1.479819860511658591e-01)
_SQRT_HALF = 0.70710678118654752440


def _log_reduced(f: np.ndarray, k: np.ndarray, correction: np.ndarray | float) -> np.ndarray:
    """Returns ``k ln2 + log(1 + f) + correction`` for ``sqrt(1/2) <= 1 + f < sqrt 2`` (fdlibm)."""
    s = f / (2.0 + f)
    z = s * s
    R = z * _LOG_LG[6]
    for coefficient in _LOG_LG[5::-1]:
        R += coefficient
        R *= z
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + R) + (k * _LN2_LO + correction))) - f)


def _reduce(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(m, k)`` with ``u = m 2^k`` and ``sqrt(1/2) <= m < sqrt 2`` (exact), for ``u > 0``."""
    m, k = np.frexp(u)  # m in [1/2, 1)
    low = m < _SQRT_HALF
    m = np.where(low, m * 2.0, m)
    k = np.where(low, k - 1, k).astype(np.float64)
    return m, k


def log(x: np.ndarray) -> np.ndarray:
    """Returns ``ln x`` elementwise for ``x > 0`` (fdlibm's e_log.c): ``x = 2^k (1 + f)``, then
    ``ln(1 + f) = 2 atanh(f / (2 + f))`` from a polynomial. ``ln 0 = -inf``; < 1 ulp."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        m, k = _reduce(x)
        result = _log_reduced(m - 1.0, k, 0.0)  # m - 1 is exact (Sterbenz)
    if x.size and 0 < x.min() and x.max() < np.inf:  # the usual case: every x positive and finite
        return result
    result = np.where(x == 0, -np.inf, result)
    result = np.where(x < 0, np.nan, result)
    return np.where(x == np.inf, np.inf, result)


def log1p(x: np.ndarray) -> np.ndarray:
    """Returns ``ln(1 + x)`` elementwise for ``x > -1`` (fdlibm's s_log1p.c): ``u = 1 + x`` rounded,
    reduced as in :func:`log`, with ``c = (x - (u - 1)) / u`` (what rounding ``1 + x`` lost) added
    back; ``x`` itself where ``1 + x`` rounds to 1. < 1 ulp."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = 1.0 + x
        m, k = _reduce(u)
        # What rounding 1 + x lost, relative to u: x - (u - 1), exact while x <= 2 (Fast2Sum; for a
        # larger x the correction is below the result's last bit: fdlibm's 1 - (u - x) branch for
        # x > 1 gives the same bits).
        lost = x - (u - 1.0)
        correction = np.where(k == 0, 0.0, lost / u)
        # For k = 0 the reduced argument is x itself (1 + f = 1 + x, no rounding to correct).
        f = np.where(k == 0, x, m - 1.0)
        result = _log_reduced(f, k, correction)
    result = np.where(u == 1.0, x, result)
    result = np.where(x == -1.0, -np.inf, result)
    result = np.where(x < -1.0, np.nan, result)
    return np.where(x == np.inf, np.inf, result)
