"""The models against independent references: central differences, losses computed by hand, extreme logits."""

import math
import warnings

import numpy as np
import pytest

from mnist_report.models import (
    LogisticRegression, SoftmaxRegression, log_softmax, mean, shifted_exponentials, sigmoid, softmax,
)
from mnist_report.speed import SMALL_PRODUCT, product, row_blocks


def objective(model, X, Y):
    """J = C + lambda ||w||^2, the function whose gradient the model returns."""
    return model.loss(X, Y) + model.l2_lambda * np.sum(model.w ** 2)


def central_difference_gradient(model, X, Y, epsilon=1e-3):
    """dJ/dw by (J(w + eps e_ij) - J(w - eps e_ij)) / (2 eps), one weight at a time (the original's appendix)."""
    gradient = np.zeros_like(model.w)
    for index in np.ndindex(model.w.shape):
        original = model.w[index]
        model.w[index] = original + epsilon
        plus = objective(model, X, Y)
        model.w[index] = original - epsilon
        minus = objective(model, X, Y)
        model.w[index] = original
        gradient[index] = (plus - minus) / (2 * epsilon)
    return gradient


def random_problem(num_outputs, rng, num_samples=20, num_inputs=30):
    X = np.concatenate([rng.uniform(-1, 1, (num_samples, num_inputs - 1)), np.ones((num_samples, 1))], axis=1)
    if num_outputs == 1:
        Y = rng.integers(0, 2, (num_samples, 1)).astype(np.float64)
    else:
        Y = np.eye(num_outputs)[rng.integers(0, num_outputs, num_samples)]
    return X, Y


@pytest.mark.parametrize("model_class", [LogisticRegression, SoftmaxRegression])
@pytest.mark.parametrize("l2_lambda", [0.0, 0.5])
def test_gradient_matches_central_differences(model_class, l2_lambda):
    rng = np.random.default_rng(4265)
    X, Y = random_problem(model_class.num_outputs, rng)
    model = model_class(l2_lambda, num_inputs=X.shape[1])
    model.w = rng.normal(0, 1 / math.sqrt(X.shape[1]), model.w.shape)
    analytic = model.gradient(X, Y, model.forward(X))
    numeric = central_difference_gradient(model, X, Y)
    assert analytic.shape == model.w.shape
    np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-6)


def test_logistic_loss_by_hand():
    # Two samples, one input: z = (0, ln 3) -> yhat = (1/2, 3/4); targets (1, 0).
    model = LogisticRegression(num_inputs=1)
    model.w[:] = math.log(3)
    X = np.array([[0.0], [1.0]])
    Y = np.array([[1.0], [0.0]])
    expected = -(math.log(1 / 2) + math.log(1 - 3 / 4)) / 2
    assert model.loss(X, Y) == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(model.forward(X), [[0.5], [0.75]], rtol=1e-15)


def test_softmax_loss_by_hand():
    # One sample, logits (0, ln 2, ln 7) -> yhat = (1, 2, 7) / 10; target class 1.
    model = SoftmaxRegression(num_inputs=3)
    model.w = np.diag([0.0, math.log(2), math.log(7)])
    X = np.array([[1.0, 1.0, 1.0]])
    Y = np.array([[0.0, 1.0, 0.0]])
    z = X @ model.w
    np.testing.assert_allclose(softmax(z), [[0.1, 0.2, 0.7]], rtol=1e-15)
    assert SoftmaxRegression.loss_from_logits(z, Y) == pytest.approx(-math.log(0.2), rel=1e-15)


def test_l2_penalty_enters_gradient_as_two_lambda_w():
    rng = np.random.default_rng(1)
    X, Y = random_problem(10, rng)
    plain, penalised = SoftmaxRegression(0.0, X.shape[1]), SoftmaxRegression(0.3, X.shape[1])
    plain.w = penalised.w = rng.normal(size=plain.w.shape)
    difference = penalised.gradient(X, Y, penalised.forward(X)) - plain.gradient(X, Y, plain.forward(X))
    np.testing.assert_allclose(difference, 2 * 0.3 * plain.w, rtol=1e-12)


@pytest.mark.parametrize("logit", [1000.0, -1000.0, 745.2, -745.2])
def test_extreme_logits_stay_finite_without_warnings(logit):
    z1 = np.array([[logit], [-logit]])
    z10 = np.zeros((2, 10))
    z10[0, 3], z10[1, 3] = logit, -logit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Underflow to 0 is harmless (e^-1000 is 0 to double precision); overflow, 0/0 and ln 0 are not.
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            assert np.all(np.isfinite(sigmoid(z1)))
            assert np.all(np.isfinite(softmax(z10)))
            assert np.all(np.isfinite(log_softmax(z10)))
            # The target is the class that the logit makes least likely: yhat rounds to 0, the loss must not be inf.
            wrong = np.array([[float(logit < 0)], [float(logit > 0)]])
            loss1 = LogisticRegression.loss_from_logits(z1, wrong)
            Y = np.zeros((2, 10))
            Y[:, 0] = 1
            loss10 = SoftmaxRegression.loss_from_logits(z10, Y)
    assert math.isfinite(loss1) and math.isfinite(loss10)
    # The exact values: ln(1 + e^|z|) ~ |z| for logistic, and for softmax the log of the partition function.
    assert loss1 == pytest.approx(abs(logit), rel=1e-12)
    expected10 = (np.logaddexp.reduce(z10[0]) + np.logaddexp.reduce(z10[1])) / 2
    assert loss10 == pytest.approx(expected10, rel=1e-12)


def test_accuracy_counts_predictions_equal_to_targets():
    model = LogisticRegression(num_inputs=1)
    model.w[:] = 1.0
    X = np.array([[2.0], [-1.0], [0.0], [-3.0]])  # yhat >= 0.5 at z >= 0: predictions 1, 0, 1, 0
    Y = np.array([[1.0], [1.0], [1.0], [0.0]])
    assert model.accuracy(X, Y) == 0.75
    softmax_model = SoftmaxRegression(num_inputs=2)
    softmax_model.w = np.zeros((2, 10))
    softmax_model.w[0, 4] = 1.0
    softmax_model.w[1, 7] = 1.0
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    Y = np.eye(10)[[4, 4, 4]]
    assert softmax_model.accuracy(X, Y) == pytest.approx(2 / 3)


@pytest.mark.parametrize("model_class", [LogisticRegression, SoftmaxRegression])
def test_logits_of_a_data_set_are_X_w(model_class):
    # logits() multiplies in blocks of rows (speed.product): the same sums, added in the unpacked
    # kernel's order, so equal to one X @ w up to the last bit (~3e-15 relative).
    rng = np.random.default_rng(7)
    X = np.concatenate([rng.integers(0, 256, (3000, 784)) / 127.5 - 1, np.ones((3000, 1))], axis=1)
    model = model_class()
    model.w = rng.normal(0, 0.05, model.w.shape)
    z = model.logits(X)
    assert z.shape == (3000, model.num_outputs) and z.flags.c_contiguous
    np.testing.assert_allclose(z, X @ model.w, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("shape", [(20000, 785, 10), (128, 785, 10), (127, 785, 10), (4005, 785, 1), (1, 785, 10),
                                   (3, 4, 2)])
@pytest.mark.parametrize("transposed", [False, True])
def test_product_in_blocks_of_rows_is_the_matrix_product(shape, transposed):
    # Shapes with and without a shorter last block, a single row, and A = X^T (the gradient's
    # operand, Fortran-ordered) as well as X.
    M, K, N = shape
    rng = np.random.default_rng(M + K + N)
    A = rng.normal(size=(K, M)).T if transposed else rng.normal(size=(M, K))
    B = rng.normal(size=(K, N))
    result = product(A, B)
    assert result.shape == (M, N) and result.flags.c_contiguous
    # Bound on the rounding error of a K-term dot product: K * eps * sum_k |a_k b_k|.
    np.testing.assert_allclose(result, A @ B, rtol=0, atol=K * 2.3e-16 * (np.abs(A) @ np.abs(B)).max())


@pytest.mark.parametrize("M, K, N, expected", [
    (20000, 785, 10, 127),  # 157 blocks of 127 rows + 61: the fewest under 10^6 multiply-adds each
    (128, 785, 10, 64),     # a batch: 2 x 64 (128 rows would be 1004800 multiply-adds)
    (127, 785, 10, 127),    # fits in one block
    (785, 128, 10, 393),    # the gradient's X^T (D): 393 + 392
    (4005, 785, 1, 1002),   # binary training set: 3 x 1002 + 999
    (5, 10**7, 1, 1),       # a row alone is over the limit: one row per block
])
def test_row_blocks_are_the_fewest_within_the_small_kernels_limit(M, K, N, expected):
    rows = row_blocks(M, K, N)
    assert rows == expected
    if K * N <= SMALL_PRODUCT:
        most_rows = SMALL_PRODUCT // (K * N)
        assert rows * K * N <= SMALL_PRODUCT  # each block takes the unpacked kernel
        assert math.ceil(M / rows) == math.ceil(M / most_rows)  # and no more blocks than needed


def test_product_writes_into_out_and_refuses_a_wrong_shape():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(300, 785)), rng.normal(size=(785, 10))
    out = np.full((600, 10), np.nan)
    assert product(A, B, out=out[300:]) is not None
    np.testing.assert_allclose(out[300:], A @ B, rtol=1e-12, atol=1e-12)
    assert np.isnan(out[:300]).all()
    with pytest.raises(ValueError, match=r"out has shape \(300, 9\), expected \(300, 10\)"):
        product(A, B, out=np.empty((300, 9)))


@pytest.mark.parametrize("model_class", [LogisticRegression, SoftmaxRegression])
def test_loss_and_gradient_are_those_of_one_forward_pass(model_class):
    rng = np.random.default_rng(11)
    X, Y = random_problem(model_class.num_outputs, rng, num_samples=128, num_inputs=785)
    model = model_class(l2_lambda=0.3, num_inputs=785)
    model.w = rng.normal(0, 0.05, model.w.shape)
    w_before = model.w.copy()
    loss, gradient = model.loss_and_gradient(X, Y)
    z = model.logits(X)
    assert loss == model.loss_from_logits(z, Y)  # the same bits: shared exponentials, same operations
    # The textbook expression with plain products; the blocked products add in another order.
    Yhat = model.activation(X @ model.w)
    np.testing.assert_allclose(gradient, -(X.T @ (Y - Yhat)) / 128 + 2 * 0.3 * model.w, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(model.w, w_before)


def test_softmax_loss_and_correct_equal_their_definitions_to_the_bit():
    rng = np.random.default_rng(5)
    z = rng.normal(0, 3, (500, 10))
    z[:50, 7] = z[:50, 2] = z[:50].max(axis=1) + 1  # ties: argmax takes the first, class 2
    Y = np.eye(10)[rng.integers(0, 10, 500)]
    Y[:25] = np.eye(10)[2]
    Y[25:50] = np.eye(10)[7]
    assert SoftmaxRegression.loss_from_logits(z, Y) == float(-np.mean(np.sum(Y * log_softmax(z), axis=1)))
    correct = SoftmaxRegression.correct(z, Y)
    np.testing.assert_array_equal(correct, np.argmax(z, axis=1) == np.argmax(Y, axis=1))
    assert correct[:25].all() and not correct[25:50].any()


@pytest.mark.parametrize("length", [1, 7, 8, 9, 127, 128, 129, 1000, 10000])
def test_mean_is_numpys_mean_to_the_bit(length):
    # Pairwise summation changes its order at 8 and 128 terms: lengths on both sides of each.
    rng = np.random.default_rng(length)
    values = rng.normal(0, 1, length) * 10.0 ** rng.integers(-8, 8, length)
    assert mean(values).hex() == float(np.mean(values)).hex()


@pytest.mark.parametrize("l2_lambda", [0.0, 0.3])
def test_softmax_step_equals_the_operations_it_fuses_to_the_bit(l2_lambda):
    # loss_and_gradient works in place; the reference is the plain sequence of the same operations:
    # shifted exponentials, log_softmax, the mean of the picked log-probabilities, softmax, the
    # gradient with its penalty term (2 * 0 * w included when lambda = 0).
    rng = np.random.default_rng(12)
    X, Y = random_problem(10, rng, num_samples=128, num_inputs=785)
    model = SoftmaxRegression(l2_lambda=l2_lambda, num_inputs=785)
    model.w = rng.normal(0, 0.5, model.w.shape)
    loss, gradient = model.loss_and_gradient(X, Y)
    shifted, e, total = shifted_exponentials(product(X, model.w))
    expected_loss = float(-np.mean(np.einsum("nk,nk->n", Y, shifted - np.log(total))))
    expected_gradient = product(X.T, Y - e / total) / -128 + 2 * l2_lambda * model.w
    assert loss.hex() == expected_loss.hex()
    np.testing.assert_array_equal(gradient, expected_gradient)  # +0 and -0 count as equal here
