"""mnist/data.py: IDX parsing and verification, on hand-built IDX files (the pre-processing and the
original's splits: tests/unit/mnist/test_splits.py)."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from mnist_report.common.errors import PipelineError
from mnist_report.mnist.data import IMAGES_MAGIC, LABELS_MAGIC, IdxFile, encode_idx, parse_idx, verify_idx
from support.paths import REPO

REAL_MNIST = REPO / "data" / "mnist"


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


# --- the real data ---------------------------------------------------------------------------------
