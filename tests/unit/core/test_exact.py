"""mnist_report.core.exact against independent references: mpmath for ``exp``, ``log`` and ``log1p``;
Python integers and fractions (exact, then one correct rounding) for the products and sums; the
argmax of the exact logits for :func:`argmax_rows`. And the properties the same bytes rest on: the
bits do not depend on the order of the terms, the blocks of rows, the BLAS thread count or the
array's layout; and the plain NumPy operations that these replace do depend on them (so a core
that fell back to a plain ``@`` or ``np.sum`` fails here)."""

from __future__ import annotations

import itertools
import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from mnist_report.core import exact
from mnist_report.core.exact import (
    Inputs,
    argmax_rows,
    exact_product,
    exact_products,
    exp,
    log,
    log1p,
    one_blas_thread,
    row_sum,
    slice_bits,
    split,
    total,
)

#: The data's own inputs: integers 2p - 255 and the bias 255, over 255 (mnist_report.mnist.data).
BOUND = 255.0
PRECISION = 120  # bits of mpmath's reference values (>= 100)


def pixel_values(rng, rows, columns):
    """Integer-valued inputs as the data has them: ``2p - 255`` for random pixels p, the bias 255 last."""
    return np.concatenate([2.0 * rng.integers(0, 256, (rows, columns - 1)) - 255, np.full((rows, 1), BOUND)],
                          axis=1)


# ------------------------------------------------------------------------- exp, log, log1p


def ulp_of(true: mpmath.mpf) -> mpmath.mpf:
    """The spacing of the float64 numbers around the real number ``true`` (in the binade of |true|
    itself, not of its rounding; 2**-1074 among the subnormals)."""
    rounded = abs(float(true))
    if rounded == 0.0:
        return mpmath.mpf(2) ** -1074
    ulp = mpmath.mpf(math.ulp(rounded))
    if math.frexp(rounded)[0] == 0.5 and mpmath.mpf(rounded) > abs(true):  # rounded up to a power of two
        ulp /= 2
    return max(ulp, mpmath.mpf(2) ** -1074)


def worst_ulp_error(function, reference, points) -> tuple[float, float]:
    """Returns (largest error in ulps, its point) of ``function`` over ``points`` against mpmath."""
    points = np.asarray(points, dtype=np.float64)
    got = function(points)
    worst, where = 0.0, float("nan")
    with mpmath.workprec(PRECISION):
        for x, y in zip(points.tolist(), got.tolist()):
            true = reference(mpmath.mpf(x))
            error = float(abs(mpmath.mpf(y) - true) / ulp_of(true))
            if not error <= worst:  # NaN counts as the worst
                worst, where = error, x
    return worst, where


def log_uniform(rng, low_exponent, high_exponent, size):
    return 10.0 ** rng.uniform(low_exponent, high_exponent, size)


EXP_EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, math.log(2) / 2, -math.log(2) / 2, math.log(2), -math.log(2),
             3 * math.log(2) / 2, -3 * math.log(2) / 2, 1e-300, -1e-300, 5e-324, -5e-324, 2.0 ** -28, -(2.0 ** -28),
             709.0, 709.78, 709.782712893384, -708.39, -708.3964185322641, -708.4, -709.0, -720.0, -744.0,
             -745.0, -745.1, -745.13, -745.1332191019411, -50.0, 50.0, -36.7368005696771]
LOG_EDGES = [1.0, 2.0, 0.5, math.sqrt(2), math.nextafter(math.sqrt(2), 0), math.sqrt(0.5),
             math.nextafter(math.sqrt(0.5), 1), math.nextafter(1.0, 2), math.nextafter(1.0, 0), 10.0, 9.999999999999998,
             math.e, 1.0000000001, 2.2250738585072014e-308, 5e-324, 1e-310, 1.7976931348623157e308, 3.0, 7.0]
LOG1P_EDGES = [1.0, 0.5, math.sqrt(2) - 1, math.nextafter(math.sqrt(2) - 1, 0), math.nextafter(math.sqrt(2) - 1, 1),
               2.0 ** -53, 2.0 ** -54, math.nextafter(2.0 ** -53, 1), 2.0 ** -52, 1e-16, 1.1102230246251565e-16,
               1e-10, 1e-300, 5e-324, 2.2250738585072014e-308, math.exp(-1), math.exp(-36), math.exp(-745),
               0.9999999999999999, 1e-5, 0.125, 0.25]


def exp_points():
    rng = np.random.default_rng(1801)
    return np.concatenate([
        rng.uniform(-745.2, 0.0, 3000),  # softmax's shifted logits, e^-|z|
        rng.uniform(-50.0, 50.0, 1500),
        rng.uniform(-1.0, 1.0, 500),
        log_uniform(rng, -320, -1, 400) * rng.choice([-1.0, 1.0], 400),  # tiny |x|
        rng.uniform(-745.2, -708.0, 500),  # results among the subnormals
        rng.uniform(700.0, 709.78, 100),
        # x = k ln2/2 + tiny: the edges of the reduction |r| <= ln2 / 2
        (np.arange(-2149, 2048) * (math.log(2) / 2))[::7] + rng.uniform(-1e-9, 1e-9, 600),
        EXP_EDGES,
    ])


def test_exp_is_within_one_ulp_of_mpmath():
    worst, where = worst_ulp_error(exp, mpmath.exp, exp_points())
    assert worst < 1.0, f"exp({where!r}) is {worst:.3f} ulp from the true value"


def test_log_is_within_one_ulp_of_mpmath():
    rng = np.random.default_rng(1802)
    points = np.concatenate([
        rng.uniform(1.0, 10.0, 2500),  # the softmax row sums
        log_uniform(rng, -307, 308, 1500),
        log_uniform(rng, -323, -308, 200),  # subnormals
        1.0 + rng.uniform(-1e-6, 1e-6, 400),
        LOG_EDGES,
    ])
    worst, where = worst_ulp_error(log, mpmath.log, points)
    assert worst < 1.0, f"log({where!r}) is {worst:.3f} ulp from the true value"


def test_log1p_is_within_one_ulp_of_mpmath():
    rng = np.random.default_rng(1803)
    points = np.concatenate([
        rng.uniform(0.0, 1.0, 2500),  # e^-|z|
        log_uniform(rng, -323, 0, 1500),  # tiny ones, down to the subnormals
        np.exp(-rng.uniform(0.0, 40.0, 500)),
        LOG1P_EDGES,
    ])
    points = points[(points > 0) & (points <= 1)]
    worst, where = worst_ulp_error(log1p, mpmath.log1p, points)
    assert worst < 1.0, f"log1p({where!r}) is {worst:.3f} ulp from the true value"


def test_log1p_beyond_the_models_range_is_within_one_ulp_too():
    rng = np.random.default_rng(1804)
    points = np.concatenate([rng.uniform(-0.999, 0.0, 800), -log_uniform(rng, -300, -1, 300),
                             log_uniform(rng, 0, 300, 600), [2.0 ** 53, 2.0 ** 54 + 2, 1e300]])
    worst, where = worst_ulp_error(log1p, mpmath.log1p, points)
    assert worst < 1.0, f"log1p({where!r}) is {worst:.3f} ulp from the true value"


def test_special_values_without_warnings():
    inf, nan = math.inf, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(exp(np.array([-inf, inf, 710.0, 1e308, -746.0, -1e308, 0.0, -0.0, nan])),
                                      [0.0, inf, inf, inf, 0.0, 0.0, 1.0, 1.0, nan])
        np.testing.assert_array_equal(log(np.array([0.0, -0.0, inf, 1.0, -1.0, -inf, nan])),
                                      [-inf, -inf, inf, 0.0, nan, nan, nan])
        np.testing.assert_array_equal(log1p(np.array([0.0, -1.0, inf, -2.0, nan])), [0.0, -inf, inf, nan, nan])
        # The sign of zero survives, as in fdlibm: log1p(-0) = -0.
        assert math.copysign(1.0, log1p(np.array([-0.0]))[0]) == -1.0
        assert math.copysign(1.0, log1p(np.array([0.0]))[0]) == 1.0


def test_the_functions_leave_their_argument_alone_and_keep_its_shape():
    x = np.linspace(-3.0, 0.5, 12).reshape(3, 4)
    before = x.copy()
    for function, argument in ((exp, x), (log, x + 4.0), (log1p, x + 3.5)):
        kept = argument.copy()
        assert function(argument).shape == (3, 4)
        np.testing.assert_array_equal(argument, kept)
    np.testing.assert_array_equal(x, before)


def test_the_bits_do_not_depend_on_layout_or_length():
    """NumPy's loops take other paths for contiguous, strided, short and long arrays (SIMD bodies and
    tails): the bits must be the same on each, as they are of ``+ - * /`` alone."""
    rng = np.random.default_rng(1805)
    for function, x in ((exp, rng.uniform(-745.0, 10.0, 1001)), (log, log_uniform(rng, -300, 300, 1001)),
                        (log1p, rng.uniform(0.0, 1.0, 1001))):
        whole = function(x)
        np.testing.assert_array_equal(function(x[::-1])[::-1], whole)
        np.testing.assert_array_equal(function(np.repeat(x, 3)[::3]), whole)  # a strided view
        pieces = np.concatenate([function(x[start:start + size])
                                 for start, size in zip(range(0, 1001, 13), itertools.repeat(13))])
        np.testing.assert_array_equal(pieces, whole)
        np.testing.assert_array_equal(np.array([function(np.array([value]))[0] for value in x[:100]]), whole[:100])
        np.testing.assert_array_equal(function(x.reshape(7, 143).T.copy()).T.ravel(), whole)


# ------------------------------------------------------------------------------------ products


def as_fractions(array: np.ndarray) -> list[list[Fraction]]:
    return [[Fraction(value) for value in row] for row in np.asarray(array, dtype=np.float64).tolist()]


def exact_matmul(A, B) -> list[list[Fraction]]:
    """``A @ B`` in rationals: no rounding at all."""
    A, B = as_fractions(A), as_fractions(B)
    columns = list(zip(*B))
    return [[sum((a * b for a, b in zip(row, column)), Fraction(0)) for column in columns] for row in A]


def rounded(fractions: list[list[Fraction]]) -> np.ndarray:
    """Each rational rounded once, to the nearest float64 (CPython's int / int is correctly rounded)."""
    return np.array([[float(value) for value in row] for row in fractions])


def sliced(B: np.ndarray, bits: int) -> np.ndarray:
    """What the exact product multiplies by: ``B~ = (high + low 2**-bits) 2**(e - bits)`` column by
    column, in rationals."""
    high, low, e = split(B, bits)
    scales = [Fraction(2) ** (int(exponent) - bits) for exponent in e]
    return [[(Fraction(hi) + Fraction(lo) / 2 ** bits) * scale for hi, lo, scale in zip(hr, lr, scales)]
            for hr, lr in zip(high.tolist(), low.tolist())]


def exact_matmul_sliced(A, B, bound) -> list[list[Fraction]]:
    """``A @ B~``, in rationals, with the slices :func:`exact_product` uses."""
    Bt = sliced(B, slice_bits(A.shape[1], bound))
    A = as_fractions(A)
    columns = list(zip(*Bt))
    return [[sum((a * b for a, b in zip(row, column)), Fraction(0)) for column in columns] for row in A]


def weights_of_many_magnitudes(rng, rows, columns):
    """Weights whose terms cancel: random signs, magnitudes over 12 decades."""
    return rng.normal(size=(rows, columns)) * 10.0 ** rng.uniform(-12, 0, (rows, columns))


@pytest.mark.parametrize("shape", [(7, 785, 10), (5, 785, 1), (6, 40, 3)])
def test_exact_product_is_the_correctly_rounded_product_with_the_slices(shape):
    rng = np.random.default_rng(1810)
    M, K, N = shape
    A = pixel_values(rng, M, K)
    B = weights_of_many_magnitudes(rng, K, N)
    got = exact_product(A, B, BOUND)
    np.testing.assert_array_equal(got, rounded(exact_matmul_sliced(A, B, BOUND)))
    # ...and within half an ulp plus what the slices leave out of the true product A @ B.
    bits = slice_bits(K, BOUND)
    e = math.frexp(float(np.max(np.abs(B))))[1]
    dropped = K * BOUND * 2.0 ** (e - 2 * bits - 1)
    true = exact_matmul(A, B)
    for i, j in itertools.product(range(M), range(N)):
        assert abs(Fraction(got[i, j]) - true[i][j]) <= Fraction(math.ulp(got[i, j])) / 2 + Fraction(dropped)


def test_inputs_products_are_the_exact_products_over_the_scale():
    """``X @ w`` and ``X.T @ r``: the correctly rounded integer product, then one division by the scale."""
    rng = np.random.default_rng(1811)
    values = pixel_values(rng, 128, 785)
    X = Inputs(values, 255, bound=BOUND)
    w = weights_of_many_magnitudes(rng, 785, 10)
    r = rng.uniform(-1.0, 1.0, (128, 10)) * 10.0 ** rng.uniform(-8, 0, (128, 10))  # like Y - Yhat
    np.testing.assert_array_equal(X[:6] @ w, rounded(exact_matmul_sliced(values[:6], w, BOUND)) / 255.0)
    np.testing.assert_array_equal((X.T @ r)[:40], rounded(exact_matmul_sliced(values.T[:40], r, BOUND)) / 255.0)
    # times_each is X @ w for each w, bit for bit.
    ws = [w, -w[:, :3] * 1e-5, np.zeros((785, 2)), w[:, :1] * 3.0]
    for got, single in zip(X.times_each(ws), ws):
        np.testing.assert_array_equal(got, X @ single)
    # X[rows] and X[slice] keep the scale and the bound.
    for part in (X[3:9], X[np.array([5, 1, 1])]):
        assert part.scale == 255.0 and part.bound == BOUND
    np.testing.assert_array_equal((X[np.array([5, 1, 1])] @ w), (X @ w)[[5, 1, 1]])


def test_the_product_does_not_depend_on_the_order_of_the_terms_or_the_blocks_of_rows():
    rng = np.random.default_rng(1812)
    A = pixel_values(rng, 300, 785)
    B = weights_of_many_magnitudes(rng, 785, 10)
    whole = exact_product(A, B, BOUND)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(785)
        np.testing.assert_array_equal(exact_product(A[:, order], B[order], BOUND), whole)
    rows = np.random.default_rng(9).permutation(300)
    np.testing.assert_array_equal(exact_product(A[rows], B, BOUND), whole[rows])
    columns = np.random.default_rng(10).permutation(10)
    np.testing.assert_array_equal(exact_product(A, B[:, columns], BOUND), whole[:, columns])
    blocks = np.concatenate([exact_product(A[start:start + 37], B, BOUND) for start in range(0, 300, 37)])
    np.testing.assert_array_equal(blocks, whole)
    # Fortran order and a transposed view go through the BLAS with other flags.
    np.testing.assert_array_equal(exact_product(np.asfortranarray(A), B, BOUND), whole)
    np.testing.assert_array_equal(exact_product(np.ascontiguousarray(A.T).T, np.asfortranarray(B), BOUND), whole)


def test_the_product_does_not_depend_on_the_blas_thread_count():
    if not any(pool["user_api"] == "blas" for pool in threadpool_info()):
        pytest.skip("threadpoolctl sees no BLAS to limit")
    rng = np.random.default_rng(1813)
    A = pixel_values(rng, 4000, 785)
    Bs = [weights_of_many_magnitudes(rng, 785, 10), weights_of_many_magnitudes(rng, 785, 1)]
    r = rng.uniform(-1.0, 1.0, (4000, 10))
    results = {}
    for threads in (1, 2, 4):
        with threadpool_limits(limits=threads, user_api="blas"):
            results[threads] = (exact_products(A, Bs, BOUND), exact_product(A.T, r, BOUND))
    for threads in (2, 4):
        for got, expected in zip(results[threads][0], results[1][0]):
            np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(results[threads][1], results[1][1])


def test_a_plain_product_is_not_what_the_exact_product_gives():
    """The mutation check: a plain ``A @ B`` gives other bits where the order of addition matters, so a
    core that multiplied plainly would fail the tests above and the byte-identity tests."""
    # 2**53 + 1 rounds to 2**53 (ties to even): the plain sum of these three terms depends on the order.
    A = np.array([[1.0, 1.0, 1.0]])
    B = np.array([[2.0 ** 53], [1.0], [-(2.0 ** 53)]])
    plain, exactly = set(), set()
    for order in itertools.permutations(range(3)):
        order = list(order)
        plain.add(float((A[:, order] @ B[order])[0, 0]))
        exactly.add(float(exact_product(A[:, order], B[order], 1.0)[0, 0]))
    assert exactly == {1.0}
    assert 0.0 in plain  # at least one order loses the 1
    # On data like the model's: the plain product misses the correctly rounded value in many entries.
    rng = np.random.default_rng(1814)
    values = pixel_values(rng, 8, 785)
    w = weights_of_many_magnitudes(rng, 785, 10)
    correct = rounded(exact_matmul_sliced(values, w, BOUND))
    assert np.count_nonzero(values @ w != correct) >= 5
    np.testing.assert_array_equal(exact_product(values, w, BOUND), correct)


@pytest.mark.parametrize("scale", [1.0, 1e-300, 1e300, 2.0 ** -1060, 3.0])
def test_split_gives_integer_slices_that_rebuild_the_weights(scale):
    rng = np.random.default_rng(1815)
    B = weights_of_many_magnitudes(rng, 300, 4) * scale
    B[0, 0] = 2.0 ** math.floor(math.log2(np.max(np.abs(B))))  # a power of two among them
    for bits in (1, 20, 34, 37):
        high, low, e = split(B, bits)
        assert e.shape == (B.shape[1],)  # one exponent per column
        assert np.all(np.max(np.abs(B), axis=0) < np.ldexp(1.0, e))
        assert np.all(np.abs(high) <= 2.0 ** bits) and np.all(np.abs(low) <= 2.0 ** (bits - 1))
        assert np.all(high == np.rint(high)) and np.all(low == np.rint(low))
        rebuilt = sliced(B, bits)
        limits = [Fraction(2) ** (int(exponent) - 2 * bits - 1) for exponent in e]
        for row, again_row in zip(B.tolist(), rebuilt):
            for original, again, limit in zip(row, again_row, limits):
                assert abs(Fraction(original) - again) <= limit


def test_split_of_zeros_and_of_nothing():
    high, low, _ = split(np.zeros((3, 2)), 30)
    assert not high.any() and not low.any()
    high, low, _ = split(np.zeros((0, 2)), 30)
    assert high.shape == low.shape == (0, 2)
    np.testing.assert_array_equal(exact_product(pixel_values(np.random.default_rng(0), 4, 5), np.zeros((5, 3)),
                                                BOUND), np.zeros((4, 3)))


@pytest.mark.parametrize("terms, bound", [(785, 255.0), (128, 255.0), (20000, 255.0), (1, 1.0), (3, 1.0),
                                          (785, 1.0), (1000, 0.5), (7, 2.0 ** 20), (1, 2.0 ** 52)])
def test_slice_bits_keeps_every_partial_sum_below_2_to_the_52(terms, bound):
    bits = slice_bits(terms, bound)
    assert terms * bound * 2.0 ** bits <= 2.0 ** 52
    assert terms * bound * 2.0 ** (bits + 1) > 2.0 ** 52  # and no fewer bits than that allows
    assert (slice_bits(785, 255.0), slice_bits(128, 255.0)) == (34, 37)  # the data's: 68 and 74 bits


def test_the_largest_partial_sums_are_still_exact():
    """Every input at the bound and every slice at its largest: the sums reach K bound 2**bits."""
    K = 785
    bits = slice_bits(K, BOUND)
    A = np.full((3, K), BOUND)
    A[1] = -BOUND
    B = np.full((K, 2), math.nextafter(1.0, 0.0))  # high rounds up to 2**bits, low is -1/2 (ties) or so
    B[:, 1] = -1.0 + 2.0 ** -40
    np.testing.assert_array_equal(exact_product(A, B, BOUND), rounded(exact_matmul_sliced(A, B, BOUND)))
    high, _, _ = split(B, bits)
    assert np.max(np.abs(high[:, 0])) == 2.0 ** bits


# ------------------------------------------------------------------------------------- argmax


@pytest.fixture
def fallback_rows(monkeypatch):
    """Counts the rows :func:`argmax_rows` computes exactly (its fallback ``X[which] @ w``)."""
    rows = []
    original = Inputs.__matmul__

    def counting(self, w):
        rows.append(len(self))
        return original(self, w)

    monkeypatch.setattr(Inputs, "__matmul__", counting)
    return rows


def test_argmax_rows_gives_the_classes_of_the_exact_logits(fallback_rows):
    rng = np.random.default_rng(1820)
    X = Inputs(pixel_values(rng, 3000, 785), 255, bound=BOUND)
    weights = [rng.normal(size=(785, 10)) * 1e-3, rng.normal(size=(785, 10)) * 1e-6, np.zeros((785, 10)),
               rng.normal(size=(785, 3))]
    expected = [np.argmax(z, axis=1) for z in X.times_each(weights)]
    fallback_rows.clear()
    got = argmax_rows(X, weights)
    for predicted, classes in zip(got, expected):
        np.testing.assert_array_equal(predicted, classes)
    # The zero weights tie everywhere (class 0, from the fallback); the random ones are decided in
    # single precision for almost every row.
    assert np.all(got[2] == 0)
    assert 3000 <= sum(fallback_rows) < 3000 + 100


def near_ties(rng, n=400):
    """Weights whose two largest logits are columns 3 and 7, about 1e-12 apart (relatively) and either
    larger, and weights whose columns 2 and 5 tie exactly."""
    X = Inputs(pixel_values(rng, n, 785), 255, bound=BOUND)
    w = rng.normal(size=(785, 10)) * 1e-4
    w[:, 7] = w[:, 3] + rng.normal(size=785) * 4e-14
    w[-1, 7] = w[-1, 3] = 1.0  # the bias lifts 3 and 7 above the rest: logits near 1
    tied = rng.normal(size=(785, 10)) * 1e-4
    tied[:, 5] = tied[:, 2]
    tied[-1, 2] = tied[-1, 5] = 1.0
    return X, w, tied


def test_argmax_rows_decides_near_ties_and_exact_ties_by_the_exact_logits(fallback_rows):
    rng = np.random.default_rng(1821)
    X, w, tied = near_ties(rng)
    z, zt = X @ w, X @ tied
    assert np.all(z[:, 7] != z[:, 3]) and np.all(zt[:, 2] == zt[:, 5])
    expected = np.argmax(z, axis=1)
    fallback_rows.clear()
    near, exactly_tied = argmax_rows(X, [w, tied])
    np.testing.assert_array_equal(near, expected)
    assert set(expected) <= {3, 7} and 50 < np.count_nonzero(expected == 7) < len(X) - 50
    np.testing.assert_array_equal(exactly_tied, np.full(len(X), 2))  # a tie goes to the lowest class
    assert fallback_rows == [len(X), len(X)]  # every row of both was unsure: the fallback decided them
    # Single precision alone gets the near ties wrong: the fallback is needed.
    z32 = X.single() @ w.astype(np.float32)
    assert np.count_nonzero(np.argmax(z32, axis=1) != expected) > 10


def test_argmax_rows_with_margins_of_every_size(fallback_rows):
    """Margins from 1e-2 to 1e-11 of the logits: some rows decided in single precision, some exactly,
    every one as the exact logits say."""
    rng = np.random.default_rng(1822)
    n = 2000
    X = Inputs(pixel_values(rng, n, 785), 255, bound=BOUND)
    weights = []
    for margin in (1e-2, 1e-4, 1e-6, 1e-8, 1e-11):
        w = rng.normal(size=(785, 10)) * 1e-3
        w[:, 6] = w[:, 1] * (1 - margin) + rng.normal(size=785) * margin * 1e-3
        w[-1, 1] = w[-1, 6] = 0.2
        weights.append(w)
    fallback_rows.clear()
    got = argmax_rows(X, weights)
    for predicted, z in zip(got, X.times_each(weights)):
        np.testing.assert_array_equal(predicted, np.argmax(z, axis=1))
    assert 0 < sum(fallback_rows) < len(weights) * n


def test_argmax_rows_of_tiny_and_huge_weights():
    """Weights below float32's normal range (its products underflow) and near its largest: still
    the classes of the exact logits."""
    rng = np.random.default_rng(1823)
    X = Inputs(pixel_values(rng, 500, 785), 255, bound=BOUND)
    weights = [rng.normal(size=(785, 10)) * 1e-40, rng.normal(size=(785, 10)) * 1e-44,
               rng.normal(size=(785, 10)) * 1e33]
    for predicted, z in zip(argmax_rows(X, weights), X.times_each(weights)):
        np.testing.assert_array_equal(predicted, np.argmax(z, axis=1))


def test_argmax_rows_when_single_precision_overflows():
    """A logit whose single-precision sum overflows to +inf while the exact one is small: float32's
    inf says nothing about the order of the exact logits, so the row must be computed exactly."""
    X = Inputs(np.ones((3, 10)), 255, bound=BOUND)
    w = np.ones((10, 2))  # no zero weights: a BLAS may multiply a zero by inf (NaN, which is caught)
    w[:9, 0] = [2.0 ** 130] + [-(2.0 ** 127)] * 8  # float32: inf (2**130 > its largest) plus finite terms: inf
    w[9, 1] = 2.0 ** 90
    z = X @ w
    assert np.all(z[:, 1] > z[:, 0])
    with np.errstate(over="ignore", invalid="ignore"):
        z32 = w.astype(np.float32).T @ X.single().T  # as argmax_rows multiplies
    if not (np.all(z32[0] == np.inf) and np.all(np.isfinite(z32[1]))):  # NaN is caught; +inf is the case
        pytest.skip(f"this BLAS gives {z32[:, 0]} in single precision, not (+inf, finite)")
    np.testing.assert_array_equal(argmax_rows(X, [w])[0], np.argmax(z, axis=1))


# ------------------------------------------------------------------------------------------ sums


def test_total_is_the_correctly_rounded_sum_in_any_order():
    rng = np.random.default_rng(1830)
    values = rng.normal(size=5000) * 10.0 ** rng.uniform(-20, 20, 5000)
    values[:3] = [1e300, -1e300, 1e-300]
    true = float(sum(map(Fraction, values.tolist()), Fraction(0)))
    assert total(values) == true == math.fsum(values.tolist())
    for seed in range(4):
        assert total(np.random.default_rng(seed).permutation(values)) == true
    assert total(values.reshape(50, 100)) == total(np.asfortranarray(values.reshape(50, 100))) == true
    assert total(np.array([2.0 ** 53, 1.0, -(2.0 ** 53)])) == 1.0  # where a plain sum loses the 1
    assert total(np.zeros(0)) == 0.0


def row_sum_by_hand(row: list[float]) -> float:
    """The order :func:`row_sum` documents, one Python float addition (IEEE double) at a time: the left
    half of the columns plus the right half, again and again; an odd last column joins the first."""
    while len(row) > 1:
        half = len(row) // 2
        paired = [row[k] + row[half + k] for k in range(half)]
        if len(row) % 2:
            paired[0] += row[2 * half]
        row = paired
    return row[0]


@pytest.mark.parametrize("columns", [1, 2, 3, 7, 10, 16, 785])
def test_row_sum_adds_in_its_fixed_order(columns):
    rng = np.random.default_rng(1831)
    A = rng.normal(size=(300, columns)) * 10.0 ** rng.uniform(-10, 10, (300, columns))
    expected = np.array([[row_sum_by_hand(row)] for row in A.tolist()])
    got = row_sum(A)
    assert got.shape == (300, 1)
    np.testing.assert_array_equal(got, expected)
    # Each row's bits are its own: not the array's layout, nor which rows come with it.
    np.testing.assert_array_equal(row_sum(np.asfortranarray(A)), got)
    np.testing.assert_array_equal(row_sum(A[::-1])[::-1], got)
    np.testing.assert_array_equal(row_sum(A[5:6]), got[5:6])
    np.testing.assert_array_equal(row_sum(A[:, :][::2]), got[::2])
    # A result of its own: changing it leaves A alone (also for one column).
    got[:] = 0.0
    assert np.all(A[:, :1] != 0.0)


def test_row_sum_is_not_numpys_sum():
    """Where the order matters (each 1 is lost against 2**53 or not): row_sum gives what its order
    gives (7), whatever NumPy's ``np.sum`` does (NumPy 2.4 adds a row of 10 in eight interleaved
    partial sums and gives 8 here; left to right gives 0)."""
    row = [2.0 ** 53, 1, 1, 1, 1, 1, 1, 1, 1, -(2.0 ** 53)]
    assert row_sum(np.array([row]))[0, 0] == row_sum_by_hand(row) == 7.0
    left_to_right = 0.0
    for value in row:
        left_to_right += value
    assert left_to_right == 0.0  # another fixed order, other bits: the order is part of the result


# ------------------------------------------------------------------------------------ threads


def test_one_blas_thread_limits_the_blas_inside_the_block_only():
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    if not pools:
        pytest.skip("threadpoolctl sees no BLAS")
    before = [pool["num_threads"] for pool in pools]
    with one_blas_thread():
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == before


def test_exact_module_names_what_models_import():
    import mnist_report.core.models as models

    for name in ("Inputs", "argmax_rows", "exp", "log", "log1p", "row_sum", "total"):
        assert getattr(models, name) is getattr(exact, name)


def test_a_small_column_beside_a_large_one_keeps_its_precision():
    # One exponent per column: a class whose residuals or weights are tiny keeps its 68 bits, not
    # 68 bits below the largest column's (with one exponent for the matrix it came out as 0).
    rng = np.random.default_rng(1900)
    A = pixel_values(rng, 6, 785)
    B = np.stack([rng.normal(size=785) * 1e-3, rng.normal(size=785) * 2e36], axis=1)
    alone = exact_product(A, B[:, :1], BOUND)[:, 0]
    together = exact_product(A, B, BOUND)[:, 0]
    np.testing.assert_array_equal(together, alone)
    plain = A @ B[:, 0]
    assert np.all(np.abs(together - plain) <= 785 * 2.3e-16 * (np.abs(A) @ np.abs(B[:, 0])))


def test_the_rows_of_inputs_give_the_bits_of_the_whole_product():
    # X[rows] keeps the bound of the whole set: a batch of small pixels must not get wider slices
    # (other bits) than the whole set's product has for those rows.
    rng = np.random.default_rng(1901)
    values = pixel_values(rng, 50, 785)
    values[:10, :-1] = rng.integers(-3, 4, (10, 784))  # rows whose own largest |value| is 255 (the bias) or less
    values[:10, -1] = 3.0
    X = Inputs(values, 255, bound=BOUND)
    w = weights_of_many_magnitudes(rng, 785, 10)
    whole = X @ w
    for rows in (np.arange(10), slice(0, 10), np.array([3, 40, 7])):
        assert X[rows].bound == BOUND
        np.testing.assert_array_equal(X[rows] @ w, whole[rows])
    r = rng.normal(size=(10, 10))
    np.testing.assert_array_equal(X[np.arange(10)].T @ r, Inputs(values[:10], 255, bound=BOUND).T @ r)


def test_the_single_precision_bound_holds_and_is_not_loose():
    # exact.single_precision_error bounds |values32 @ w32 - values @ w| for every element (what lets
    # argmax_rows trust a margin), and is within a factor of what rounding does at its worst.
    rng = np.random.default_rng(1902)
    X = Inputs(pixel_values(rng, 2000, 785), 255, bound=BOUND)
    worst = 0.0
    for scale in (1e-3, 0.05, 3.0):
        w = rng.normal(0, scale, (785, 10))
        bound = exact.single_precision_error(X, w)
        error = np.abs((X.single() @ w.astype(np.float32)).astype(np.float64) - X.values @ w)
        assert np.all(error <= bound)
        worst = max(worst, float(np.max(error / bound)))
    assert worst > 1e-3  # a bound 1000 times too small would not hold above


def test_validations_keep_a_copy_of_the_weights_and_hand_over_a_full_queue():
    from mnist_report.core.models import SoftmaxRegression, Split
    from mnist_report.core.sgd import History, Validations
    rng = np.random.default_rng(1903)
    labels = rng.integers(0, 10, 40)
    split = Split(Inputs(pixel_values(rng, 40, 785), 255, bound=BOUND), np.eye(10)[labels], labels)
    model = SoftmaxRegression(num_inputs=785)
    w = rng.normal(0, 0.01, (785, 10))
    history = History()
    with Validations(model, split, split, history) as validations:
        validations.add(0, w)
        expected = model.evaluate_each(split.X, split.Y, [w.copy()])[0]
        w *= 2  # changed in place after the validation: the validation is of the weights it was given
        for step in range(1, Validations.MOST_QUEUED):
            validations.add(step, w)
        assert validations.queue == [] and validations.unfinished == Validations.MOST_QUEUED  # handed over
    assert (history.val_loss[0], history.val_accuracy[0]) == expected
    assert history.val_step == list(range(Validations.MOST_QUEUED))
