"""ScratchProject: a copy of this project in a temporary folder, the environment its commands run in,
and the commands (``dvc``, ``git``, a stage) run there. The one helper of every test that runs the
pipeline in a scratch copy (tests/integration/) and of benchmarks/loops.py.

Which code the stages run: the package is installed editable into the venv from *this* checkout's
``src/``, so a plain ``python -m mnist_report.train`` in the scratch copy would import
``<checkout>/src``, not the copy's. The commands therefore get ``PYTHONPATH=src``; Python makes that
path absolute against each process's working directory, and DVC runs every stage at the root of the
repository it reproduces (the scratch project, or the copy in ``.dvc/tmp/exps/`` that a queued
experiment runs in), so every stage imports the ``src/`` of the repository it runs in.

params.yaml is read with the project's own reader (:func:`mnist_report.config.schema.load_params`,
ruamel.yaml's safe loader, as DVC reads it) and written with ruamel.yaml's round-trip dumper, which
keeps the file's formatting and comments: a changed value is the only change.

``MNIST_WORKFLOWS_REV=<rev>`` takes the project's files from that git revision instead of the working
tree (useful while the working tree is half-way through an edit).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_report.config.schema import load_params
from support.yaml_files import edit_yaml_file, set_yaml_value

REPO = Path(__file__).resolve().parents[2]
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# The venv of the interpreter running the tests (not resolved: .venv/bin/python is a symlink out of the venv).
VENV_BIN = Path(sys.executable).parent
COMMAND_TIMEOUT = 600  # seconds, one command (the one-epoch baseline's dvc repro takes 12 to 35)
#: Variables of the caller's environment a scratch project's commands never see: DVC's own (a stage
#: name, a config folder of the developer) and git's (another repository's folders, another author).
FOREIGN_VARIABLES = ("DVC_", "GIT_", "FAULT_")


class CommandFailed(AssertionError):
    """A command in a scratch project exited non-zero or ran past its time; the message holds the
    command, the folder and its output. An AssertionError: under pytest, the test fails with it."""


def dvc_executable() -> str:
    """The venv's ``dvc`` (or the one on PATH)."""
    for candidate in (VENV_BIN / "dvc", shutil.which("dvc")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise CommandFailed(f"no dvc next to {sys.executable} nor on PATH: install the project's requirements")


def project_environment(scratch: Path, *, pythonpath: Iterable[str] = ("src",)) -> dict[str, str]:
    """The environment of every command in a scratch project whose helper folders live in ``scratch``:
    the venv's dvc and python first on PATH (the experiment queue's worker runs `dvc` from PATH), the
    project's own src/ (see the module docstring) and then ``pythonpath``'s other folders, DVC kept
    away from the developer's global and system config, site cache, analytics and Studio, and a git
    author of its own. No PYTHONDONTWRITEBYTECODE: every `dvc` command would compile DVC's modules
    again (tests/conftest.py); the copy's src/__pycache__ is ignored by git and is no DVC dependency."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_VARIABLES)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    for name in ("dvc-global-config", "dvc-system-config", "dvc-site-cache"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    environment.update({
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join(filter(None, [*pythonpath, os.environ.get("PYTHONPATH")])),
        "DVC_GLOBAL_CONFIG_DIR": str(scratch / "dvc-global-config"),
        "DVC_SYSTEM_CONFIG_DIR": str(scratch / "dvc-system-config"),
        "DVC_SITE_CACHE_DIR": str(scratch / "dvc-site-cache"),
        "DVC_NO_ANALYTICS": "1",
        "DVC_STUDIO_OFFLINE": "1",
        "GIT_AUTHOR_NAME": "Scratch Project", "GIT_AUTHOR_EMAIL": "scratch-project@example.invalid",
        "GIT_COMMITTER_NAME": "Scratch Project", "GIT_COMMITTER_EMAIL": "scratch-project@example.invalid",
    })
    return environment


def copy_project_files(destination: Path, only: Iterable[str] = ()) -> None:
    """Copies the project's files from this checkout to ``destination``: the working tree's (tracked,
    and untracked ones git does not ignore, as ``git add -A`` would commit them), or those of the
    revision ``MNIST_WORKFLOWS_REV`` names. ``only``: the paths (files or folders) to copy, else all."""
    prefixes = tuple(only)

    def wanted(name: str) -> bool:
        return not prefixes or any(name == prefix or name.startswith(prefix.rstrip("/") + "/") for prefix in prefixes)

    revision = os.environ.get("MNIST_WORKFLOWS_REV")
    if revision:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", revision], capture_output=True,
                                 check=True, timeout=120).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(destination, members=[member for member in tar.getmembers() if wanted(member.name)],
                           filter="data")
        return
    listing = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True, timeout=120).stdout.decode()
    for name in sorted(set(filter(None, listing.split("\0")))):
        source = REPO / name
        if source.is_file() and wanted(name):  # a tracked file deleted in the working tree is left out, as `git add -A` would
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def md5(path: Path) -> str:
    """The MD5 of the file ``path``, as DVC records it."""
    return hashlib.md5(path.read_bytes()).hexdigest()


@dataclass
class ScratchProject:
    """A scratch copy of the project at ``root`` and the environment ``env`` its commands run in."""

    root: Path
    env: dict[str, str]

    @classmethod
    def of_checkout(cls, root: Path, *, scratch: Path | None = None, only: Iterable[str] = (),
                    data: str | None = None, pythonpath: Iterable[str] = ("src",)) -> "ScratchProject":
        """A new scratch project at ``root`` holding this checkout's files (:func:`copy_project_files`,
        ``only`` those paths if given), its helper folders in ``scratch`` (``root``'s parent by default).
        ``data``: ``"copy"`` or ``"link"`` puts this checkout's MNIST files in ``data/mnist`` (a copy, or
        a symbolic link to them), ``None`` leaves them out."""
        root.mkdir(parents=True, exist_ok=True)
        copy_project_files(root, only)
        if data is not None:
            source = REPO / "data" / "mnist"
            missing = [name for name in MNIST_NAMES if not (source / name).is_file()]
            if missing:
                raise CommandFailed(f"{source} lacks {', '.join(missing)}: run `dvc repro download` first")
            (root / "data").mkdir(exist_ok=True)
            if data == "link":
                (root / "data" / "mnist").symlink_to(source)
            else:
                shutil.copytree(source, root / "data" / "mnist")
        return cls(root, project_environment(scratch or root.parent, pythonpath=pythonpath))

    def run(self, *args: str, timeout: float | None = COMMAND_TIMEOUT, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Runs ``args`` at the root (with ``env`` added to the environment); on failure (``check``) or
        past ``timeout`` seconds (None: no limit) raises :class:`CommandFailed` with the command's output.

        The output goes through temporary files, not pipes: `dvc queue start` leaves a worker running
        that inherits them, and a pipe would keep the call waiting until that worker exits."""
        with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
            try:
                returncode = subprocess.run(list(args), cwd=self.root, env={**self.env, **(env or {})},
                                            stdout=stdout, stderr=stderr, timeout=timeout, check=False,
                                            stdin=subprocess.DEVNULL).returncode
                timed_out = False
            except subprocess.TimeoutExpired:
                returncode, timed_out = -1, True
            output = []
            for file in (stdout, stderr):
                file.seek(0)
                output.append(file.read().decode(errors="replace"))
        result = subprocess.CompletedProcess(list(args), returncode, *output)
        if timed_out:
            raise CommandFailed(f"`{shlex.join(args)}` in {self.root} did not finish within {timeout:g} s\n"
                                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
        if check and result.returncode != 0:
            raise CommandFailed(f"`{shlex.join(args)}` in {self.root} exited with {result.returncode}\n"
                                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
        return result

    def dvc(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        """Runs ``dvc args`` at the root (see :meth:`run`)."""
        return self.run(dvc_executable(), *args, **kwargs)

    def dvc_json(self, *args: str, **kwargs: Any) -> Any:
        """The JSON that ``dvc args --json`` prints."""
        out = self.dvc(*args, "--json", **kwargs).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            raise CommandFailed(f"`dvc {' '.join(args)} --json` printed no JSON:\n{out}") from None

    def git(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        """Runs ``git args`` at the root (see :meth:`run`)."""
        return self.run("git", *args, **kwargs)

    def init_git(self, branch: str = "main") -> None:
        """Makes the root a git repository on ``branch`` (the one the README shows; git's default varies)
        that commits without signing."""
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.name", self.env["GIT_AUTHOR_NAME"])
        self.git("config", "user.email", self.env["GIT_AUTHOR_EMAIL"])
        self.git("config", "commit.gpgsign", "false")

    def commit_all(self, message: str) -> None:
        """Commits every change of the working tree (``git add -A``), hooks skipped."""
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "-m", message)

    def read(self, path: str) -> str:
        """The text of the file ``path`` (relative to the root)."""
        return (self.root / path).read_text(encoding="utf-8")

    def json(self, path: str) -> Any:
        """The JSON file ``path`` (relative to the root), parsed."""
        return json.loads(self.read(path))

    def files(self, *paths: str) -> dict[str, bytes]:
        """Path -> bytes of every regular file under ``paths`` (relative to the root)."""
        found = {}
        for path in paths:
            top = self.root / path
            for file in [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []:
                if file.is_file():
                    found[str(file.relative_to(self.root))] = file.read_bytes()
        return found

    def params(self) -> dict[str, Any]:
        """params.yaml, parsed by the project's own reader (as DVC parses it)."""
        return load_params(self.root / "params.yaml")

    def set_param(self, key: str, value: Any) -> None:
        """Sets the dotted ``key`` of params.yaml (``runs.binary.learning_rate``) to ``value``, the rest
        of the file as it is (:func:`set_yaml_value`)."""
        set_yaml_value(self.root / "params.yaml", key, value)

    def edit_params(self, edit: Callable[[Any], None]) -> None:
        """Applies ``edit`` to params.yaml's mapping in place, the rest of the file as it is
        (:func:`edit_yaml_file`)."""
        edit_yaml_file(self.root / "params.yaml", edit)

    def copy(self, destination: Path, *, data: bool = True) -> "ScratchProject":
        """A copy of the project (git, DVC cache, data, outputs) at ``destination``, with the same
        environment; without the DVC cache and the MNIST files (110 MB) when not ``data``: enough for
        commands that read git only."""
        skip = set() if data else {self.root / ".dvc" / "cache", self.root / "data" / "mnist"}
        shutil.copytree(self.root, destination, symlinks=True,
                        ignore=lambda folder, names: [name for name in names if Path(folder, name) in skip])
        return ScratchProject(destination, self.env)
