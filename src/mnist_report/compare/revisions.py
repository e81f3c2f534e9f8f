"""The report of a revision, an experiment or the workspace, as :mod:`mnist_report.diff` compares it.

- ``report/build/report.tex`` of a revision is the DVC output that revision's ``dvc.lock`` records:
  read from the DVC cache by its md5, fetched from the default remote if the cache lacks it, and
  checked against that md5. Of the workspace: the file as it is.
- The figures (``report/figures/``, committed with git: plots with ``cache: false``) of a revision
  are that commit's blobs; of the workspace, the files.

Names are resolved as ``dvc exp show`` lists them: git revisions first, then experiment names.
Nothing here imports the report stage: a side is what the pipeline wrote, never re-rendered.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ruamel.yaml.error import YAMLError

from mnist_report.common.errors import PipelineError
from mnist_report.common.outputs import FIGURES_DIR as FIGURES_PATH
from mnist_report.common.outputs import TEX_PATH
from mnist_report.config.schema import parse_yaml

REPORT_TEX = TEX_PATH.as_posix()
FIGURES_DIR = FIGURES_PATH.as_posix()
WORKSPACE = "workspace"
GIT_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Side:
    """One side of the diff: the report's LaTeX source and figures of a revision or the workspace.

    ``figures`` maps a figure's path under ``report/figures/`` (``2b_loss.png``) to its bytes."""

    name: str
    commit: str | None  # None: the workspace
    tex: str
    figures: dict[str, bytes]

    @property
    def label(self) -> str:
        """How the diff names this side: ``HEAD (ce1d8f3)``, ``softmax-lr-0-02 (be9b134)``, ``workspace``."""
        if self.commit is None:
            return WORKSPACE
        short = self.commit[:7]
        return short if self.commit.startswith(self.name) else f"{self.name} ({short})"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False,
                              timeout=GIT_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    except OSError as error:
        raise PipelineError(f"cannot run git ({error.strerror or error}): install git") from error


def resolve(repo, name: str) -> str | None:
    """Returns the commit of ``name`` (a git revision or an experiment name), None for the workspace.

    Experiment names are resolved as DVC does (``dvc.scm.resolve_rev``: git first, then the names of
    ``refs/exps/``); an unknown or ambiguous name raises PipelineError."""
    from dvc.scm import RevError, resolve_rev

    if name == WORKSPACE:
        return None
    try:
        return resolve_rev(repo.scm, name)
    except RevError as error:
        if "ambiguous" in str(error):
            raise PipelineError(f"{name}: ambiguous: several experiments have this name; "
                                f"give its commit as `dvc exp show` lists it") from None
        raise PipelineError(f"{name}: unknown revision: neither a git revision nor an experiment name "
                            f"(`git log` and `dvc exp show` list them)") from None


def locked_digest(lock_text: str) -> str | None:
    """Returns the md5 that ``dvc.lock`` records for ``report/build/report.tex``, or None. The file is
    read as DVC reads it (:func:`~mnist_report.config.schema.parse_yaml`)."""
    try:
        lock = parse_yaml(lock_text) or {}
    except YAMLError:
        return None
    stages = lock.get("stages") if isinstance(lock, dict) else None
    for stage in (stages or {}).values():
        for out in (stage or {}).get("outs") or []:
            if isinstance(out, dict) and out.get("path") == REPORT_TEX and out.get("md5"):
                return str(out["md5"])
    return None


def read_report_tex(repo, commit: str, label: str) -> str:
    """Returns ``report/build/report.tex`` as ``dvc.lock`` at ``commit`` records it: from the DVC
    cache, else fetched from the default remote; checked against the recorded md5."""
    root = Path(repo.root_dir)
    lock = _git(root, "show", f"{commit}:dvc.lock")
    digest = locked_digest(lock.stdout.decode("utf-8", errors="replace")) if lock.returncode == 0 else None
    if digest is None:
        raise PipelineError(f"{label}: a revision without the pipeline: its dvc.lock records no {REPORT_TEX}")
    cached = Path(repo.cache.local.oid_to_path(digest))
    if not cached.is_file():
        from dvc.exceptions import DvcException

        try:  # no remote, or not there: the refusal below says what to run
            repo.fetch(targets=[REPORT_TEX], revs=[commit], workspace=False)
        except DvcException:
            pass
    if not cached.is_file():
        raise PipelineError(
            f"{label}: DVC has no copy of its {REPORT_TEX} (md5 {digest}) in the cache or a remote; "
            f"`dvc pull` it where a remote has it, or rebuild it: "
            f"git checkout {commit[:7]} && dvc repro report && git checkout -")
    data = cached.read_bytes()
    if hashlib.md5(data).hexdigest() != digest:
        raise PipelineError(f"{cached}: the DVC cache's copy of {REPORT_TEX} of {label} does not match its "
                            f"md5 {digest}; remove it and run `dvc fetch`")
    return data.decode("utf-8")


def committed_figures(root: Path, commit: str) -> dict[str, bytes]:
    """Returns the files under ``report/figures/`` of ``commit``: path below it -> bytes."""
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--", FIGURES_DIR)
    if listing.returncode != 0:
        raise PipelineError(f"git ls-tree {commit} {FIGURES_DIR}: {listing.stderr.decode(errors='replace').strip()}")
    figures = {}
    for entry in filter(None, listing.stdout.decode().split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, blob = meta.split()
        if kind != "blob":
            continue
        content = _git(root, "cat-file", "blob", blob)
        if content.returncode != 0:
            raise PipelineError(f"git cat-file {blob} ({path} of {commit[:7]}) failed")
        figures[str(PurePosixPath(path).relative_to(FIGURES_DIR))] = content.stdout
    return figures


def workspace_figures(root: Path) -> dict[str, bytes]:
    """Returns the files under ``report/figures/`` of the workspace: path below it -> bytes."""
    folder = root / FIGURES_DIR
    if not folder.is_dir():
        return {}
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.name.startswith(".")}


def workspace_is_stale(repo) -> bool:
    """True when ``dvc status`` finds the report stage, or a stage before it, out of date."""
    from dvc.exceptions import DvcException

    try:
        return bool(repo.status(targets=["report"], with_deps=True))
    except DvcException:
        return False


def read_side(repo, name: str) -> Side:
    """Returns the report and figures of revision or experiment ``name``, or of the workspace."""
    root = Path(repo.root_dir)
    commit = resolve(repo, name)
    if commit is None:
        tex_path = root / REPORT_TEX
        if not tex_path.is_file():
            raise PipelineError(f"{REPORT_TEX}: missing in the workspace; run `dvc repro report` "
                                f"(or `dvc checkout` for the committed one)")
        return Side(name, None, tex_path.read_text(encoding="utf-8"), workspace_figures(root))
    label = Side(name, commit, "", {}).label
    return Side(name, commit, read_report_tex(repo, commit, label), committed_figures(root, commit))
