"""``kill -9`` of a stage at any moment leaves nothing a later stage or ``dvc status`` could take for a
result, and the next ``dvc repro`` recovers the same outputs as an uninterrupted run.

Real processes, real SIGKILLs, the real ``dvc``: each test works in a scratch git + DVC copy of this
project (as ``tests/test_workflows.py`` makes one) and runs ``dvc repro`` of one stage. The moment of
the kill is made deterministic by a ``sitecustomize`` module on the stage's ``PYTHONPATH`` (only in
the scratch copy): told by ``FAULT_KILL=<module>:<event>:<argument>``, the stage process
``python -m <module>`` (never ``dvc`` itself) sends itself SIGKILL, so no handler and no ``finally``
runs, at that event: after printing a line holding a text, before the n-th ``os.replace`` (the
rename of an atomic write), half-way through the n-th ``Path.write_bytes``, before the n-th
``Path.rename``, or at the n-th ``urlopen``. One case kills ``dvc`` and its stage together from
outside instead, while the stage waits after a line (``pause``). The recovering ``dvc repro`` may
run the stage or restore its outputs from DVC's run cache (train@<run> enters it): either way the
outputs must be the uninterrupted run's. The download stage fetches four small synthetic IDX files from a server on
127.0.0.1, whose digests the hook puts in place of MNIST's (``data.MNIST_FILES``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from local_http import Servers, serving

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DVC = str(VENV_BIN / "dvc") if (VENV_BIN / "dvc").is_file() else shutil.which("dvc")
RUN = "binary"
EPOCHS = 3  # the killed run's epochs: the kill after epoch 1 lands mid-training
TRAIN_OUTPUTS = (f"metrics/history/{RUN}/train.csv", f"metrics/history/{RUN}/validation.csv",
                 f"models/{RUN}.npy", f"metrics/{RUN}.json")  # in the order train.py writes them
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(DVC is None or shutil.which("git") is None, reason="dvc or git not installed")]

SITECUSTOMIZE = r'''
"""Test hook (tests/test_faults.py): SIGKILLs the stage process at the moment FAULT_KILL names."""
import json, os, pathlib, signal, sys

_spec = os.environ.get("FAULT_KILL", "")
_module = _spec.split(":", 1)[0]
if _spec and _module in getattr(sys, "orig_argv", []):  # `python -m <module>`: the stage, not dvc
    _, _event, _argument = _spec.split(":", 2)
    _calls = [0]

    def _die():
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    def _nth():
        _calls[0] += 1
        return _calls[0] == int(_argument)

    if _event in ("print", "pause"):  # pause: wait there to be killed from outside
        import builtins, time
        _print = builtins.print

        def _printed(*args, **kwargs):
            _print(*args, **kwargs)
            if _argument in " ".join(map(str, args)):
                if _event == "pause":
                    time.sleep(120)
                _die()
        builtins.print = _printed
    elif _event in ("replace", "rename", "urlopen"):  # die before the n-th call
        import urllib.request
        _owner, _name = {"replace": (os, "replace"), "rename": (pathlib.Path, "rename"),
                         "urlopen": (urllib.request, "urlopen")}[_event]
        _original = getattr(_owner, _name)

        def _called(*args, **kwargs):
            if _nth():
                _die()
            return _original(*args, **kwargs)
        setattr(_owner, _name, _called)
    elif _event == "write":
        _write = pathlib.Path.write_bytes

        def _written(self, data):
            if _nth():
                with open(self, "wb") as file:
                    file.write(data[: len(data) // 2])
                _die()
            return _write(self, data)
        pathlib.Path.write_bytes = _written
    else:
        raise SystemExit(f"FAULT_KILL: unknown event {_event!r}")

if os.environ.get("FAULT_MNIST_FILES") and "mnist_report.download" in getattr(sys, "orig_argv", []):
    import mnist_report.mnist.data as _data
    _data.MNIST_FILES = tuple(_data.IdxFile(**spec) for spec in json.loads(os.environ["FAULT_MNIST_FILES"]))
'''


# ------------------------------------------------------------------------------------- helpers

class Project:
    """A scratch git + DVC copy of the project, and the environment its commands run in."""

    def __init__(self, root: Path, scratch: Path):
        self.root = root
        hook = scratch / "hook"
        hook.mkdir(exist_ok=True)
        (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("DVC_", "GIT_", "FAULT_"))}
        for name in ("dvc-global-config", "dvc-system-config", "dvc-site-cache"):
            (scratch / name).mkdir(exist_ok=True)
        self.env.update({
            "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
            # The copy's own src/ (relative: DVC runs stages at the repository root), then the hook.
            "PYTHONPATH": os.pathsep.join(["src", str(hook)]),
            # Bytecode written, as in tests/workflow_project.py: `dvc` starts from it.
            "DVC_GLOBAL_CONFIG_DIR": str(scratch / "dvc-global-config"),
            "DVC_SYSTEM_CONFIG_DIR": str(scratch / "dvc-system-config"),
            "DVC_SITE_CACHE_DIR": str(scratch / "dvc-site-cache"),
            "DVC_NO_ANALYTICS": "1", "DVC_STUDIO_OFFLINE": "1",
            "GIT_AUTHOR_NAME": "Fault Test", "GIT_AUTHOR_EMAIL": "fault-test@example.invalid",
            "GIT_COMMITTER_NAME": "Fault Test", "GIT_COMMITTER_EMAIL": "fault-test@example.invalid",
        })

    def run(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(list(args), cwd=self.root, env={**self.env, **(env or {})}, capture_output=True,
                                text=True, timeout=300, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            pytest.fail(f"`{' '.join(args)}` exited with {result.returncode}\n{result.stdout}\n{result.stderr}",
                        pytrace=False)
        return result

    def dvc(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run(DVC, *args, **kwargs)

    def status(self, stage: str) -> dict:
        return json.loads(self.dvc("status", stage, "--json").stdout)

    def files(self, *paths: str) -> dict[str, bytes]:
        """Path -> bytes of every regular file under ``paths`` (relative to the root)."""
        found = {}
        for path in paths:
            top = self.root / path
            for file in [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []:
                if file.is_file():
                    found[str(file.relative_to(self.root))] = file.read_bytes()
        return found

    def leftovers(self) -> list[Path]:
        """Temporary files and directories of atomic writes and of the download's staging, anywhere."""
        return sorted(path for path in self.root.rglob(".*") if ".dvc" not in path.relative_to(self.root).parts
                      and path.name.endswith(".tmp"))


def make_project(scratch: Path, edit_params) -> Project:
    """The project's files (tracked, and untracked ones git does not ignore) in a new git repository
    under ``scratch``, with ``edit_params(params)`` applied to params.yaml, committed."""
    root = scratch / "project"
    listing = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout.decode()
    for name in sorted(set(filter(None, listing.split("\0")))):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    params = yaml.safe_load((root / "params.yaml").read_text())
    edit_params(params)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    project = Project(root, scratch)
    project.run("git", "init", "-q")
    project.run("git", "config", "commit.gpgsign", "false")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-q", "--no-verify", "-m", "scratch copy")
    return project


def commit(project: Project, message: str) -> None:
    project.run("git", "add", "-A")
    project.run("git", "commit", "-q", "--no-verify", "-m", message)
    assert project.run("git", "status", "--porcelain").stdout == ""


def kill_during(project: Project, stage: str, fault: str, extra_env: dict | None = None) -> str:
    """Runs ``dvc repro -f -s <stage>`` whose stage process SIGKILLs itself at ``fault``; returns dvc's
    output, after checking that the stage died of SIGKILL and dvc reported the failure."""
    result = project.dvc("repro", "-f", "-s", stage, check=False, env={"FAULT_KILL": fault, **(extra_env or {})})
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"the stage was not killed at {fault}:\n{output}"
    assert "-9" in output or "SIGKILL" in output or "Killed" in output, output
    return output


def assert_recovers(project: Project, stage: str, outputs: tuple[str, ...], expected: dict[str, bytes],
                    extra_env: dict | None = None) -> None:
    """``dvc status`` calls ``stage`` changed; ``dvc repro`` brings back the uninterrupted outputs and
    the repository exactly as committed (dvc.lock too); what the kill left is no more than before."""
    left = project.leftovers()
    assert project.status(stage) != {}, f"dvc status calls {stage} up to date after the kill"
    project.dvc("repro", "-s", stage, env=extra_env)
    assert project.status(stage) == {}
    assert project.files(*outputs) == expected
    assert project.run("git", "status", "--porcelain").stdout == ""
    assert set(project.leftovers()) <= set(left)


def assert_ignored_by_git(project: Project, paths: list[Path]) -> None:
    """What a kill leaves beside the outputs is hidden from git (and from DVC: see the last test)."""
    names = [str(path.relative_to(project.root)) for path in paths]
    if names:
        assert project.run("git", "check-ignore", *names, check=False).stdout.split() == names


# ---------------------------------------------------------------------------------- train stage

@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Project, dict[str, bytes]]:
    """A scratch project whose train@binary ran uninterrupted (committed), and its outputs' bytes."""
    assert all((REPO / "data" / "mnist" / name).is_file() for name in MNIST_NAMES), "run `dvc repro download` first"
    scratch = tmp_path_factory.mktemp("faults-train")

    def short_run(params: dict) -> None:
        params["runs"][RUN]["epochs"] = EPOCHS

    project = make_project(scratch, short_run)
    shutil.copytree(REPO / "data" / "mnist", project.root / "data" / "mnist")
    project.dvc("repro", "-s", f"train@{RUN}")
    commit(project, "uninterrupted train@binary")
    yield project, project.files(*TRAIN_OUTPUTS)
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize("fault, written, temporary", [
    ("mnist_report.train:write:2", 1, 1),     # half-way through validation.csv's temporary file
    ("mnist_report.train:replace:4", 3, 1),   # all but the metrics, whose temporary file is complete
])
def test_a_train_stage_killed_leaves_no_result_and_the_next_repro_recovers(trained, fault, written, temporary):
    project, uninterrupted = trained
    before = project.leftovers()
    kill_during(project, f"train@{RUN}", fault)
    present = project.files(*TRAIN_OUTPUTS)
    # Exactly the outputs renamed into place before the kill, each complete; never metrics without the rest.
    assert sorted(present) == sorted(TRAIN_OUTPUTS[:written])
    assert all(present[path] == uninterrupted[path] for path in present)
    leftovers = project.leftovers()
    assert len(set(leftovers) - set(before)) == temporary
    assert_ignored_by_git(project, leftovers)
    assert_recovers(project, f"train@{RUN}", TRAIN_OUTPUTS, uninterrupted)


def test_dvc_and_its_train_stage_killed_together_from_outside_recover(trained):
    project, uninterrupted = trained
    process = subprocess.Popen([DVC, "repro", "-f", "-s", f"train@{RUN}"], cwd=project.root,
                               env={**project.env, "FAULT_KILL": f"mnist_report.train:pause:train@{RUN} epoch 0 ("},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in process.stdout:
            if line.startswith(f"train@{RUN} epoch 0 ("):
                os.killpg(process.pid, signal.SIGKILL)  # dvc and the stage: as a power cut would
                break
        else:
            pytest.fail("the stage printed no epoch line")
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert project.files(*TRAIN_OUTPUTS) == {}
    assert_recovers(project, f"train@{RUN}", TRAIN_OUTPUTS, uninterrupted)  # dvc's stale lock is released


# ------------------------------------------------------------------------------- download stage

def idx(magic: int, array_shape: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(f">I{len(array_shape)}I", magic, *array_shape) + payload


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Four small IDX files served gzipped from 127.0.0.1: (their specs as JSON, the base URL, the IDX bytes)."""
    files = {"train-images-idx3-ubyte": idx(2051, (3, 28, 28), bytes(range(256)) * 9 + bytes(48)),
             "train-labels-idx1-ubyte": idx(2049, (3,), bytes([5, 0, 4])),
             "t10k-images-idx3-ubyte": idx(2051, (2, 28, 28), bytes(reversed(range(256))) * 6 + bytes(32)),
             "t10k-labels-idx1-ubyte": idx(2049, (2,), bytes([7, 2]))}
    bodies = {f"/{name}.gz": gzip.compress(data, mtime=0) for name, data in files.items()}
    specs = [{"name": name, "gz_md5": hashlib.md5(bodies[f"/{name}.gz"]).hexdigest(),
              "sha256": hashlib.sha256(data).hexdigest(), "magic": 2051 if "images" in name else 2049,
              "count": struct.unpack(">I", data[4:8])[0]} for name, data in files.items()]

    servers = Servers()
    url = servers.start("mnist", serving({name.lstrip("/"): body for name, body in bodies.items()}))
    yield json.dumps(specs), url, files
    servers.close()


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory, served):
    """A scratch project whose download stage ran uninterrupted from the local server (committed)."""
    specs, url, files = served
    scratch = tmp_path_factory.mktemp("faults-download")
    project = make_project(scratch, lambda params: params["data"].update(sources=[url], timeout_seconds=5))
    environment = {"FAULT_MNIST_FILES": specs}
    project.dvc("repro", "-s", "download", env=environment)
    assert project.files("data/mnist") == {f"data/mnist/{name}": data for name, data in files.items()}
    commit(project, "uninterrupted download")
    yield project, environment, project.files("data/mnist")
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize("fault, staging", [
    ("mnist_report.download:urlopen:3", False),  # two files fetched, in memory only
    ("mnist_report.download:write:2", True),     # half-way through the staging directory's second file
    ("mnist_report.download:rename:1", True),    # all four staged, data/mnist already removed
])
def test_a_download_killed_leaves_no_data_and_the_next_repro_recovers(downloaded, fault, staging):
    project, environment, uninterrupted = downloaded
    before = project.leftovers()
    kill_during(project, "download", fault, environment)
    assert not (project.root / "data" / "mnist").exists()  # DVC removed it before the run: never partial
    leftovers = project.leftovers()
    assert len(set(leftovers) - set(before)) == staging
    assert_ignored_by_git(project, leftovers)
    assert_recovers(project, "download", ("data/mnist",), uninterrupted, environment)


# ------------------------------------------------------------------------------------- git ignores

@pytest.mark.parametrize("path", ["dvc_plots/index.html", "metrics/.binary.json.123.abcd1234.tmp",
                                  "data/.mnist.123.k2j4_x9a.tmp"])
def test_what_dvc_plots_show_and_killed_writes_leave_is_ignored_by_git(path):
    result = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", path], capture_output=True, text=True)
    assert result.stdout.strip() == path, f"{path} is not ignored by git"


def test_what_killed_writes_leave_is_ignored_by_dvc():
    # Not hashed into a directory dep (figures and report depend on metrics/ and models/).
    paths = ["metrics/.binary.json.123.abcd1234.tmp", "metrics/history/softmax/.train.csv.77.x_1y2z3w.tmp",
             "models/.softmax.npy.9.abcdefgh.tmp", "data/.mnist.123.k2j4_x9a.tmp"]
    result = subprocess.run([DVC, "check-ignore", *paths], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == paths


# ------------------------------------------------------------------- atomic writes, killed mid-way

KILLED_MID_WRITE = r'''
import os, signal, sys
from mnist_report.common.files import {opener}
with {opener}(sys.argv[1]) as temporary:
    {write}
    print(temporary, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
'''


def killed_mid_write(target: Path, opener: str, write: str) -> Path:
    """Runs a process that SIGKILLs itself inside ``opener(target)`` after ``write``; returns the
    temporary path it left."""
    script = KILLED_MID_WRITE.format(opener=opener, write=write)
    result = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert result.returncode == -signal.SIGKILL, result.stderr
    return Path(result.stdout.strip())


def test_a_write_killed_mid_way_leaves_only_a_hidden_temporary_that_the_next_write_removes(tmp_path):
    from mnist_report.common.files import write_text
    target = tmp_path / "metrics" / "run.json"
    left = killed_mid_write(target, "atomic_path", "temporary.write_text('{\"half\": ')")
    assert not target.exists() and left.parent == target.parent
    assert left.name.startswith(".run.json.") and left.name.endswith(".tmp")  # the names .dvcignore hides
    # A concurrent writer's temporary file (this process is alive) and another target's are kept.
    alive = target.parent / f".run.json.{os.getpid()}.abcd1234.tmp"
    other = target.parent / ".run.json.5.99999999.tmp"  # the temporary file of a target named run.json.5
    alive.write_text("")
    other.write_text("")
    write_text(target, "{}\n")
    assert target.read_text() == "{}\n"
    assert sorted(target.parent.iterdir()) == sorted([target, alive, other])


def test_a_directory_write_killed_mid_way_leaves_the_old_one_or_none_and_is_cleaned(tmp_path):
    from mnist_report.common.files import atomic_directory
    target = tmp_path / "data" / "mnist"
    target.mkdir(parents=True)
    (target / "old").write_text("old")
    left = killed_mid_write(target, "atomic_directory", "(temporary / 'new').write_text('half')")
    assert left.is_dir() and (target / "old").read_text() == "old"  # the old directory, whole
    with atomic_directory(target) as staging:
        (staging / "new").write_text("new")
    assert sorted(path.name for path in target.parent.iterdir()) == ["mnist"]  # the leftover removed too
    assert [path.name for path in target.iterdir()] == ["new"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o700)  # as a plain mkdir would make it
