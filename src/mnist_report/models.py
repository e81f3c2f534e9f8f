"""The two models of the report, in NumPy: logistic regression (Task 2) and softmax regression (Task 3).

Shapes: ``X`` (N, 785) with the bias column last; ``w`` (785, K) with K = 1 (logistic) or 10
(softmax); ``Y`` (N, 1) of 0/1 or (N, 10) one-hot. Both minimise ``J = C + lambda R`` with the mean
cross-entropy ``C`` and ``R(w) = ||w||^2 = sum_ij w_ij^2`` (every weight, bias row included, no 1/2),
whose gradient is the same expression for both (Tasks 1a, 1b, 4a):

    dJ/dw = -(1/N) X^T (Y - Yhat) + 2 lambda w          (785, K)

The loss they report is ``C`` alone, as the original's figures are.
"""

from __future__ import annotations

import numpy as np


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """Returns ``ln sigma(z) = -ln(1 + e^-z)``, finite for every finite ``z`` (no overflow)."""
    return -np.logaddexp(0.0, -z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Returns ``1 / (1 + e^-z)`` without overflow warnings for large ``|z|``."""
    # e^-|z| never overflows; the two branches are the same function written two ways.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Returns ``ln softmax(z)`` along axis 1: ``z_k - max z - ln sum_k' e^(z_k' - max z)``."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """Returns ``e^z_k / sum_k' e^z_k'`` along axis 1, shifted by the row maximum so that nothing overflows."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class LinearModel:
    """A linear model ``yhat = f(X w)`` with zero initial weights; subclasses choose ``f`` and the loss."""

    num_outputs: int

    def __init__(self, l2_lambda: float = 0.0, num_inputs: int = 785):
        self.l2_lambda = l2_lambda
        self.w = np.zeros((num_inputs, self.num_outputs))

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Returns ``z = X w``   (N, K)."""
        return X @ self.w

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Returns ``yhat = f(X w)``   (N, K)."""
        return self.activation(self.logits(X))

    def loss(self, X: np.ndarray, Y: np.ndarray) -> float:
        """Returns the mean cross-entropy ``C`` of the current weights on (X, Y)."""
        return self.loss_from_logits(self.logits(X), Y)

    def gradient(self, X: np.ndarray, Y: np.ndarray, Yhat: np.ndarray) -> np.ndarray:
        """Returns ``dJ/dw = -(1/N) X^T (Y - Yhat) + 2 lambda w``   (785, K), given ``Yhat = forward(X)``."""
        return -(X.T @ (Y - Yhat)) / X.shape[0] + 2 * self.l2_lambda * self.w

    def accuracy(self, X: np.ndarray, Y: np.ndarray) -> float:
        """Returns the fraction of samples whose prediction equals the target."""
        return float(np.mean(self.correct(self.logits(X), Y)))

    @staticmethod
    def activation(z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def loss_from_logits(z: np.ndarray, Y: np.ndarray) -> float:
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
    def loss_from_logits(z: np.ndarray, Y: np.ndarray) -> float:
        """Returns ``C`` from the logits, finite even where ``yhat`` rounds to 0 or 1:
        ``ln yhat = ln sigma(z)`` and ``ln(1 - yhat) = ln sigma(-z)``."""
        return float(-np.mean(Y * log_sigmoid(z) + (1 - Y) * log_sigmoid(-z)))

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

    @staticmethod
    def loss_from_logits(z: np.ndarray, Y: np.ndarray) -> float:
        """Returns ``C`` from the logits, via ``log_softmax`` so that a probability that rounds to 0
        still gives a finite loss."""
        return float(-np.mean(np.sum(Y * log_softmax(z), axis=1)))

    @staticmethod
    def correct(z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Returns (N,) booleans: is ``argmax_k z_k`` (= ``argmax_k yhat_k``; softmax keeps the order)
        the target's digit?"""
        return np.argmax(z, axis=1) == np.argmax(Y, axis=1)


def make_model(task: str, l2_lambda: float) -> LinearModel:
    """Returns a zero-initialised model for ``task`` ('binary' or 'softmax')."""
    return LogisticRegression(l2_lambda) if task == "binary" else SoftmaxRegression(l2_lambda)
