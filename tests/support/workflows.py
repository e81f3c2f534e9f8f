"""The one-epoch scratch projects of the workflow tests (tests/integration/test_workflows.py,
test_diff.py, test_multi_machine.py), built once per test session by the fixtures of tests/conftest.py,
and what those tests read from `dvc` (the stages a repro ran, the experiments, the queue).

The baseline (:func:`build_baseline`) is a :class:`ScratchProject` of the working tree whose runs train
for one epoch (seconds, not minutes), with the real MNIST files of ``data/mnist/`` recorded as the
download stage's output without running it (``dvc commit -f download``: no network), one ``dvc
repro`` and a commit. A test that changes the repository works in its own copy of it.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from mnist_report.config.schema import parse_yaml
from support.scratch_project import REPO, ScratchProject
from support.yaml_files import yaml_text

NEW_BINARY_LR = 0.06        # runs.binary.learning_rate of the changed run (baseline: 0.05)
QUEUE_TIMEOUT = 300         # seconds for the queued sweep to finish
SWEEP = {"binary-lr-0-04": 0.04, "binary-lr-0-03": 0.03}   # queued experiment name -> runs.binary.learning_rate

#: The marks of a test module that runs the pipeline in a scratch project (slow: left out of the
#: quick loop, `python -m pytest -m "not slow"`).
NEEDS_PIPELINE_TOOLS = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pdflatex") is None,
                       reason="pdflatex not installed (the pipeline's pdf stage needs it)"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git not installed"),
]


# ------------------------------------------------------------------------------------- the docs

def documents() -> list[tuple[str, str]]:
    """(path from the repository, text) of README.md and of every docs/*.md, the README first: the
    documents whose shown commands the tests run."""
    paths = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return [(path.relative_to(REPO).as_posix(), path.read_text(encoding="utf-8")) for path in paths]


def console_blocks() -> list[tuple[str, str]]:
    """(document, body) of every ```console block of :func:`documents`, in order."""
    return [(name, block) for name, text in documents() for block in re.findall(r"```console\n(.*?)```", text, flags=re.S)]


def ran_stages(output: str) -> list[str]:
    """The stages a `dvc repro` / `dvc exp run` ran, in order (its "Running stage '<name>':" lines)."""
    return re.findall(r"^Running stage '([^']+)':", output, flags=re.M)


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
    """The metrics without their nulls: `dvc exp show` leaves out null metrics (an early stop that never happened)."""
    return {key: value for key, value in metrics.items() if value is not None}


# ------------------------------------------------------------------ scratch folders of the fixtures

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

    What is built is read-only from then on: the tests copy it (:meth:`ScratchProject.copy`) before
    they change or run DVC in it. The controller process deletes the folder when the session ends
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


# ------------------------------------------------------------------------- the projects built once

def build_baseline(scratch: Path) -> ScratchProject:
    """The scratch project in ``scratch/baseline``, reproduced with one-epoch runs and committed:
    HEAD is a true baseline."""
    project = ScratchProject.of_checkout(scratch / "baseline", scratch=scratch, data="copy")
    # The offline page of `dvc plots` (.dvc/config names it) that set-up builds; git ignores it.
    template = REPO / ".cache" / "plots" / "offline.html"
    if not template.is_file():
        pytest.fail(f"{template} missing: run `bash bootstrap.sh setup` (python -m mnist_report.plots_page)", pytrace=False)
    (project.root / ".cache" / "plots").mkdir(parents=True)
    shutil.copy2(template, project.root / ".cache" / "plots" / "offline.html")

    project.set_param("defaults.epochs", 1)
    params = project.params()
    assert params["defaults"]["epochs"] == 1
    assert not [run for run, settings in params["runs"].items() if "epochs" in (settings or {})], \
        "a run sets its own epochs: the workflow tests would train it for that long"

    project.init_git("main")  # the branch the docs show (git's default varies)
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

    project: ScratchProject
    status_before: dict
    repro_output: str
    old_metrics: dict
    old_tex: str


def build_changed(baseline: ScratchProject, scratch: Path) -> Changed:
    """A copy of ``baseline`` in ``scratch/project`` with runs.binary.learning_rate set to NEW_BINARY_LR, reproduced."""
    project = baseline.copy(scratch / "project")
    old_metrics, old_tex = project.json("metrics/binary.json"), project.read("report/build/report.tex")
    old_params = project.params()
    assert old_params["runs"]["binary"]["learning_rate"] != NEW_BINARY_LR
    project.set_param("runs.binary.learning_rate", NEW_BINARY_LR)
    expected = parse_yaml(yaml_text(old_params))
    expected["runs"]["binary"]["learning_rate"] = NEW_BINARY_LR
    assert project.params() == expected, "the edit changed more than runs.binary.learning_rate"
    assert project.git("diff", "--numstat", "params.yaml").stdout.split()[:2] == ["1", "1"], \
        "the edit rewrote more than one line of params.yaml"

    status_before = project.dvc_json("status")
    repro = project.dvc("repro")
    return Changed(project, status_before, repro.stdout, old_metrics, old_tex)


# ------------------------------------------------------------------- the queued sweep (dvc queue)

def queue_processes(project: ScratchProject) -> list[int]:
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


def worker_log(project: ScratchProject) -> str:
    """The tail of each log of the queue's workers (for a failure message)."""
    logs = sorted((project.root / ".dvc" / "tmp" / "exps" / "celery").glob("dvc-exp-worker-*.out"))
    return "\n".join(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}" for log in logs) or "(no worker log)"


def finished_tasks(project: ScratchProject) -> list[str]:
    """The states (SUCCESS, FAILURE, ...) of the queue's finished tasks, one per experiment, as Celery
    records them in its result files once a task (run, collect, clean up) has returned."""
    states = []
    for result in sorted((project.root / ".dvc" / "tmp" / "exps" / "celery" / "result").glob("celery-task-meta-*")):
        try:
            states.append(json.loads(result.read_text(encoding="utf-8"))["status"])
        except (OSError, ValueError, KeyError):
            continue  # being written
    return [state for state in states if state in ("SUCCESS", "FAILURE", "REVOKED")]


def wait_for_queue(project: ScratchProject, tasks: int, timeout: float) -> None:
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


def stop_queue(project: ScratchProject) -> None:
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

    project: ScratchProject
    porcelain_after_queueing: str   # `git status --porcelain` once the experiments were queued
    queued_status: str              # `dvc queue status` before `dvc queue start`


def build_swept(baseline: ScratchProject, scratch: Path) -> Swept:
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
