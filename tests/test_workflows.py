"""The comparison and sharing workflows of the README, end to end, with the real ``dvc`` command.

Each test works in a temporary git repository: a copy of this project whose runs train for one
epoch (seconds, not minutes), built once for the module (:func:`baseline`): the working tree's
files (tracked, and untracked ones git does not ignore, as ``git add -A`` would commit them), the
real MNIST files of ``data/mnist/`` recorded as the download stage's output without running it
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

REPO = Path(__file__).resolve().parents[1]
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# The venv of the interpreter running the tests (not resolved: .venv/bin/python is a symlink out of the venv).
VENV_BIN = Path(sys.executable).parent
COMMAND_TIMEOUT = 600       # seconds, one dvc command (the baseline repro takes 12 to 35)
QUEUE_TIMEOUT = 300         # seconds for the queued sweep to finish
NEW_BINARY_LR = 0.06        # runs.binary.learning_rate of the changed run (baseline: 0.05)
SWEEP = {"binary-lr-0-04": 0.04, "binary-lr-0-03": 0.03}   # queued experiment name -> runs.binary.learning_rate

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not all(shutil.which(tool) for tool in ("latexmk", "pdflatex")),
                       reason="latexmk or pdflatex not installed (the pipeline's pdf stage needs them)"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git not installed"),
]


# ------------------------------------------------------------------------------------- helpers

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
        "PYTHONDONTWRITEBYTECODE": "1",
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
    """Returns a new temporary directory for a module-scoped fixture, deleted when the module is done
    (see :func:`remove_when_done`)."""
    path = tmp_path_factory.mktemp(name)
    remove_when_done(request, path)
    return path


@pytest.fixture
def scratch(request, tmp_path) -> Path:
    """The test's temporary directory, deleted afterwards (see :func:`remove_when_done`)."""
    remove_when_done(request, tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def baseline(request, tmp_path_factory) -> Project:
    """The temporary project, reproduced with one-epoch runs and committed: HEAD is a true baseline."""
    missing = [name for name in MNIST_NAMES if not (REPO / "data" / "mnist" / name).is_file()]
    if missing:
        pytest.fail(f"{REPO / 'data' / 'mnist'} lacks {', '.join(missing)}: run `dvc repro download` first",
                    pytrace=False)
    scratch = module_scratch(request, tmp_path_factory, "workflows")
    project = Project(scratch / "baseline", make_environment(scratch))
    project.root.mkdir()
    copy_project_files(project.root)
    shutil.copytree(REPO / "data" / "mnist", project.root / "data" / "mnist")

    params_text = project.read("params.yaml")
    tiny, count = re.subn(r"(?m)^(  epochs:[ \t]*)\d+", r"\g<1>1", params_text, count=1)
    assert count == 1, "params.yaml: no defaults.epochs line"
    (project.root / "params.yaml").write_text(tiny, encoding="utf-8")
    params = project.params()
    assert params["defaults"]["epochs"] == 1
    assert not [run for run, settings in params["runs"].items() if "epochs" in (settings or {})], \
        "a run sets its own epochs: the workflow tests would train it for that long"

    project.git("init", "-q")
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


@pytest.fixture(scope="module")
def changed(request, baseline, tmp_path_factory) -> Changed:
    scratch = module_scratch(request, tmp_path_factory, "changed")
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


# ------------------------------------------------------------- change one run's parameter, repro

def test_status_names_only_the_changed_run_and_the_stages_reading_all_runs(changed):
    # figures and report read params `runs` (all of it) directly; pdf is not listed yet: its deps
    # (report.tex, the figures) change only when those stages rerun.
    assert set(changed.status_before) == {"train@binary", "figures", "report"}
    assert changed.status_before["train@binary"] == [{"changed deps": {"params.yaml": {"runs.binary": "modified"}}}]


def test_repro_reruns_exactly_the_changed_run_and_what_reads_it(changed):
    assert ran_stages(changed.repro_output) == ["train@binary", "figures", "report", "pdf"]
    runs = changed.project.params()["runs"]
    skipped = set(re.findall(r"^Stage '([^']+)' didn't change, skipping", changed.repro_output, flags=re.M))
    assert skipped == {"download"} | {f"train@{run}" for run in runs if run != "binary"}
    assert changed.project.dvc_json("status") == {}


def test_report_is_rebuilt_with_the_new_numbers(changed):
    project = changed.project
    new_metrics = project.json("metrics/binary.json")
    assert new_metrics != changed.old_metrics
    assert new_metrics["train_loss"] != changed.old_metrics["train_loss"]

    tex = project.read("report/build/report.tex")
    assert tex != changed.old_tex
    # The table of runs: the binary run's row shows the new learning rate.
    row = next(line for line in tex.splitlines() if line.strip().startswith(r"\texttt{binary} &"))
    assert re.search(rf"&\s*{re.escape(repr(NEW_BINARY_LR))}\s*&", row), row
    # The final training loss of Task 2b/2c, as the report formats losses.
    decimals = project.params()["report"]["loss_decimals"]
    assert f"{new_metrics['train_loss']:.{decimals}f}" in tex
    assert f"{changed.old_metrics['train_loss']:.{decimals}f}" != f"{new_metrics['train_loss']:.{decimals}f}"
    assert (project.root / "report/build/report.pdf").stat().st_size > 0


def test_metrics_diff_shows_the_changed_run_against_head(changed):
    new = changed.project.json("metrics/binary.json")
    diff = changed.project.dvc_json("metrics", "diff")
    assert set(diff) == {"metrics/binary.json"}, "only the changed run's metrics moved"
    moved = {key for key in new if new[key] != changed.old_metrics.get(key)}
    assert moved and set(diff["metrics/binary.json"]) == moved
    for key, entry in diff["metrics/binary.json"].items():
        assert entry["old"] == changed.old_metrics[key] and entry["new"] == new[key], key


def test_params_diff_shows_the_learning_rate_against_head(changed):
    old = yaml.safe_load(changed.project.git("show", "HEAD:params.yaml").stdout)["runs"]["binary"]["learning_rate"]
    diff = changed.project.dvc_json("params", "diff")
    assert diff.keys() == {"params.yaml"}
    assert diff["params.yaml"].keys() == {"runs.binary.learning_rate"}
    entry = diff["params.yaml"]["runs.binary.learning_rate"]
    assert (entry["old"], entry["new"]) == (old, NEW_BINARY_LR)


def test_plots_diff_between_two_commits_writes_html_with_both(changed, scratch):
    project = changed.project.copy(scratch / "project", data=False)  # plots diff reads git only
    project.commit_all("runs.binary.learning_rate changed")
    out = scratch / "plots"
    project.dvc("plots", "diff", "HEAD~1", "HEAD", "-o", str(out))
    html = (out / "index.html").read_text(encoding="utf-8")
    last = {rev: project.git("show", f"{rev}:metrics/history/binary/train.csv").stdout.strip().splitlines()[-1]
            for rev in ("HEAD~1", "HEAD")}
    assert last["HEAD~1"] != last["HEAD"]
    for rev, line in last.items():
        step, loss = line.split(",")
        # the last training-loss point of each revision, labelled with that revision
        assert re.search(rf'"step":\s*"{step}",\s*"train_loss":\s*"{re.escape(loss)}",\s*"rev":\s*"{re.escape(rev)}"',
                         html), f"{rev}'s binary training loss is not in {out / 'index.html'}"
    # the report's figures (image plots) of both revisions, and the changed run's figure differs
    images = {rev: sorted((out / "static").glob(f"{rev}_*2b_loss.png")) for rev in ("HEAD~1", "HEAD")}
    assert all(len(found) == 1 for found in images.values()), images
    assert images["HEAD~1"][0].read_bytes() != images["HEAD"][0].read_bytes()


# ------------------------------------------------------------------------- experiments

def test_exp_run_show_apply(baseline, scratch):
    project = baseline.copy(scratch / "project")
    before = project.json("metrics/softmax.json")
    # `++`: runs.softmax has no learning_rate key of its own (it takes defaults'); without `++`
    # DVC refuses to add one (see test_readme_exp_run_spelling_is_accepted).
    run = project.dvc("exp", "run", "-S", "++runs.softmax.learning_rate=0.02")
    assert [stage for stage in ran_stages(run.stdout) if stage.startswith("train@")] == ["train@softmax"]

    found = [(name, exp) for name, exp in experiments(project.dvc_json("exp", "show")).items()
             if exp["params"].get("runs", {}).get("softmax", {}).get("learning_rate") == 0.02]
    assert len(found) == 1, "dvc exp show lists one experiment with runs.softmax.learning_rate 0.02"
    name, exp = found[0]
    metrics = exp["metrics"]["metrics/softmax.json"]
    assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy"} <= metrics.keys()
    assert metrics["train_loss"] != before["train_loss"]

    # Back to the baseline, then bring the experiment back.
    project.git("checkout", "--", ".")
    project.dvc("checkout")
    assert project.json("metrics/softmax.json") == before
    project.dvc("exp", "apply", name)
    for path in ("params.yaml", "metrics/softmax.json", "metrics/history/softmax/validation.csv"):
        assert project.read(path) == project.git("show", f"{exp['rev']}:{path}").stdout, path
    assert project.params()["runs"]["softmax"]["learning_rate"] == 0.02
    assert without_nulls(project.json("metrics/softmax.json")) == metrics
    lock = yaml.safe_load(project.git("show", f"{exp['rev']}:dvc.lock").stdout)
    model = next(out for out in lock["stages"]["train@softmax"]["outs"] if out["path"] == "models/softmax.npy")
    assert md5(project.root / "models/softmax.npy") == model["md5"]


def readme_overrides() -> list[str]:
    """The ``-S`` overrides of every ``dvc exp run`` command the README shows."""
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"^\$? ?(?:\(machine \w\) \$ )?(dvc exp run [^\n#]*)", readme, flags=re.MULTILINE)
    overrides = [shlex.split(command)[shlex.split(command).index("-S") + 1]
                 for command in commands if "-S" in shlex.split(command)]
    assert overrides, "the README shows dvc exp run -S"
    return overrides


def test_every_exp_run_override_the_readme_shows_is_accepted(baseline, scratch):
    project = baseline.copy(scratch / "project", data=False)
    for override in readme_overrides():
        # --queue only records the experiment, after applying the override: a cheap check of the spelling.
        queued = project.dvc("exp", "run", "--queue", "-S", override, check=False)
        assert queued.returncode == 0, f"README's -S {override}: {queued.stderr}"


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


def wait_for_queue(project: Project, timeout: float) -> None:
    """Waits until the queue's worker has started and then exited: it exits by itself about ten
    seconds after the queue is empty. No dvc command runs meanwhile: `dvc exp show` while a queued
    experiment is being collected can hang (seen here once, for ten minutes, on a lock)."""
    records = project.root / ".dvc" / "tmp" / "exps" / "celery"
    deadline = time.monotonic() + timeout
    while not list(records.glob("dvc-exp-worker-*.json")):
        assert time.monotonic() < deadline, f"no queue worker started\n{worker_log(project)}"
        time.sleep(0.5)
    while queue_processes(project):
        assert time.monotonic() < deadline, f"the sweep did not finish within {timeout:g} s\n{worker_log(project)}"
        time.sleep(1)


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


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="finds the queue's processes in /proc (Linux)")
def test_queued_sweep_runs_with_queue_start(baseline, scratch):
    project = baseline.copy(scratch / "project")
    for name, learning_rate in SWEEP.items():
        project.dvc("exp", "run", "--queue", "-n", name, "-S", f"runs.binary.learning_rate={learning_rate}")
    assert project.git("status", "--porcelain").stdout == "", "queueing leaves the workspace as it was"
    status = project.dvc("queue", "status").stdout
    for name in SWEEP:
        assert re.search(rf"^\S+\s+{re.escape(name)}\s+.*\bQueued\b", status, flags=re.M), status

    try:
        project.dvc("queue", "start", "-j", "1")
        wait_for_queue(project, QUEUE_TIMEOUT)
    finally:
        stop_queue(project)
    assert not queue_processes(project)

    status = project.dvc("queue", "status").stdout
    for name in SWEEP:
        assert re.search(rf"^\S+\s+{re.escape(name)}\s+.*\bSuccess\b", status, flags=re.M), \
            f"{status}\n{project.dvc('queue', 'logs', name, check=False).stdout}"
    found = experiments(project.dvc_json("exp", "show"))
    baseline_metrics = project.json("metrics/binary.json")
    results = {}
    for name, learning_rate in SWEEP.items():
        exp = found[name]
        assert exp["state"] == "success"
        assert exp["params"]["runs"]["binary"]["learning_rate"] == learning_rate
        metrics = exp["metrics"]["metrics/binary.json"]
        assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy"} <= metrics.keys()
        # the metrics are the experiment's own: committed with it, and not the baseline's
        committed = json.loads(project.git("show", f"{exp['rev']}:metrics/binary.json").stdout)
        assert without_nulls(committed) == metrics
        assert metrics["train_loss"] != baseline_metrics["train_loss"]
        results[name] = metrics["train_loss"]
    assert len(set(results.values())) == len(SWEEP), "each learning rate gives its own result"
    assert project.git("status", "--porcelain").stdout == "", "the sweep ran outside the workspace"


# ------------------------------------------------------------------------------- remotes

@dataclass
class Shared:
    first: Project
    second: Project


@pytest.fixture(scope="module")
def shared(request, baseline, tmp_path_factory) -> Shared:
    """The baseline pushed to a local-directory remote and pulled into a git clone of it."""
    scratch = module_scratch(request, tmp_path_factory, "shared")
    first = baseline.copy(scratch / "first")
    first.dvc("remote", "add", "-d", "local", str(scratch / "remote"))
    first.commit_all("a local-directory remote")
    first.dvc("push")
    first.git("clone", "-q", str(first.root), str(scratch / "second"))
    second = Project(scratch / "second", first.env)
    assert not (second.root / "models" / "binary.npy").exists(), "a git clone has no DVC outputs"
    second.dvc("pull")
    return Shared(first, second)


def test_push_then_pull_in_a_clone_gives_identical_outputs(shared):
    first, second = shared.first.root, shared.second.root
    runs = shared.first.params()["runs"]
    paths = ([f"models/{run}.npy" for run in runs] + [f"data/mnist/{name}" for name in MNIST_NAMES]
             + ["report/build/report.pdf"])
    assert sorted(p.name for p in (second / "models").glob("*.npy")) == sorted(p.name for p in (first / "models").glob("*.npy"))
    for path in paths:
        assert (second / path).read_bytes() == (first / path).read_bytes(), path
    # the clone needs no retraining: every run's outputs match its lock entry
    stale = shared.second.dvc_json("status")
    assert not [stage for stage in stale if stage.startswith(("train@", "download"))], stale


def test_pulled_clone_is_up_to_date(shared):
    assert shared.second.dvc_json("status") == {}
