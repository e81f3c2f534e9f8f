"""Provenance: what the results were made from (Appendix B) and the facts of the data (Setup).

:func:`git_state` reads the commit checked out and whether the working tree differs from it;
:func:`tool_versions` the versions of the pinned packages; :func:`data_facts` the sha256 of
the four MNIST files, the sizes of the sets and the image geometry of :mod:`mnist_report.mnist.data`.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from mnist_report.common.errors import PipelineError
from mnist_report.mnist import data
from mnist_report.reporting.tracing import file_digest

#: Paths the pipeline itself writes while ``dvc repro`` runs: a change there is a result, not a change
#: of the code or settings that produced it, so it does not make the working tree "modified".
#: ``.gitignore`` files are included because DVC appends its outputs to them.
PIPELINE_OUTPUTS = ("dvc.lock", "metrics", "models", "data", "report/figures", "report/build")
GIT_TIMEOUT_SECONDS = 30
SHOWN_CHANGES = 6



def _git(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "--no-optional-locks", "-C", str(root), *arguments], capture_output=True,
                          timeout=GIT_TIMEOUT_SECONDS, check=False)


class Tree(StrEnum):
    """The working tree of the commit the report was built from (:func:`git_state`)."""

    MODIFIED = "modified"
    UNCHANGED = "unchanged"
    UNKNOWN = "unknown"  # no git, or no repository


def git_state(root: Path) -> dict[str, Any]:
    """Returns :func:`read_git_state` with the facts Appendix B chooses its sentences by:
    ``has_commit``; ``tree``: a :class:`Tree`; ``more_changes``: whether
    more paths changed than ``changes`` lists."""
    state = read_git_state(root)
    state["has_commit"] = state["commit"] is not None
    state["tree"] = {True: Tree.MODIFIED, False: Tree.UNCHANGED, None: Tree.UNKNOWN}[state["modified"]]
    state["more_changes"] = state["change_count"] > len(state["changes"])
    return state


def read_git_state(root: Path) -> dict[str, Any]:
    """Returns the git commit checked out in ``root`` and whether the working tree differs from it.

    ``commit``: the full hash, or None with ``note`` saying why (no git, not a repository, no
    commit yet). ``modified``: True, False or None (unknown); ``changes``: the first changed paths
    and ``change_count``. Changes under :data:`PIPELINE_OUTPUTS` and to ``.gitignore`` files are
    ignored: the pipeline writes them itself during ``dvc repro``. Untracked files count (a new
    source file changes the code), except those git ignores.

    ``commit`` is the newest commit at or before HEAD that changed a path outside
    :data:`PIPELINE_OUTPUTS`: committing a run's dvc.lock and metrics after it leaves the report the
    same, so that a fresh clone renders the bytes that dvc.lock records. DVC does not rerun the stage
    for a new commit alone: a report rendered before committing its own changes shows the parent
    commit and "modified" until ``dvc repro --force report``.
    """
    state: dict[str, Any] = {"commit": None, "note": "", "modified": None, "changes": [], "change_count": 0}
    if shutil.which("git") is None:
        state["note"] = "git is not installed"
        return state
    try:
        head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
        if head.returncode != 0:
            inside = _git(root, "rev-parse", "--is-inside-work-tree")
            if inside.returncode != 0:
                state["note"] = "not a git repository"
                return state
            state["note"] = "the repository has no commit yet"
        excludes = [f":(exclude){path}" for path in PIPELINE_OUTPUTS] + [":(exclude,glob)**/.gitignore"]
        if head.returncode == 0:
            # The newest commit that changed anything besides the pipeline's outputs: the commit
            # that records a run's dvc.lock and metrics names the same code as the run itself.
            newest = _git(root, "log", "-1", "--format=%H", "HEAD", "--", ".", *excludes)
            found = newest.stdout.decode().strip() if newest.returncode == 0 else ""
            state["commit"] = found or head.stdout.decode().strip()
        status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=normal", "--", ".", *excludes)
    except (OSError, subprocess.TimeoutExpired) as error:
        state["note"] = f"git failed ({error})"
        return state
    if status.returncode != 0:
        state["note"] = "git status failed: " + " ".join(status.stderr.decode(errors="replace").split())
        return state
    entries = status.stdout.decode(errors="replace").split("\0")
    paths, i = [], 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename or copy is followed by its source path
            i += 1
    state["modified"] = bool(paths)
    state["changes"] = sorted(paths)[:SHOWN_CHANGES]
    state["change_count"] = len(paths)
    return state


def tool_versions() -> list[dict[str, str]]:
    """Returns the versions of the packages that made the results, which requirements.lock pins.

    Not Python's nor TeX's: the results do not depend on Python's version (mnist_report.core.exact), and
    a document that named them would differ from machine to machine for no change of a result, so
    that a fresh clone's ``dvc repro`` would rewrite dvc.lock (pdfTeX names itself in the PDF).
    """
    versions = []
    for tool, package in (("NumPy", "numpy"), ("Matplotlib", "matplotlib"), ("Jinja2", "jinja2"),
                          ("DVC", "dvc")):
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        versions.append({"tool": tool, "version": version})
    return versions


def data_facts(data_dir: Path, shown_dir: str, classes: Sequence[int]) -> dict[str, Any]:
    """Returns the sha256 of the four MNIST files (and whether each is the digest mnist_report.mnist.data
    expects), the sizes of the training and validation sets, all and binary (``classes``), and the
    number of training images of each digit (``train_digit_counts``, index = digit)."""
    files, labels = [], {}
    for spec in data.MNIST_FILES:
        path = data_dir / spec.name
        try:
            sha256 = file_digest(path, "sha256")
        except FileNotFoundError:
            raise PipelineError(f"{shown_dir}/{spec.name}: missing; expected the MNIST files of the download stage") from None
        except OSError as error:
            raise PipelineError(f"{shown_dir}/{spec.name}: cannot read ({error.strerror or error})") from error
        files.append({"name": spec.name, "sha256": sha256, "expected": sha256 == spec.sha256})
        if spec.magic == data.LABELS_MAGIC:
            labels[spec.name] = data.parse_idx(path.read_bytes(), spec.magic, f"{shown_dir}/{spec.name}")
    train = labels["train-labels-idx1-ubyte"][: data.TRAIN_SIZE]
    validation = labels["t10k-labels-idx1-ubyte"]
    first, second = classes

    def binary_count(values: np.ndarray) -> int:
        return int(np.count_nonzero((values == first) | (values == second)))

    return {"files": files, "all_expected": all(f["expected"] for f in files),
            "image_side": data.IMAGE_SIDE, "digits": data.DIGITS,
            "train_size": int(train.size), "val_size": int(validation.size),
            "binary_train_size": binary_count(train), "binary_val_size": binary_count(validation),
            "train_digit_counts": [int(n) for n in np.bincount(train.astype(np.int64), minlength=data.DIGITS)]}
