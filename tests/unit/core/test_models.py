"""The models against independent references: central differences, losses computed by hand, the
textbook expressions in plain NumPy, extreme logits."""

import math
import warnings

import numpy as np
import pytest

from mnist_report.core.exact import Inputs
from mnist_report.core.models import LogisticRegression, SoftmaxRegression, log_sigmoid, log_softmax, sigmoid, softmax


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


def inputs(values):
    """Inputs ``values / 255`` of integer-valued ``values`` (the data's own scale)."""
    return Inputs(np.asarray(values, dtype=np.float64), 255, bound=255)


def random_problem(num_outputs, rng, num_samples=20, num_inputs=30):
    """Pixels-like inputs: ``2p - 255`` for random p, and the bias 255; targets 0/1 or one-hot."""
    values = np.concatenate([2.0 * rng.integers(0, 256, (num_samples, num_inputs - 1)) - 255,
                             np.full((num_samples, 1), 255.0)], axis=1)
    if num_outputs == 1:
        Y = rng.integers(0, 2, (num_samples, 1)).astype(np.float64)
    else:
        Y = np.eye(num_outputs)[rng.integers(0, num_outputs, num_samples)]
    return inputs(values), Y


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
    X = inputs([[0.0], [255.0]])
    Y = np.array([[1.0], [0.0]])
    expected = -(math.log(1 / 2) + math.log(1 - 3 / 4)) / 2
    assert model.loss(X, Y) == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(model.forward(X), [[0.5], [0.75]], rtol=1e-15)


def test_softmax_loss_by_hand():
    # One sample, logits (0, ln 2, ln 7) -> yhat = (1, 2, 7) / 10; target class 1.
    model = SoftmaxRegression(num_inputs=3)
    model.w = np.diag([0.0, math.log(2), math.log(7)])
    X = inputs([[255.0, 255.0, 255.0]])
    Y = np.array([[0.0, 1.0, 0.0]])
    z = X @ model.w
    np.testing.assert_allclose(z, [[0.0, math.log(2), math.log(7)]], rtol=1e-15)
    np.testing.assert_allclose(softmax(z), [[0.1, 0.2, 0.7]], rtol=1e-15)
    assert SoftmaxRegression.cross_entropy(z, Y) == pytest.approx(-math.log(0.2), rel=1e-15)


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
            loss1 = LogisticRegression.cross_entropy(z1, wrong)
            Y = np.zeros((2, 10))
            Y[:, 0] = 1
            loss10 = SoftmaxRegression.cross_entropy(z10, Y)
    assert math.isfinite(loss1) and math.isfinite(loss10)
    # The exact values: ln(1 + e^|z|) ~ |z| for logistic, and for softmax the log of the partition function.
    assert loss1 == pytest.approx(abs(logit), rel=1e-12)
    expected10 = (np.logaddexp.reduce(z10[0]) + np.logaddexp.reduce(z10[1])) / 2
    assert loss10 == pytest.approx(expected10, rel=1e-12)


def test_accuracy_counts_predictions_equal_to_targets():
    model = LogisticRegression(num_inputs=1)
    model.w[:] = 1.0
    X = inputs([[510.0], [-255.0], [0.0], [-765.0]])  # yhat >= 0.5 at z >= 0: predictions 1, 0, 1, 0
    Y = np.array([[1.0], [1.0], [1.0], [0.0]])
    assert model.accuracy(X, Y) == 0.75
    softmax_model = SoftmaxRegression(num_inputs=2)
    softmax_model.w = np.zeros((2, 10))
    softmax_model.w[0, 4] = 1.0
    softmax_model.w[1, 7] = 1.0
    X = inputs([[255.0, 0.0], [0.0, 255.0], [510.0, 255.0]])
    Y = np.eye(10)[[4, 4, 4]]
    assert softmax_model.accuracy(X, Y) == pytest.approx(2 / 3)


def pixels_problem(num_outputs, num_samples, seed):
    rng = np.random.default_rng(seed)
    return random_problem(num_outputs, rng, num_samples=num_samples, num_inputs=785)


@pytest.mark.parametrize("model_class", [LogisticRegression, SoftmaxRegression])
def test_logits_of_a_data_set_are_X_w(model_class):
    # X @ w is the exact product (exact.py): within the rounding of a plain float64 product of it.
    X, _ = pixels_problem(model_class.num_outputs, 3000, 7)
    model = model_class()
    model.w = np.random.default_rng(8).normal(0, 0.05, model.w.shape)
    z = X @ model.w
    plain = X.as_floats() @ model.w
    assert z.shape == (3000, model.num_outputs)
    bound = 785 * 2.3e-16 * (np.abs(X.as_floats()) @ np.abs(model.w))
    assert np.all(np.abs(z - plain) <= bound)


@pytest.mark.parametrize("model_class", [LogisticRegression, SoftmaxRegression])
@pytest.mark.parametrize("l2_lambda", [0.0, 0.3])
def test_loss_and_gradient_are_the_textbook_expressions(model_class, l2_lambda):
    # The course's expressions in plain NumPy (np.exp, np.log, @, np.mean): the same values to
    # within their rounding.
    X, Y = pixels_problem(model_class.num_outputs, 128, 11)
    model = model_class(l2_lambda=l2_lambda, num_inputs=785)
    model.w = np.random.default_rng(12).normal(0, 0.05, model.w.shape)
    w_before = model.w.copy()
    loss, gradient = model.loss_and_gradient(X, Y)
    assert loss == model.loss(X, Y)  # the same bits: the same operations, written once
    x = X.as_floats()
    z = x @ model.w
    if model_class is LogisticRegression:
        Yhat = 1 / (1 + np.exp(-z))
        expected_loss = -np.mean(Y * np.log(Yhat) + (1 - Y) * np.log(1 - Yhat))
    else:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        Yhat = e / e.sum(axis=1, keepdims=True)
        expected_loss = -np.mean(np.sum(Y * np.log(Yhat), axis=1))
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    np.testing.assert_allclose(gradient, -(x.T @ (Y - Yhat)) / 128 + 2 * l2_lambda * model.w, rtol=1e-11,
                               atol=1e-15)
    np.testing.assert_array_equal(model.w, w_before)


def test_softmax_loss_and_correct_equal_their_definitions():
    rng = np.random.default_rng(5)
    z = rng.normal(0, 3, (500, 10))
    z[:50, 7] = z[:50, 2] = z[:50].max(axis=1) + 1  # ties: argmax takes the first, class 2
    Y = np.eye(10)[rng.integers(0, 10, 500)]
    Y[:25] = np.eye(10)[2]
    Y[25:50] = np.eye(10)[7]
    expected = -math.fsum(np.sum(Y * log_softmax(z), axis=1).tolist()) / 500  # one-hot: each row sum is exact
    assert SoftmaxRegression.cross_entropy(z, Y) == expected
    correct = SoftmaxRegression.correct(z, Y)
    np.testing.assert_array_equal(correct, np.argmax(z, axis=1) == np.argmax(Y, axis=1))
    assert correct[:25].all() and not correct[25:50].any()


def test_log_sigmoid_and_sigmoid_are_the_textbook_functions():
    z = np.linspace(-30, 30, 2001)
    np.testing.assert_allclose(log_sigmoid(z), -np.log1p(np.exp(-z)), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-15)


@pytest.mark.parametrize("model_class", [LogisticRegression, SoftmaxRegression])
def test_several_weights_in_one_pass_give_the_figures_of_each_alone(model_class):
    # evaluate_each and accuracy_each read the data once for all weights: the same bits as one at a
    # time, and the softmax accuracies (single precision where it decides) those of the exact logits.
    X, Y = pixels_problem(model_class.num_outputs, 2000, 13)
    rng = np.random.default_rng(14)
    model = model_class(num_inputs=785)
    weights = [rng.normal(0, scale, model.w.shape) for scale in (0.001, 0.05, 0.3)]
    together = model.evaluate_each(X, Y, weights)
    accuracies = model.accuracy_each(X, Y, weights)
    for w, figures, accuracy in zip(weights, together, accuracies):
        model.w = w
        z = X @ w
        assert figures == (model.cross_entropy(z, Y), model.accuracy_from_logits(z, Y)) == model.evaluate(X, Y)
        assert accuracy == model.accuracy_from_logits(z, Y) == model.accuracy(X, Y)
