"""The original's splits and pre-processing: from the MNIST arrays (:mod:`mnist_report.mnist.data`) to
the models' data sets (:class:`~mnist_report.core.models.Split`).

Shapes: after :func:`pre_process_images`, ``X`` is ``(n, 785)`` with the bias column last, kept exactly
as integers over a scale (:class:`~mnist_report.core.exact.Inputs`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_report.core.exact import Inputs
from mnist_report.core.models import Split
from mnist_report.mnist.data import DIGITS, MNIST_DIR, TRAIN_SIZE, load_mnist

#: ``x / 127.5 - 1 = (2x - 255) / 255``: the inputs are kept as the integers ``2x - 255`` (and 255
#: for the bias) over this scale, so that products with them can be exact (:mod:`mnist_report.core.exact`).
INPUT_SCALE = 255


def pre_process_images(images: np.ndarray) -> Inputs:
    """Returns ``X = images / 127.5 - 1`` with a column of ones appended: (n, 784) -> (n, 785), as
    :class:`~mnist_report.core.exact.Inputs`: the integers ``2 images - 255`` and 255 over ``INPUT_SCALE``."""
    values = np.empty((images.shape[0], images.shape[1] + 1))
    np.multiply(images, 2.0, out=values[:, :-1])
    values[:, :-1] -= INPUT_SCALE
    values[:, -1] = INPUT_SCALE
    return Inputs(values, INPUT_SCALE, bound=INPUT_SCALE)


def one_hot(labels: np.ndarray, num_classes: int = DIGITS) -> np.ndarray:
    """Returns ``Y`` (n, num_classes) float64 with ``Y[n, labels[n]] = 1``."""
    Y = np.zeros((labels.shape[0], num_classes))
    Y[np.arange(labels.shape[0]), labels] = 1
    return Y


def make_split(images: np.ndarray, labels: np.ndarray, task: str, classes: tuple[int, int] = (2, 3)) -> Split:
    """Returns the pre-processed split for ``task``.

    Binary keeps only the two ``classes`` and sets the target to 1 for ``classes[0]`` and 0 for
    ``classes[1]``; softmax keeps all ten digits with one-hot targets.
    """
    if task == "binary":
        first, second = classes
        keep = (labels == first) | (labels == second)
        images, labels = images[keep], labels[keep]
        Y = (labels == first).astype(np.float64)[:, None]
    else:
        Y = one_hot(labels)
    return Split(pre_process_images(images), Y, labels)


def load_splits(task: str, classes: tuple[int, int] = (2, 3),
                directory: str | Path = MNIST_DIR) -> tuple[Split, Split]:
    """Returns (train, validation) as the original code builds them.

    Train: the first 20000 images of the MNIST training set, in file order; validation: the whole
    10000-image test set. The binary task then keeps the two classes of each.
    """
    arrays = load_mnist(directory)
    train = make_split(arrays["train-images-idx3-ubyte"][:TRAIN_SIZE],
                       arrays["train-labels-idx1-ubyte"][:TRAIN_SIZE], task, classes)
    validation = make_split(arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"], task, classes)
    return train, validation
