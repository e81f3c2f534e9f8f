"""The original's splits read from the real MNIST files (data/mnist, as dvc repro download leaves them)."""

from __future__ import annotations

import numpy as np
import pytest
from support.mnist_files import raw_mnist, real_splits, release_real_data  # noqa: F401  (fixtures)


@pytest.mark.slow
def test_real_softmax_splits_are_the_first_20000_training_images_and_the_10000_test_images():
    train, validation = real_splits("softmax")
    raw = raw_mnist()
    assert train.X.shape == (20000, 785)
    assert validation.X.shape == (10000, 785)
    assert train.Y.shape == (20000, 10) and validation.Y.shape == (10000, 10)
    # file order kept: MNIST's first training digits are 5 0 4 1 9, its first test digits 7 2 1 0 4
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert validation.labels[:5].tolist() == [7, 2, 1, 0, 4]
    np.testing.assert_array_equal(train.X.values[:, :784], 2.0 * raw["train_images"][:20000] - 255)
    np.testing.assert_array_equal(validation.X.values[:, :784], 2.0 * raw["test_images"] - 255)
    np.testing.assert_array_equal(train.Y.argmax(axis=1), train.labels)
    np.testing.assert_array_equal(train.Y.sum(axis=1), 1.0)
