"""The two models of the report, in NumPy: logistic regression (Task 2) and softmax regression (Task 3).

Shapes: ``X`` (N, 785) with the bias column last; ``w`` (785, K) with K = 1 (logistic) or 10
(softmax); ``Y`` (N, 1) of 0/1 or (N, 10) one-hot. Both minimise ``J = C + lambda R`` with the mean
cross-entropy ``C`` and ``R(w) = ||w||^2 = sum_ij w_ij^2`` (every weight, bias row included, no 1/2),
whose gradient is the same expression for both (Tasks 1a, 1b, 4a):

    dJ/dw = -(1/N) X^T (Y - Yhat) + 2 lambda w          (785, K)

The loss they report is ``C`` alone, as the original's figures are.

The code is the course's, line for line; what makes its every bit the same on every machine is
in :mod:`mnist_report.core.exact`, behind the names it imports: ``X`` is an :class:`~mnist_report.core.exact.Inputs`,
whose ``X @ w`` and ``X.T @ r`` are exact products, and ``exp``, ``log``, ``log1p``, ``total`` and
``row_sum`` depend on IEEE ``+ - * /`` alone, not on the CPU, the BLAS or the NumPy version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_report.core.exact import Inputs, argmax_rows, exp, log, log1p, row_sum, total


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """Returns ``ln sigma(z) = -ln(1 + e^-z) = min(z, 0) - ln(1 + e^-|z|)``, finite for every finite
    ``z`` (no overflow)."""
    return np.minimum(z, 0.0) - log1p(exp(-np.abs(z)))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Returns ``1 / (1 + e^-z)`` without overflow for large ``|z|``."""
    # e^-|z| never overflows; the two branches are the same function written two ways.
    e = exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def target_entries(Y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Returns ``sum_k y_k A_k``   (N, K) -> (N, 1) for one-hot ``Y``: each row's entry at its target.
    Exact in any order of addition (one term plus exact zeros), so NumPy's sum serves."""
    return np.sum(Y * A, axis=1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Returns ``ln softmax(z)`` along axis 1: ``z_k - max z - ln sum_k' e^(z_k' - max z)``."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - log(row_sum(exp(shifted)))


def softmax(z: np.ndarray) -> np.ndarray:
    """Returns ``e^z_k / sum_k' e^z_k'`` along axis 1, shifted by the row maximum so that nothing overflows."""
    e = exp(z - z.max(axis=1, keepdims=True))
    return e / row_sum(e)


@dataclass(frozen=True)
class Split:
    """A data set as the models see it: ``X`` (n, 785) with bias column (:class:`~mnist_report.core.exact.Inputs`); ``Y`` targets.

    ``Y`` is ``(n, 1)`` of 0/1 for the binary task, ``(n, 10)`` one-hot for softmax; ``labels`` (n,)
    holds the digits.
    """

    X: Inputs
    Y: np.ndarray
    labels: np.ndarray


class LinearModel:
    """A linear model ``yhat = f(X w)`` with zero initial weights; subclasses choose ``f`` and the loss."""

    num_outputs: int

    def __init__(self, l2_lambda: float = 0.0, num_inputs: int = 785):
        self.l2_lambda = l2_lambda
        self.w = np.zeros((num_inputs, self.num_outputs))

    def forward(self, X: Inputs) -> np.ndarray:
        """Returns ``yhat = f(X w)``   (N, K)."""
        return self.activation(X @ self.w)

    def loss(self, X: Inputs, Y: np.ndarray) -> float:
        """Returns the mean cross-entropy ``C`` of the current weights on (X, Y)."""
        return self.cross_entropy(X @ self.w, Y)

    def gradient(self, X: Inputs, Y: np.ndarray, Yhat: np.ndarray) -> np.ndarray:
        """Returns ``dJ/dw = -(1/N) X^T (Y - Yhat) + 2 lambda w``   (785, K), given ``Yhat = forward(X)``."""
        return -(X.T @ (Y - Yhat)) / len(X) + 2 * self.l2_lambda * self.w

    def loss_and_gradient(self, X: Inputs, Y: np.ndarray) -> tuple[float, np.ndarray]:
        """Returns ``(C, dJ/dw)`` on the batch (X, Y), both from one forward pass ``z = X w``."""
        z = X @ self.w
        return self.cross_entropy(z, Y), self.gradient(X, Y, self.activation(z))

    def evaluate(self, X: Inputs, Y: np.ndarray) -> tuple[float, float]:
        """Returns ``(C, accuracy)`` of the current weights on (X, Y), from one product ``z = X w``."""
        return self.evaluate_each(X, Y, [self.w])[0]

    def evaluate_each(self, X: Inputs, Y: np.ndarray, weights: list[np.ndarray]) -> list[tuple[float, float]]:
        """Returns ``(C, accuracy)`` on (X, Y) of each weight matrix (785, K) of ``weights`` (the
        SGD loop's copies of several moments), from one product that reads ``X`` once."""
        return [(self.cross_entropy(z, Y), self.accuracy_from_logits(z, Y)) for z in X.times_each(weights)]

    def accuracy(self, X: Inputs, Y: np.ndarray) -> float:
        """Returns the fraction of samples whose prediction equals the target, with the current weights."""
        return self.accuracy_each(X, Y, [self.w])[0]

    def accuracy_each(self, X: Inputs, Y: np.ndarray, weights: list[np.ndarray]) -> list[float]:
        """Returns the accuracy on (X, Y) of each weight matrix of ``weights``."""
        return [self.accuracy_from_logits(z, Y) for z in X.times_each(weights)]

    @classmethod
    def accuracy_from_logits(cls, z: np.ndarray, Y: np.ndarray) -> float:
        """Returns the fraction of samples whose prediction from the logits ``z`` equals the target."""
        # count / N is np.mean of the booleans: their sum is an exact integer, then one division.
        return int(np.count_nonzero(cls.correct(z, Y))) / len(z) if len(z) else float("nan")

    @staticmethod
    def activation(z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def cross_entropy(z: np.ndarray, Y: np.ndarray) -> float:
        raise NotImplementedError

    @staticmethod
    def correct(z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class LogisticRegression(LinearModel):
    """Binary classifier ``yhat = sigma(X w)``; class 1 is predicted where ``yhat >= 0.5``.

    ``C = -(1/N) sum_n [y^n ln yhat^n + (1 - y^n) ln(1 - yhat^n)]``.
    """

    num_outputs = 1

    @staticmethod
    def activation(z: np.ndarray) -> np.ndarray:
        return sigmoid(z)

    @staticmethod
    def cross_entropy(z: np.ndarray, Y: np.ndarray) -> float:
        """Returns ``C`` from the logits, finite even where ``yhat`` rounds to 0 or 1:
        ``ln yhat = ln sigma(z)`` and ``ln(1 - yhat) = ln sigma(-z)``."""
        return -total(Y * log_sigmoid(z) + (1 - Y) * log_sigmoid(-z)) / len(z)

    @staticmethod
    def correct(z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Returns (N, 1) booleans: is the prediction ``sigma(z) >= 0.5`` the target?"""
        return (sigmoid(z) >= 0.5) == (Y == 1)


class SoftmaxRegression(LinearModel):
    """Ten-class classifier ``yhat = softmax(X w)``; the predicted class is ``argmax_k yhat_k``.

    ``C = -(1/N) sum_n sum_k y_k^n ln yhat_k^n`` with one-hot ``y^n``.
    """

    num_outputs = 10

    @staticmethod
    def activation(z: np.ndarray) -> np.ndarray:
        return softmax(z)

    def loss_and_gradient(self, X: Inputs, Y: np.ndarray) -> tuple[float, np.ndarray]:
        """Returns ``(C, dJ/dw)`` on the batch (X, Y); the loss and ``Yhat`` share their exponentials
        (``log_softmax`` and ``softmax`` written out once)."""
        z = X @ self.w
        shifted = z - z.max(axis=1, keepdims=True)
        e = exp(shifted)
        sums = row_sum(e)
        loss = -total(target_entries(Y, shifted) - log(sums)) / len(z)
        return loss, self.gradient(X, Y, e / sums)

    @staticmethod
    def cross_entropy(z: np.ndarray, Y: np.ndarray) -> float:
        """Returns ``C`` from the logits, via ``log_softmax`` so that a probability that rounds to 0
        still gives a finite loss."""
        return -total(target_entries(Y, log_softmax(z))) / len(z)

    @staticmethod
    def correct(z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Returns (N,) booleans: is ``argmax_k z_k`` (= ``argmax_k yhat_k``; softmax keeps the order)
        the target's digit?"""
        return np.argmax(z, axis=1) == np.argmax(Y, axis=1)

    def accuracy_each(self, X: Inputs, Y: np.ndarray, weights: list[np.ndarray]) -> list[float]:
        """Returns the accuracy on (X, Y) of each weight matrix of ``weights``: the fraction of samples
        whose ``argmax_k (X w)_k`` is the target's digit, with the classes of the exact logits from
        :func:`~mnist_report.core.exact.argmax_rows` (single precision where that decides, exact elsewhere)."""
        digits = np.argmax(Y, axis=1)
        return [int(np.count_nonzero(predicted == digits)) / len(X) if len(X) else float("nan")
                for predicted in argmax_rows(X, weights)]


def make_model(task: str, l2_lambda: float) -> LinearModel:
    """Returns a zero-initialised model for ``task`` ('binary' or 'softmax')."""
    return LogisticRegression(l2_lambda) if task == "binary" else SoftmaxRegression(l2_lambda)
