"""Pins the data facts: IDX parsing and verification, the pre-processing and the original's splits."""

from __future__ import annotations

import functools
import hashlib
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mnist_report.common.errors import PipelineError
from mnist_report.mnist.data import IMAGES_MAGIC, LABELS_MAGIC, MNIST_FILES, IdxFile, encode_idx, parse_idx, verify_idx
from mnist_report.mnist.splits import load_splits, make_split, pre_process_images

REAL_MNIST = Path(__file__).resolve().parents[1] / "data" / "mnist"


# --- hand-built IDX files --------------------------------------------------------------------------

def idx_images(pixels: np.ndarray, count: int | None = None, magic: int = IMAGES_MAGIC) -> bytes:
    """IDX images built with struct alone: ``pixels`` (n, 28, 28) uint8; ``count`` overrides the header."""
    n = pixels.shape[0] if count is None else count
    return struct.pack(">IIII", magic, n, 28, 28) + bytes(pixels.astype(np.uint8).ravel().tolist())


def idx_labels(labels: list[int], count: int | None = None, magic: int = LABELS_MAGIC) -> bytes:
    n = len(labels) if count is None else count
    return struct.pack(">II", magic, n) + bytes(labels)


@pytest.fixture
def pixels() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)


def test_parse_idx_images_are_n_by_784_row_major_with_every_pixel_kept(pixels):
    array = parse_idx(idx_images(pixels), IMAGES_MAGIC, "imgs")
    assert array.shape == (3, 28 * 28)
    assert array.dtype == np.uint8
    assert array[1, 5 * 28 + 17] == pixels[1, 5, 17]  # row 5, column 17 of the second image
    np.testing.assert_array_equal(array, pixels.reshape(3, 784))


def test_parse_idx_labels_are_a_vector_of_the_stored_bytes():
    array = parse_idx(idx_labels([5, 0, 4, 1, 9]), LABELS_MAGIC, "lbls")
    assert array.shape == (5,)
    assert array.dtype == np.uint8
    assert array.tolist() == [5, 0, 4, 1, 9]


def test_encode_idx_writes_the_bytes_of_the_hand_built_format(pixels):
    assert encode_idx(pixels, IMAGES_MAGIC) == idx_images(pixels)
    assert encode_idx(pixels.reshape(3, 784), IMAGES_MAGIC) == idx_images(pixels)
    assert encode_idx(np.array([5, 0, 4]), LABELS_MAGIC) == idx_labels([5, 0, 4])


def test_wrong_magic_number_names_the_source_and_both_magic_numbers():
    with pytest.raises(PipelineError) as raised:
        parse_idx(idx_labels([1, 2]), IMAGES_MAGIC, "mirror/train-images-idx3-ubyte")
    message = str(raised.value)
    assert message.startswith("mirror/train-images-idx3-ubyte:")
    assert "0x00000801" in message and "0x00000803" in message


@pytest.mark.parametrize("change", [-1, +1], ids=["one_byte_short", "one_extra_byte"])
def test_images_whose_size_disagrees_with_the_header_are_refused_naming_the_source(pixels, change):
    data = idx_images(pixels)
    data = data[:-1] if change < 0 else data + b"\x00"
    with pytest.raises(PipelineError) as raised:
        parse_idx(data, IMAGES_MAGIC, "some/images-file")
    message = str(raised.value)
    assert message.startswith("some/images-file:")
    assert f"header says 3x28x28 = 2352 bytes of data, file has {2352 + change}" in message


@pytest.mark.parametrize("change", [-1, +1], ids=["one_byte_short", "one_extra_byte"])
def test_labels_whose_size_disagrees_with_the_header_are_refused_naming_the_source(change):
    data = idx_labels([1, 2, 3], count=3 - change)
    with pytest.raises(PipelineError, match=r"^some/labels-file: header says \d = \d bytes of data"):
        parse_idx(data, LABELS_MAGIC, "some/labels-file")


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "0 bytes is too short for an IDX header"),
    (b"\x00\x00\x08", "3 bytes is too short for an IDX header"),
    (struct.pack(">II", IMAGES_MAGIC, 3), "8 bytes is too short for a 3-dimensional IDX header"),
    (struct.pack(">IIH", IMAGES_MAGIC, 3, 28), "10 bytes is too short for a 3-dimensional IDX header"),
    (struct.pack(">I", LABELS_MAGIC), "4 bytes is too short for a 1-dimensional IDX header"),
], ids=["empty", "partial_magic", "images_header_missing_dims", "images_header_cut", "labels_header_missing_count"])
def test_file_shorter_than_its_header_is_refused_naming_the_source(data, expected):
    magic = LABELS_MAGIC if data[:4] == struct.pack(">I", LABELS_MAGIC) else IMAGES_MAGIC
    with pytest.raises(PipelineError) as raised:
        parse_idx(data, magic, "short-file")
    assert str(raised.value) == f"short-file: {expected}"


def test_header_sizes_whose_product_overflows_64_bits_are_refused():
    # 4 * 2**31 * 2**31 = 2**64: in int64 arithmetic that wraps to 0, matching an empty body.
    data = struct.pack(">IIII", IMAGES_MAGIC, 4, 2**31, 2**31)
    with pytest.raises(PipelineError, match=r"^crafted: header says 4x2147483648x2147483648 = 18446744073709551616 bytes"):
        parse_idx(data, IMAGES_MAGIC, "crafted")


def test_image_file_with_zero_items_is_a_count_mismatch_not_a_crash():
    data = struct.pack(">IIII", IMAGES_MAGIC, 0, 28, 28)
    assert parse_idx(data, IMAGES_MAGIC, "empty").shape == (0, 784)
    spec = IdxFile("empty", "", hashlib.sha256(data).hexdigest(), IMAGES_MAGIC, 3)
    with pytest.raises(PipelineError, match=r"^empty: 0 items, expected 3$"):
        verify_idx(data, spec, "empty")


# --- verify_idx ------------------------------------------------------------------------------------

def spec_for(name: str, data: bytes, magic: int, count: int) -> IdxFile:
    return IdxFile(name, "0" * 32, hashlib.sha256(data).hexdigest(), magic, count)


def test_verify_idx_accepts_the_file_its_spec_describes(pixels):
    data = idx_images(pixels)
    assert verify_idx(data, spec_for("imgs", data, IMAGES_MAGIC, 3), "imgs") is None


def test_verify_idx_sha256_mismatch_names_the_file_and_both_digests(pixels):
    data = idx_images(pixels)
    spec = spec_for("imgs", data, IMAGES_MAGIC, 3)
    tampered = data[:-1] + bytes([data[-1] ^ 1])  # same header and size, one pixel differs
    actual = hashlib.sha256(tampered).hexdigest()
    with pytest.raises(PipelineError) as raised:
        verify_idx(tampered, spec, "mirror/train-images-idx3-ubyte")
    assert str(raised.value) == f"mirror/train-images-idx3-ubyte: sha256 {actual}, expected {spec.sha256}"


def test_verify_idx_item_count_mismatch_names_the_file_and_both_counts():
    data = idx_labels([1, 2, 3, 4])
    spec = spec_for("lbls", data, LABELS_MAGIC, 5)
    with pytest.raises(PipelineError) as raised:
        verify_idx(data, spec, "dir/t10k-labels-idx1-ubyte")
    assert str(raised.value) == "dir/t10k-labels-idx1-ubyte: 4 items, expected 5"


def test_verify_idx_checks_the_magic_of_the_spec(pixels):
    data = idx_images(pixels)
    spec = IdxFile("lbls", "0" * 32, hashlib.sha256(data).hexdigest(), LABELS_MAGIC, 3)
    with pytest.raises(PipelineError, match="magic number 0x00000803, expected 0x00000801"):
        verify_idx(data, spec, "lbls")


# --- pre-processing and splits ---------------------------------------------------------------------

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


# --- the real data ---------------------------------------------------------------------------------

def real_mnist() -> Path:
    """The directory ``dvc repro download`` fills; a test needing it FAILS (not skips) when it is missing."""
    missing = [spec.name for spec in MNIST_FILES if not (REAL_MNIST / spec.name).is_file()]
    if missing:
        pytest.fail(f"{REAL_MNIST} lacks {', '.join(missing)}: run `dvc repro download` first", pytrace=False)
    return REAL_MNIST


@functools.cache
def real_splits(task: str):
    return load_splits(task, (2, 3), directory=real_mnist())


@functools.cache
def raw_mnist() -> dict[str, np.ndarray]:
    """The four files read straight from their bytes (offsets 16 and 8), independently of parse_idx."""
    def read(name: str, offset: int) -> np.ndarray:
        return np.frombuffer((real_mnist() / name).read_bytes(), np.uint8, offset=offset)

    return {"train_images": read("train-images-idx3-ubyte", 16).reshape(60000, 784),
            "train_labels": read("train-labels-idx1-ubyte", 8),
            "test_images": read("t10k-images-idx3-ubyte", 16).reshape(10000, 784),
            "test_labels": read("t10k-labels-idx1-ubyte", 8)}


@pytest.fixture(scope="module", autouse=True)
def release_real_data():
    """Frees the real splits (a few hundred MB) once this module's tests are done."""
    yield
    real_splits.cache_clear()
    raw_mnist.cache_clear()


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


def test_real_binary_splits_keep_the_images_of_the_two_classes_in_file_order():
    train, validation = real_splits("binary")
    raw = raw_mnist()
    first = raw["train_labels"][:20000]
    kept = np.flatnonzero((first == 2) | (first == 3))
    np.testing.assert_array_equal(train.X.values[:, :784], 2.0 * raw["train_images"][kept] - 255)
    np.testing.assert_array_equal(train.labels, first[kept])
    kept = np.flatnonzero((raw["test_labels"] == 2) | (raw["test_labels"] == 3))
    np.testing.assert_array_equal(validation.X.values[:, :784], 2.0 * raw["test_images"][kept] - 255)
