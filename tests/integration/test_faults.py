"""``kill -9`` of a stage at any moment leaves nothing a later stage or ``dvc status`` could take for a
result, and the next ``dvc repro`` recovers the same outputs as an uninterrupted run.

Real processes, real SIGKILLs, the real ``dvc``: each test works in a scratch git + DVC copy of this
project (as ``tests/integration/test_workflows.py`` makes one) and runs ``dvc repro`` of one stage. The moment of
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
from support.local_http import Servers, serving

from support.paths import REPO
from support.scratch_project import MNIST_NAMES, ScratchProject

VENV_BIN = Path(sys.executable).parent
DVC = str(VENV_BIN / "dvc") if (VENV_BIN / "dvc").is_file() else shutil.which("dvc")
RUN = "binary"
EPOCHS = 3  # the killed run's epochs: the kill after epoch 1 lands mid-training
TRAIN_OUTPUTS = (f"metrics/history/{RUN}/train.csv", f"metrics/history/{RUN}/validation.csv",
                 f"models/{RUN}.npy", f"metrics/{RUN}.json")  # in the order train.py writes them

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(DVC is None or shutil.which("git") is None, reason="dvc or git not installed")]

SITECUSTOMIZE = r'''
"""Test hook (tests/integration/test_faults.py): SIGKILLs the stage process at the moment FAULT_KILL names."""
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

def hook_folder(scratch: Path) -> Path:
    """A folder in ``scratch`` holding the ``sitecustomize`` hook (:data:`SITECUSTOMIZE`)."""
    hook = scratch / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return hook


def make_project(scratch: Path, edit_params) -> ScratchProject:
    """The project's files (tracked, and untracked ones git does not ignore) in a new git repository
    under ``scratch``, with ``edit_params(params)`` applied to params.yaml, committed. Its stages import
    the copy's own src/, then the hook (relative: DVC runs stages at the repository root)."""
    project = ScratchProject.of_checkout(scratch / "project", scratch=scratch,
                                         pythonpath=("src", str(hook_folder(scratch))))
    project.edit_params(edit_params)
    project.init_git()
    project.commit_all("scratch copy")
    return project


def status(project: ScratchProject, stage: str) -> dict:
    """What `dvc status <stage>` says is changed ({} when up to date)."""
    return project.dvc_json("status", stage)


def temporaries_left(project: ScratchProject) -> list[Path]:
    """Temporary files and directories of atomic writes and of the download's staging, anywhere."""
    return sorted(path for path in project.root.rglob(".*") if ".dvc" not in path.relative_to(project.root).parts
                  and path.name.endswith(".tmp"))


def commit(project: ScratchProject, message: str) -> None:
    """Commits every change, and checks that nothing is left uncommitted."""
    project.commit_all(message)
    assert project.run("git", "status", "--porcelain").stdout == ""


def kill_during(project: ScratchProject, stage: str, fault: str, extra_env: dict | None = None) -> str:
    """Runs ``dvc repro -f -s <stage>`` whose stage process SIGKILLs itself at ``fault``; returns dvc's
    output, after checking that the stage died of SIGKILL and dvc reported the failure."""
    result = project.dvc("repro", "-f", "-s", stage, check=False, env={"FAULT_KILL": fault, **(extra_env or {})})
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"the stage was not killed at {fault}:\n{output}"
    assert "-9" in output or "SIGKILL" in output or "Killed" in output, output
    return output


def assert_recovers(project: ScratchProject, stage: str, outputs: tuple[str, ...], expected: dict[str, bytes],
                    extra_env: dict | None = None) -> None:
    """``dvc status`` calls ``stage`` changed; ``dvc repro`` brings back the uninterrupted outputs and
    the repository exactly as committed (dvc.lock too); what the kill left is no more than before."""
    left = temporaries_left(project)
    assert status(project, stage) != {}, f"dvc status calls {stage} up to date after the kill"
    project.dvc("repro", "-s", stage, env=extra_env)
    assert status(project, stage) == {}
    assert project.files(*outputs) == expected
    assert project.run("git", "status", "--porcelain").stdout == ""
    assert set(temporaries_left(project)) <= set(left)


def assert_ignored_by_git(project: ScratchProject, paths: list[Path]) -> None:
    """What a kill leaves beside the outputs is hidden from git (and from DVC: see the last test)."""
    names = [str(path.relative_to(project.root)) for path in paths]
    if names:
        assert project.run("git", "check-ignore", *names, check=False).stdout.split() == names


# ---------------------------------------------------------------------------------- train stage

@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[ScratchProject, dict[str, bytes]]:
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
    before = temporaries_left(project)
    kill_during(project, f"train@{RUN}", fault)
    present = project.files(*TRAIN_OUTPUTS)
    # Exactly the outputs renamed into place before the kill, each complete; never metrics without the rest.
    assert sorted(present) == sorted(TRAIN_OUTPUTS[:written])
    assert all(present[path] == uninterrupted[path] for path in present)
    leftovers = temporaries_left(project)
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
    before = temporaries_left(project)
    kill_during(project, "download", fault, environment)
    assert not (project.root / "data" / "mnist").exists()  # DVC removed it before the run: never partial
    leftovers = temporaries_left(project)
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
