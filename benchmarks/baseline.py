"""The straightforward implementation the benchmark measures our trainer against.

Written the way the course code is: a Python list of indices shuffled in place each epoch and
fancy indexing per batch, the loss from ``ln yhat``, a full forward pass (sigmoid or softmax) for
every accuracy, and the validation set passed forward twice per validation (once for its loss,
once for its accuracy). It shares nothing with ``mnist_report.core.models`` or ``mnist_report.core.sgd``
beyond the data, so that agreement between the two is evidence, not a tautology.

Conventions (``/work/shared/reference.md``): weights start at zero; batch 128, ``N // 128``
batches an epoch; ``RandomState(seed)`` seeded once per run shuffles a fresh ``list(range(N))``
each epoch; a validation after every step ``s`` with ``s % ((N // 128) // 5) == 0``; early
stopping when the oldest of the last 11 validation losses is <= each of the 10 after it.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(X, w, task):
    z = X @ w
    return sigmoid(z) if task == "binary" else softmax(z)


def cross_entropy(Y, Yhat, task):
    if task == "binary":
        return -np.mean(Y * np.log(Yhat) + (1 - Y) * np.log(1 - Yhat))
    return -np.mean(np.sum(Y * np.log(Yhat), axis=1))


def accuracy(X, Y, w, task):
    Yhat = forward(X, w, task)
    if task == "binary":
        return np.mean((Yhat >= 0.5) == (Y == 1))
    return np.mean(np.argmax(Yhat, axis=1) == np.argmax(Y, axis=1))


def train(X, Y, X_val, Y_val, *, task, learning_rate, epochs, batch_size, shuffle, early_stopping, seed,
          l2_lambda):
    """Returns (final metrics, history) of one run, as the course code computes them."""
    num_samples = X.shape[0]
    w = np.zeros((X.shape[1], 1 if task == "binary" else 10))
    num_batches = num_samples // batch_size
    validate_every = max(1, num_batches // 5)
    rng = np.random.RandomState(seed)
    history = {"train_loss": [], "val_loss": [], "val_accuracy": [], "train_accuracy": []}
    early_stop_epoch = None
    step = 0
    for epoch in range(epochs):
        indices = list(range(num_samples))
        if shuffle:
            rng.shuffle(indices)
        for i in range(num_batches):
            batch = indices[i * batch_size:(i + 1) * batch_size]
            X_batch, Y_batch = X[batch], Y[batch]
            Yhat = forward(X_batch, w, task)
            history["train_loss"].append(cross_entropy(Y_batch, Yhat, task))
            grad = -X_batch.T @ (Y_batch - Yhat) / batch_size + 2 * l2_lambda * w
            w = w - learning_rate * grad
            if step % validate_every == 0:
                history["val_loss"].append(cross_entropy(Y_val, forward(X_val, w, task), task))
                history["val_accuracy"].append(accuracy(X_val, Y_val, w, task))
                history["train_accuracy"].append(accuracy(X, Y, w, task))
                val_loss = history["val_loss"]
                if early_stopping and len(val_loss) >= 11 and all(val_loss[-11] <= v for v in val_loss[-10:]):
                    early_stop_epoch = epoch
                    break
            step += 1
        if early_stop_epoch is not None:
            step += 1  # the step that stopped the run was taken
            break
    metrics = {
        "train_loss": float(cross_entropy(Y, forward(X, w, task), task)),
        "val_loss": float(cross_entropy(Y_val, forward(X_val, w, task), task)),
        "train_accuracy": float(accuracy(X, Y, w, task)),
        "val_accuracy": float(accuracy(X_val, Y_val, w, task)),
        "early_stop_epoch": early_stop_epoch,
        "steps": step,
        "weight_norm_squared": float(np.sum(w ** 2)),
    }
    return metrics, history
