"""A one-epoch copy of this project in a temporary git repository, and the commands run in it:
the shared machinery of the workflow tests (tests/test_workflows.py, tests/test_diff.py,
tests/test_multi_machine.py). The fixtures that build the copies are in tests/conftest.py.

Each test works in a temporary git repository: a copy of this project whose runs train for one
epoch (seconds, not minutes), built once for the test session (:func:`build_baseline`, the
``baseline`` fixture): the working tree's files (tracked, and untracked ones git does not ignore,
as ``git add -A`` would commit them), the real MNIST files of ``data/mnist/`` recorded as the download stage's output without running it
(``dvc commit -f download``: no network), one ``dvc repro`` and a commit. A test that changes
the repository works in its own copy of that baseline.

Which code the stages run: the package is installed editable into the venv from *this* checkout's
``src/``, so a plain ``python -m mnist_report.train`` in the temporary project would import
``<checkout>/src``, not the copy. The subprocesses therefore get ``PYTHONPATH=src``; Python makes
that path absolute against each process's working directory, and DVC runs every stage at the root
of the repository it reproduces (the temporary project, or the scratch copy in ``.dvc/tmp/exps/``
that a queued experiment runs in), so every stage imports the ``src/`` of the repository it runs in.

``MNIST_WORKFLOWS_REV=<rev>`` takes the project's files from that git revision instead of the
working tree (useful while the working tree is half-way through an edit).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# The venv of the interpreter running the tests (not resolved: .venv/bin/python is a symlink out of the venv).
VENV_BIN = Path(sys.executable).parent
COMMAND_TIMEOUT = 600       # seconds, one dvc command (the baseline repro takes 12 to 35)
NEW_BINARY_LR = 0.06        # runs.binary.learning_rate of the changed run (baseline: 0.05)
QUEUE_TIMEOUT = 300         # seconds for the queued sweep to finish
SWEEP = {"binary-lr-0-04": 0.04, "binary-lr-0-03": 0.03}   # queued experiment name -> runs.binary.learning_rate

#: The marks of a test module that runs the pipeline in a temporary project (slow: left out of the
#: quick loop, `python -m pytest -m "not slow"`).
NEEDS_PIPELINE_TOOLS = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pdflatex") is None,
                       reason="pdflatex not installed (the pipeline's pdf stage needs it)"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git not installed"),
]


# ------------------------------------------------------------------------------------- helpers

def documents() -> list[tuple[str, str]]:
    """(path from the repository, text) of README.md and of every docs/*.md, the README first: the
    documents whose shown commands the tests run."""
    paths = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return [(path.relative_to(REPO).as_posix(), path.read_text(encoding="utf-8")) for path in paths]


def console_blocks() -> list[tuple[str, str]]:
    """(document, body) of every ```console block of :func:`documents`, in order."""
    return [(name, block) for name, text in documents() for block in re.findall(r"```console\n(.*?)```", text, flags=re.S)]


def dvc_executable() -> str:
    for candidate in (VENV_BIN / "dvc", shutil.which("dvc")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail(f"no dvc next to {sys.executable} nor on PATH: install the project's requirements", pytrace=False)


def make_environment(scratch: Path) -> dict[str, str]:
    """The environment of every command: the venv's dvc and python first on PATH (the queue's worker
    runs `dvc` from PATH), the temporary project's own src/ (see the module docstring), and DVC kept
    away from the developer's global/system config, site cache, analytics and Studio."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("DVC_", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"))}
    for name in ("dvc-global-config", "dvc-system-config", "dvc-site-cache"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    pythonpath = os.pathsep.join(filter(None, ["src", os.environ.get("PYTHONPATH")]))
    environment.update({
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
        "PYTHONPATH": pythonpath,
        # No PYTHONDONTWRITEBYTECODE: every `dvc` command would compile DVC's modules again (see
        # tests/conftest.py). The copy's src/__pycache__ is ignored by git and is no DVC dependency.
        "DVC_GLOBAL_CONFIG_DIR": str(scratch / "dvc-global-config"),
        "DVC_SYSTEM_CONFIG_DIR": str(scratch / "dvc-system-config"),
        "DVC_SITE_CACHE_DIR": str(scratch / "dvc-site-cache"),
        "DVC_NO_ANALYTICS": "1",
        "DVC_STUDIO_OFFLINE": "1",
        "GIT_AUTHOR_NAME": "Workflow Test", "GIT_AUTHOR_EMAIL": "workflow-test@example.invalid",
        "GIT_COMMITTER_NAME": "Workflow Test", "GIT_COMMITTER_EMAIL": "workflow-test@example.invalid",
    })
    return environment


@dataclass
class Project:
    """A temporary git + DVC repository and the environment to run commands in it."""

    root: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True) -> subprocess.CompletedProcess:
        """Runs ``args`` at the root; on failure (``check``) fails the test with the command's output.

        The output goes through temporary files, not pipes: `dvc queue start` leaves a worker running
        that inherits them, and a pipe would keep the call waiting until that worker exits."""
        with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
            try:
                returncode = subprocess.run(list(args), cwd=self.root, env=self.env, stdout=stdout, stderr=stderr,
                                            timeout=timeout, check=False, stdin=subprocess.DEVNULL).returncode
                timed_out = False
            except subprocess.TimeoutExpired:
                returncode, timed_out = None, True
            output = []
            for file in (stdout, stderr):
                file.seek(0)
                output.append(file.read().decode(errors="replace"))
        result = subprocess.CompletedProcess(list(args), returncode, *output)
        if timed_out:
            pytest.fail(f"`{shlex.join(args)}` in {self.root} did not finish within {timeout:g} s\n"
                        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}", pytrace=False)
        if check and result.returncode != 0:
            pytest.fail(f"`{shlex.join(args)}` in {self.root} exited with {result.returncode}\n"
                        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}", pytrace=False)
        return result

    def dvc(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run(dvc_executable(), *args, **kwargs)

    def dvc_json(self, *args: str) -> object:
        out = self.dvc(*args, "--json").stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            pytest.fail(f"`dvc {' '.join(args)} --json` printed no JSON:\n{out}", pytrace=False)

    def git(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run("git", *args, **kwargs)

    def commit_all(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "-m", message)

    def read(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")

    def json(self, path: str) -> dict:
        return json.loads(self.read(path))

    def params(self) -> dict:
        return yaml.safe_load(self.read("params.yaml"))

    def copy(self, destination: Path, *, data: bool = True) -> "Project":
        """A copy of the repository (git, DVC cache, data, outputs) at ``destination``; without the
        DVC cache and the MNIST files (110 MB) when not ``data``: enough for commands that read git only."""
        skip = set() if data else {self.root / ".dvc" / "cache", self.root / "data" / "mnist"}
        shutil.copytree(self.root, destination, symlinks=True,
                        ignore=lambda folder, names: [name for name in names if Path(folder, name) in skip])
        return Project(destination, self.env)


def ran_stages(output: str) -> list[str]:
    """The stages a `dvc repro` / `dvc exp run` ran, in order (its "Running stage '<name>':" lines)."""
    return re.findall(r"^Running stage '([^']+)':", output, flags=re.M)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def set_run_param(text: str, run: str, key: str, value: float) -> str:
    """Returns params.yaml's ``text`` with ``runs.<run>.<key>`` set to ``value``, formatting kept:
    the first ``<key>:`` line (indented four spaces) after the line ``  <run>:`` and before the next entry."""
    pattern = re.compile(rf"(^  {re.escape(run)}:[^\n]*\n(?:    [^\n]*\n)*?    {re.escape(key)}:[ \t]*)([^\s#]+)", re.M)
    new_text, count = pattern.subn(lambda m: f"{m.group(1)}{value!r}", text, count=1)
    assert count == 1, f"params.yaml: no runs.{run}.{key} line to change"
    return new_text


def experiments(show: list) -> dict[str, dict]:
    """Name -> {rev, state, params (of params.yaml), metrics (path -> values)} of every experiment in
    `dvc exp show --json` (DVC 3.x: a list of baselines, each with ``experiments`` -> ``revs``)."""
    found = {}
    for baseline in show:
        for experiment in baseline.get("experiments") or []:
            state = (experiment.get("executor") or {}).get("state")
            for rev in experiment.get("revs") or []:
                data = rev.get("data") or {}
                found[rev.get("name") or rev["rev"]] = {
                    "rev": rev["rev"], "state": state,
                    "params": ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {},
                    "metrics": {path: entry.get("data") or {} for path, entry in (data.get("metrics") or {}).items()},
                }
    return found


def without_nulls(metrics: dict) -> dict:
    """`dvc exp show` leaves out null metrics (an early stop that never happened)."""
    return {key: value for key, value in metrics.items() if value is not None}


def copy_project_files(destination: Path) -> None:
    """Copies the project's files (see the module docstring) from this checkout to ``destination``."""
    rev = os.environ.get("MNIST_WORKFLOWS_REV")
    if rev:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev], capture_output=True,
                                 check=True, timeout=120).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(destination, filter="data")
        return
    listing = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True, timeout=120).stdout.decode()
    for name in sorted(set(filter(None, listing.split("\0")))):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is left out, as `git add -A` would
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


# ------------------------------------------------------------------------------------ fixtures

def remove_when_done(request, path: Path) -> None:
    """Deletes ``path`` after the test or module (each project holds about 110 MB; pytest keeps the
    temporary directories of its last three runs), unless MNIST_WORKFLOWS_KEEP is set."""
    if not os.environ.get("MNIST_WORKFLOWS_KEEP"):
        request.addfinalizer(lambda: shutil.rmtree(path, ignore_errors=True))


def module_scratch(request, tmp_path_factory, name: str) -> Path:
    """Returns a new temporary directory for a module- or session-scoped fixture, deleted when it is done
    (see :func:`remove_when_done`)."""
    path = tmp_path_factory.mktemp(name)
    remove_when_done(request, path)
    return path


#: The folder, in the temporary directory of the whole pytest-xdist session (the workers' parent), of
#: the projects built once for all workers (:func:`built_once`); the controller deletes it at the end.
SHARED = "workflows-shared"


def built_once(request, tmp_path_factory, name: str, build):
    """``build(scratch)`` (a project, or what a session fixture returns), run once per test session
    even when pytest-xdist spreads the tests over several workers: the first worker to ask builds it
    in ``<session temp>/workflows-shared/<name>`` while holding a file lock, and leaves it there,
    pickled, for the others (pytest-xdist's recipe "making session-scoped fixtures execute only
    once"). Every building worker used to build its own copy, competing for the same cores.

    What is built is read-only from then on: the tests copy it (:meth:`Project.copy`) before they
    change or run DVC in it. The controller process deletes the folder when the session ends
    (tests/conftest.py, ``pytest_sessionfinish``). Without xdist the value is built in a temporary
    directory of this process, deleted when the session ends (:func:`module_scratch`)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(module_scratch(request, tmp_path_factory, name))
    shared = tmp_path_factory.getbasetemp().parent / SHARED
    shared.mkdir(exist_ok=True)
    record = shared / f"{name}.pickle"
    with FileLock(str(shared / f"{name}.lock")):
        if record.is_file():
            return pickle.loads(record.read_bytes())
        scratch = shared / name
        shutil.rmtree(scratch, ignore_errors=True)   # a worker whose build failed leaves the next one a clean start
        scratch.mkdir()
        try:
            value = build(scratch)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        temporary = record.with_suffix(".partial")
        temporary.write_bytes(pickle.dumps(value))
        temporary.replace(record)
        return value


def remove_shared(config) -> None:
    """Deletes the projects of :func:`built_once` (about 250 MB each), unless MNIST_WORKFLOWS_KEEP is set.
    Called by the xdist controller when all workers have finished."""
    if not os.environ.get("MNIST_WORKFLOWS_KEEP"):
        shutil.rmtree(config._tmp_path_factory.getbasetemp() / SHARED, ignore_errors=True)


def build_baseline(scratch: Path) -> Project:
    """The temporary project in ``scratch/baseline``, reproduced with one-epoch runs and committed:
    HEAD is a true baseline."""
    missing = [name for name in MNIST_NAMES if not (REPO / "data" / "mnist" / name).is_file()]
    if missing:
        pytest.fail(f"{REPO / 'data' / 'mnist'} lacks {', '.join(missing)}: run `dvc repro download` first",
                    pytrace=False)
    project = Project(scratch / "baseline", make_environment(scratch))
    project.root.mkdir()
    copy_project_files(project.root)
    shutil.copytree(REPO / "data" / "mnist", project.root / "data" / "mnist")
    # The offline page of `dvc plots` (.dvc/config names it) that set-up builds; git ignores it.
    template = REPO / ".cache" / "plots" / "offline.html"
    if not template.is_file():
        pytest.fail(f"{template} missing: run `bash bootstrap.sh setup` (python -m mnist_report.plots_page)", pytrace=False)
    (project.root / ".cache" / "plots").mkdir(parents=True)
    shutil.copy2(template, project.root / ".cache" / "plots" / "offline.html")

    params_text = project.read("params.yaml")
    tiny, count = re.subn(r"(?m)^(  epochs:[ \t]*)\d+", r"\g<1>1", params_text, count=1)
    assert count == 1, "params.yaml: no defaults.epochs line"
    (project.root / "params.yaml").write_text(tiny, encoding="utf-8")
    params = project.params()
    assert params["defaults"]["epochs"] == 1
    assert not [run for run, settings in params["runs"].items() if "epochs" in (settings or {})], \
        "a run sets its own epochs: the workflow tests would train it for that long"

    project.git("init", "-q", "-b", "main")  # the branch the docs show (git's default varies)
    project.git("config", "user.name", "Workflow Test")
    project.git("config", "user.email", "workflow-test@example.invalid")
    project.git("config", "commit.gpgsign", "false")
    project.commit_all("the project, one-epoch runs")

    # The data stage verifies what it downloads; there is no network here. Record the real files
    # (copied above) as its output instead of running it.
    project.dvc("commit", "-f", "download")
    assert project.dvc_json("status", "download") == {}, "download is not up to date after dvc commit"

    started = time.monotonic()
    project.dvc("repro")
    print(f"baseline dvc repro: {time.monotonic() - started:.1f} s")
    assert project.dvc_json("status") == {}, "the pipeline is not up to date after dvc repro"
    project.commit_all("baseline: dvc repro of the one-epoch runs")
    assert project.git("status", "--porcelain").stdout == ""
    return project


@dataclass
class Changed:
    """The baseline with runs.binary.learning_rate changed (not committed), before and after dvc repro."""

    project: Project
    status_before: dict
    repro_output: str
    old_metrics: dict
    old_tex: str


def build_changed(baseline: Project, scratch: Path) -> Changed:
    """A copy of ``baseline`` in ``scratch/project`` with runs.binary.learning_rate set to NEW_BINARY_LR, reproduced."""
    project = baseline.copy(scratch / "project")
    old_metrics, old_tex = project.json("metrics/binary.json"), project.read("report/build/report.tex")
    old_params = project.params()
    assert old_params["runs"]["binary"]["learning_rate"] != NEW_BINARY_LR
    path = project.root / "params.yaml"
    path.write_text(set_run_param(path.read_text(encoding="utf-8"), "binary", "learning_rate", NEW_BINARY_LR),
                    encoding="utf-8")
    expected = yaml.safe_load(yaml.safe_dump(old_params))
    expected["runs"]["binary"]["learning_rate"] = NEW_BINARY_LR
    assert project.params() == expected, "the edit changed more than runs.binary.learning_rate"

    status_before = project.dvc_json("status")
    repro = project.dvc("repro")
    return Changed(project, status_before, repro.stdout, old_metrics, old_tex)


# ------------------------------------------------------------------- the queued sweep (dvc queue)

def queue_processes(project: Project) -> list[int]:
    """The live processes of ``project``'s experiment queue: `dvc queue start` forks a process (in
    its own process group) that runs the worker, `dvc exp queue-worker`, and waits for it. Found in
    /proc by their working directory (the project, or its .dvc/tmp/exps/celery/) and command line."""
    root, found = project.root.resolve(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue  # gone meanwhile, or not ours to read
        words = [word.decode(errors="replace") for word in cmdline]
        if state != "Z" and (cwd == root or root in cwd.parents) and "queue" in words \
                and any(Path(word).name == "dvc" for word in words):
            found.append(int(entry.name))
    return found


def worker_log(project: Project) -> str:
    logs = sorted((project.root / ".dvc" / "tmp" / "exps" / "celery").glob("dvc-exp-worker-*.out"))
    return "\n".join(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}" for log in logs) or "(no worker log)"


def finished_tasks(project: Project) -> list[str]:
    """The states (SUCCESS, FAILURE, ...) of the queue's finished tasks, one per experiment, as Celery
    records them in its result files once a task (run, collect, clean up) has returned."""
    states = []
    for result in sorted((project.root / ".dvc" / "tmp" / "exps" / "celery" / "result").glob("celery-task-meta-*")):
        try:
            states.append(json.loads(result.read_text(encoding="utf-8"))["status"])
        except (OSError, ValueError, KeyError):
            continue  # being written
    return [state for state in states if state in ("SUCCESS", "FAILURE", "REVOKED")]


def wait_for_queue(project: Project, tasks: int, timeout: float) -> None:
    """Waits until the queue's worker has started and finished ``tasks`` tasks, then stops it with
    `dvc queue stop` and waits until it has exited. Left alone, the worker would exit by itself only
    about ten seconds after the queue is empty (DVC's Celery worker polls with a fixed timeout). No
    dvc command runs while a task runs: `dvc exp show` while a queued experiment is being collected
    can hang (seen here once, for ten minutes, on a lock)."""
    records = project.root / ".dvc" / "tmp" / "exps" / "celery"
    deadline = time.monotonic() + timeout
    while not list(records.glob("dvc-exp-worker-*.json")):
        assert time.monotonic() < deadline, f"no queue worker started\n{worker_log(project)}"
        time.sleep(0.5)
    while len(finished_tasks(project)) < tasks and queue_processes(project):
        assert time.monotonic() < deadline, f"the sweep did not finish within {timeout:g} s\n{worker_log(project)}"
        time.sleep(0.5)
    if queue_processes(project):
        project.dvc("queue", "stop", timeout=60)
    while queue_processes(project):
        assert time.monotonic() < deadline, f"the queue's worker did not stop within {timeout:g} s\n{worker_log(project)}"
        time.sleep(0.5)


def stop_queue(project: Project) -> None:
    """Leaves no queue process behind: `dvc queue stop --kill`, then SIGTERM and SIGKILL by pid."""
    if not queue_processes(project):
        return
    project.dvc("queue", "stop", "--kill", check=False, timeout=60)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + 10
        while queue_processes(project) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in queue_processes(project):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


@dataclass
class Swept:
    """A copy of the baseline after docs/workflows.md's queued sweep: SWEEP queued with `dvc exp run --queue`,
    run by `dvc queue start -j 1`, and what was seen on the way."""

    project: Project
    porcelain_after_queueing: str   # `git status --porcelain` once the experiments were queued
    queued_status: str              # `dvc queue status` before `dvc queue start`


def build_swept(baseline: Project, scratch: Path) -> Swept:
    """Queues SWEEP in a copy of ``baseline`` in ``scratch/project`` and runs the queue to its end."""
    project = baseline.copy(scratch / "project")
    for name, learning_rate in SWEEP.items():
        project.dvc("exp", "run", "--queue", "-n", name, "-S", f"runs.binary.learning_rate={learning_rate}")
    porcelain = project.git("status", "--porcelain").stdout
    queued_status = project.dvc("queue", "status").stdout
    try:
        project.dvc("queue", "start", "-j", "1")
        wait_for_queue(project, len(SWEEP), QUEUE_TIMEOUT)
    finally:
        stop_queue(project)
    return Swept(project, porcelain, queued_status)
