"""Atomic writes: a reader (or DVC) sees either the old file or the complete new one, never a part.

A write goes to a temporary file beside its target, ``.<name>.<pid>.<random>.tmp``, renamed onto the
target when complete. A process killed outright (SIGKILL, power loss: no ``finally`` runs) leaves that
temporary file behind, never a partial target. Such leftovers cannot pass for results: ``.dvcignore``
and ``.gitignore`` hide the ``.*.tmp`` names from DVC (which hashes directory deps such as
``metrics/``) and git, and the next write of the same target removes those of dead processes.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mnist_report.common.errors import PipelineError

TEMPORARY_SUFFIX = ".tmp"


def temporary_prefix(path: Path, pid: int | None = None) -> str:
    """Returns the name prefix of the temporary files of ``path`` made by process ``pid`` (this one)."""
    return f".{path.name}.{os.getpid() if pid is None else pid}."


def process_is_alive(pid: int) -> bool:
    """Returns True if a process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Removes the temporary files and directories of ``path`` left by processes that no longer run
    (killed mid-write); returns what it removed. Those of live processes (a concurrent writer) stay."""
    removed = []
    for name in glob.glob(glob.escape(f".{path.name}.") + "*" + TEMPORARY_SUFFIX, root_dir=path.parent):
        # <pid>.<random>.tmp exactly: not the temporary file of another target whose name extends this one
        owner = re.fullmatch(r"(\d+)\.[^.]+" + re.escape(TEMPORARY_SUFFIX), name[len(path.name) + 2:])
        if owner is None or process_is_alive(int(owner.group(1))):
            continue
        leftover = path.parent / name
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        fd, name = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=TEMPORARY_SUFFIX, dir=path.parent)
    except OSError as error:
        raise PipelineError(f"cannot write {path}: {error.strerror or error}") from error
    os.close(fd)
    tmp = Path(name)
    # mkstemp creates 0600; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yields an empty temporary directory beside ``path`` (:func:`temporary_directory`); if the
    block succeeds, ``path`` is replaced by it (removed, then the directory renamed: a kill between
    the two leaves ``path`` missing, never partial)."""
    path = Path(path)
    with temporary_directory(path) as staging:
        try:
            yield staging
            umask = os.umask(0)
            os.umask(umask)
            staging.chmod(0o777 & ~umask)  # mkdtemp creates 0700
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            staging.rename(path)
        except OSError as error:
            raise PipelineError(f"cannot write {path}: {error.strerror or error}") from error


@contextlib.contextmanager
def temporary_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a new empty directory beside ``path``, named as :func:`atomic_path`'s temporary files
    are (hidden from git and DVC), and removes it after the block. A process killed in the block leaves
    it behind; the next call for the same ``path`` removes it (:func:`remove_stale_temporaries`)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        directory = Path(tempfile.mkdtemp(prefix=temporary_prefix(path), suffix=TEMPORARY_SUFFIX, dir=path.parent))
    except OSError as error:
        raise PipelineError(f"cannot write {path}: {error.strerror or error}") from error
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Writes ``value`` as indented JSON; floats keep every digit (``repr`` round-trips)."""
    write_text(path, json.dumps(value, indent=2, allow_nan=False) + "\n")
