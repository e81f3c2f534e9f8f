"""The real MNIST files (``data/mnist``, as ``dvc repro download`` leaves them) and the splits read
from them, for the tests that pin the original's splits; read once per module (``release_real_data``
frees them after it)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from mnist_report.mnist.data import MNIST_FILES
from mnist_report.mnist.splits import load_splits
from support.paths import REPO

REAL_MNIST = REPO / "data" / "mnist"


def real_mnist() -> Path:
    """The directory ``dvc repro download`` fills; a test needing it FAILS (not skips) when it is missing."""
    missing = [spec.name for spec in MNIST_FILES if not (REAL_MNIST / spec.name).is_file()]
    if missing:
        pytest.fail(f"{REAL_MNIST} lacks {', '.join(missing)}: run `dvc repro download` first", pytrace=False)
    return REAL_MNIST


@functools.cache
def real_splits(task: str):
    """The training and validation splits of ``task`` (classes 2 and 3) read from the real files."""
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
