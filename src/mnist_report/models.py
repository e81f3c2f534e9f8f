"""The two models of the report, in NumPy: logistic regression (Task 2) and softmax regression (Task 3).

Shapes: ``X`` (N, 785) with the bias column last; ``w`` (785, K) with K = 1 (logistic) or 10
(softmax); ``Y`` (N, 1) of 0/1 or (N, 10) one-hot. Both minimise ``J = C + lambda R`` with the mean
cross-entropy ``C`` and ``R(w) = ||w||^2 = sum_ij w_ij^2`` (every weight, bias row included, no 1/2),
whose gradient is the same expression for both (Tasks 1a, 1b, 4a):

    dJ/dw = -(1/N) X^T (Y - Yhat) + 2 lambda w          (785, K)

The loss they report is ``C`` alone, as the original's figures are. The products ``X w`` and
``X^T (Y - Yhat)`` go through :func:`mnist_report.speed.product`: the same dot products, in
blocks of rows that run faster.
"""

from __future__ import annotations

import numpy as np

from mnist_report.speed import product  # A @ B, in row blocks (same sums; see speed.py)


def mean(values: np.ndarray) -> float:
    """Returns the mean of a 1-D float64 array: ``np.mean(values)`` to the bit (the same pairwise
    ``np.add.reduce``, then the same division by the count), without its Python layers (~5 us, which
    count at every step)."""
    return float(np.add.reduce(values) / values.shape[0])


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """Returns ``ln sigma(z) = -ln(1 + e^-z)``, finite for every finite ``z`` (no overflow)."""
    return -np.logaddexp(0.0, -z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Returns ``1 / (1 + e^-z)`` without overflow warnings for large ``|z|``."""
    # e^-|z| never overflows; the two branches are the same function written two ways.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def shifted_exponentials(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns ``s = z - max z``, ``e^s`` and ``sum_k e^s_k`` (N, 1) along axis 1: what ``softmax`` and
    ``log_softmax`` share, shifted by the row maximum so that nothing overflows."""
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, e.sum(axis=1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Returns ``ln softmax(z)`` along axis 1: ``z_k - max z - ln sum_k' e^(z_k' - max z)``."""
    shifted, _, total = shifted_exponentials(z)
    return shifted - np.log(total)


def softmax(z: np.ndarray) -> np.ndarray:
    """Returns ``e^z_k / sum_k' e^z_k'`` along axis 1, shifted by the row maximum so that nothing overflows."""
    _, e, total = shifted_exponentials(z)
    return e / total


class LinearModel:
    """A linear model ``yhat = f(X w)`` with zero initial weights; subclasses choose ``f`` and the loss."""

    num_outputs: int

    def __init__(self, l2_lambda: float = 0.0, num_inputs: int = 785):
        self.l2_lambda = l2_lambda
        self.w = np.zeros((num_inputs, self.num_outputs))

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Returns ``z = X w``   (N, K), C-contiguous."""
        return product(X, self.w)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Returns ``yhat = f(X w)``   (N, K)."""
        return self.activation(self.logits(X))

    def loss(self, X: np.ndarray, Y: np.ndarray) -> float:
        """Returns the mean cross-entropy ``C`` of the current weights on (X, Y)."""
        return self.loss_from_logits(self.logits(X), Y)

    def gradient(self, X: np.ndarray, Y: np.ndarray, Yhat: np.ndarray) -> np.ndarray:
        """Returns ``dJ/dw = -(1/N) X^T (Y - Yhat) + 2 lambda w``   (785, K), given ``Yhat = forward(X)``."""
        return self.gradient_from_residual(X, Y - Yhat)

    def gradient_from_residual(self, X: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """Returns ``dJ/dw = -(1/N) X^T residual + 2 lambda w``   (785, K), given ``residual = Y - Yhat``
        (N, K); a new array, which the caller may change in place."""
        gradient = product(X.T, residual)
        # In place on the product's buffer, which saves two 785 x K temporaries a step; dividing by -N
        # is -(...)/N to the bit (rounding is symmetric in sign).
        gradient /= -X.shape[0]
        # Without a penalty the term is 0 * w = +-0, which changes no weight: it could only turn a
        # -0 of the gradient into +0, and w - (+-0) is w for every w the trainer meets (it starts at
        # +0, and x - y rounds to -0 only for x = -0).
        if self.l2_lambda:
            gradient += 2 * self.l2_lambda * self.w
        return gradient

    def loss_and_gradient(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
        """Returns ``(C, dJ/dw)`` on the batch (X, Y), both from one forward pass ``z = X w``."""
        z = self.logits(X)
        return self.loss_from_logits(z, Y), self.gradient(X, Y, self.activation(z))

    def accuracy(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None) -> float:
        """Returns the fraction of samples whose prediction equals the target, with weights ``w``
        (785, K) if given (the trainer's copy of a moment's weights), else the model's own."""
        return self.accuracy_from_logits(product(X, self.w if w is None else w), Y)

    @classmethod
    def accuracy_from_logits(cls, z: np.ndarray, Y: np.ndarray) -> float:
        """Returns the fraction of samples whose prediction from the logits ``z`` equals the target."""
        # count / N is np.mean of the booleans to the bit: their sum is an exact integer, then one
        # correctly rounded division. Counting is ~3x faster than averaging in floats.
        return cls.correct_count(z, Y) / len(z) if len(z) else float("nan")  # np.mean's nan for no samples

    @classmethod
    def correct_count(cls, z: np.ndarray, Y: np.ndarray) -> int:
        """Returns the number of samples whose prediction from the logits ``z`` equals the target."""
        return int(np.count_nonzero(cls.correct(z, Y)))

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

    def loss_and_gradient(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
        """Returns ``(C, dJ/dw)`` on the batch (X, Y); the loss and ``Yhat`` share their exponentials.

        The operations of ``shifted_exponentials``, ``log_softmax``, ``softmax``, ``loss_from_logits``
        and ``gradient``, each done once, in place on the buffers this method allocates: the same
        bits, without their six temporaries.
        """
        z = self.logits(X)
        np.subtract(z, z.max(axis=1, keepdims=True), out=z)  # z - max z
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        np.subtract(z, np.log(total), out=z)  # ln yhat
        loss = -mean(np.einsum("nk,nk->n", Y, z))
        np.divide(e, total, out=e)  # yhat
        np.subtract(Y, e, out=e)  # Y - yhat
        return loss, self.gradient_from_residual(X, e)

    @staticmethod
    def loss_from_logits(z: np.ndarray, Y: np.ndarray) -> float:
        """Returns ``C`` from the logits, via ``log_softmax`` so that a probability that rounds to 0
        still gives a finite loss."""
        # sum_k y_k ln yhat_k per sample as an einsum: ~4x faster than sum(Y * ..., axis=1), whose
        # 10-term row reductions are slow in NumPy. Exact: with one-hot Y each sum is one term plus
        # exact zeros, the same in any order.
        return -mean(np.einsum("nk,nk->n", Y, log_softmax(z)))

    @staticmethod
    def correct(z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Returns (N,) booleans: is ``argmax_k z_k`` (= ``argmax_k yhat_k``; softmax keeps the order)
        the target's digit?"""
        # The one-hot target read at the predicted class is 1 exactly when the two agree: the same as
        # comparing with argmax_k y_k, without that second row reduction (~1.5x faster).
        return Y[np.arange(len(z)), np.argmax(z, axis=1)] == 1


def make_model(task: str, l2_lambda: float) -> LinearModel:
    """Returns a zero-initialised model for ``task`` ('binary' or 'softmax')."""
    return LogisticRegression(l2_lambda) if task == "binary" else SoftmaxRegression(l2_lambda)
