"""mnist/splits.py: the pre-processing and the original's splits, on hand-numbered images and on the real files."""

from __future__ import annotations

from fractions import Fraction
import numpy as np
from mnist_report.mnist.splits import make_split, pre_process_images
from support.mnist_files import raw_mnist, real_splits, release_real_data  # noqa: F401  (fixtures)


def test_pre_process_images_scales_to_minus_one_one_and_appends_a_bias_column_of_ones():
    images = np.zeros((2, 784), dtype=np.uint8)
    images[0, :3] = [0, 255, 51]
    images[1, :3] = [128, 127, 1]
    X = pre_process_images(images)
    assert X.shape == (2, 785) and X.values.dtype == np.float64 and X.scale == 255 == X.bound
    # The inputs are kept as integers over 255: (2p - 255) / 255 is the original's p / 127.5 - 1 exactly.
    for p, value in ((0, X.values[0, 0]), (255, X.values[0, 1]), (51, X.values[0, 2]), (128, X.values[1, 0]),
                     (127, X.values[1, 1]), (1, X.values[1, 2])):
        assert Fraction(value) / 255 == Fraction(p) / Fraction(127.5) - 1
    assert np.all(X.values[:, 3:784] == -255.0)
    np.testing.assert_array_equal(X.values[:, 784], [255.0, 255.0])  # the bias input 1
    # uint8 input must not wrap around: every value lies in [-1, 1]
    assert X.values[:, :784].min() >= -255 and X.values[:, :784].max() <= 255
    # As floats, the original's formula to within its own rounding (one ulp of 1).
    np.testing.assert_allclose(X.as_floats()[:, :784], images / 127.5 - 1, rtol=0, atol=2.3e-16)


def images_numbered(n: int) -> np.ndarray:
    """Image ``i`` has every pixel equal to ``10 * i``, so a row of X tells which image it came from."""
    return (np.arange(n, dtype=np.uint8)[:, None] * 10).repeat(784, axis=1)


def test_make_split_binary_keeps_only_the_two_classes_in_order_with_target_one_for_the_first():
    labels = np.array([3, 2, 7, 2, 3, 0, 2], dtype=np.uint8)
    split = make_split(images_numbered(7), labels, "binary", (2, 3))
    kept = [0, 1, 3, 4, 6]
    assert split.labels.tolist() == [3, 2, 2, 3, 2]
    assert split.Y.shape == (5, 1) and split.Y.dtype == np.float64
    assert split.Y[:, 0].tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]
    assert split.X.shape == (5, 785)
    np.testing.assert_array_equal(split.X.values[:, 0], 2.0 * np.array(kept) * 10 - 255)
    np.testing.assert_array_equal(split.X.values[:, 784], np.full(5, 255.0))


def test_make_split_binary_target_follows_the_order_of_classes():
    labels = np.array([0, 7, 2, 7], dtype=np.uint8)
    split = make_split(images_numbered(4), labels, "binary", (7, 0))
    assert split.labels.tolist() == [0, 7, 7]
    assert split.Y[:, 0].tolist() == [0.0, 1.0, 1.0]


def test_make_split_softmax_keeps_every_digit_with_one_hot_targets():
    labels = np.array([5, 0, 4, 1, 9, 2, 9], dtype=np.uint8)
    split = make_split(images_numbered(7), labels, "softmax")
    assert split.X.shape == (7, 785)
    np.testing.assert_array_equal(split.X.values[:, 0], 2.0 * np.arange(7) * 10 - 255)
    assert split.Y.shape == (7, 10) and split.Y.dtype == np.float64
    expected = np.zeros((7, 10))
    expected[np.arange(7), labels] = 1
    np.testing.assert_array_equal(split.Y, expected)
    assert split.labels.tolist() == labels.tolist()


def test_real_binary_splits_have_4005_training_and_2042_validation_samples():
    train, validation = real_splits("binary")
    assert train.X.shape == (4005, 785)
    assert validation.X.shape == (2042, 785)
    assert train.Y.shape == (4005, 1) and validation.Y.shape == (2042, 1)
    for split in (train, validation):
        assert set(split.labels.tolist()) == {2, 3}
        np.testing.assert_array_equal(split.Y[:, 0], (split.labels == 2).astype(np.float64))
        np.testing.assert_array_equal(split.X.values[:, 784], 255.0)
        assert split.X.values[:, :784].min() == -255.0 and split.X.values[:, :784].max() == 255.0


def test_real_binary_splits_keep_the_images_of_the_two_classes_in_file_order():
    train, validation = real_splits("binary")
    raw = raw_mnist()
    first = raw["train_labels"][:20000]
    kept = np.flatnonzero((first == 2) | (first == 3))
    np.testing.assert_array_equal(train.X.values[:, :784], 2.0 * raw["train_images"][kept] - 255)
    np.testing.assert_array_equal(train.labels, first[kept])
    kept = np.flatnonzero((raw["test_labels"] == 2) | (raw["test_labels"] == 3))
    np.testing.assert_array_equal(validation.X.values[:, :784], 2.0 * raw["test_images"][kept] - 255)
