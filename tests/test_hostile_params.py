"""What a hostile params.yaml gets from the real ``dvc``, as a user would meet it: a run name that
carries shell syntax never reaches a shell, and a data source that carries a pip payload never
reaches pip. Each case runs ``dvc repro`` in a scratch copy of the project and checks that the marker
file the payload would create does not exist.

The scratch project is ``dvc init --no-scm`` with this checkout's dvc.yaml, params.yaml and src/;
``data/mnist`` is the real data (a symlink), so the train stage gets as far as it would for a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT / "data" / "mnist"
VENV_BIN = Path(sys.executable).parent
MARKER = "MARKER"

#: Run names that a shell would read as commands creating MARKER, if one ever saw them.
HOSTILE_RUN_NAMES = [
    f"a;touch {MARKER}",
    f"$(touch {MARKER})",
    f"`touch {MARKER}`",
    f"a' ; touch {MARKER} ; '",
    f"a\" ; touch {MARKER} ; \"",
    f"a && touch {MARKER}",
    f"a\ntouch {MARKER}",
    f"a|touch {MARKER}",
]


def dvc() -> str:
    path = VENV_BIN / "dvc"
    return str(path) if path.is_file() else shutil.which("dvc") or pytest.skip("dvc not installed")


def environment_for(root: Path) -> dict[str, str]:
    """The environment of the dvc commands in the scratch project ``root``."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DVC_")}
    environment.update({"PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
                        "PYTHONPATH": str(root / "src"), "DVC_NO_ANALYTICS": "1",
                        "DVC_GLOBAL_CONFIG_DIR": str(root / ".dvc-global"),
                        "DVC_SYSTEM_CONFIG_DIR": str(root / ".dvc-system"),
                        "DVC_SITE_CACHE_DIR": str(root / ".dvc-site-cache")})
    return environment


@pytest.fixture(scope="module")
def initialized(tmp_path_factory) -> Path:
    """The scratch project as ``dvc init --no-scm`` leaves it, made once for the module: each test
    copies it (one `dvc init` instead of one per test)."""
    assert (REAL_DATA / "train-images-idx3-ubyte").exists(), "run `dvc repro download` (or `dvc checkout`) first"
    root = tmp_path_factory.mktemp("initialized")
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (root / "data").mkdir()
    (root / "data" / "mnist").symlink_to(REAL_DATA)
    run = subprocess.run([dvc(), "init", "--no-scm", "-q"], cwd=root, env=environment_for(root), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return root


@pytest.fixture
def project(initialized, tmp_path):
    """A scratch DVC project (no git) with this checkout's pipeline and the real MNIST files (a copy
    of ``initialized``)."""
    root = tmp_path / "project"
    shutil.copytree(initialized, root, symlinks=True)
    return root, environment_for(root)


def edit_params(root: Path, edit) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    edit(params)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))


def dvc_run(root: Path, environment: dict, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([dvc(), *arguments], cwd=root, env=environment, capture_output=True, text=True,
                          timeout=600)


def markers(root: Path) -> list[str]:
    return [str(path.relative_to(root)) for path in root.rglob(f"*{MARKER}*") if "src" not in path.parts]


def test_the_train_command_names_no_run():
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["train"]["do"]
    assert "${" not in stage["cmd"], "no text of params.yaml may reach the shell that runs the command"


@pytest.mark.slow  # runs dvc repro in a scratch project
@pytest.mark.parametrize("name", HOSTILE_RUN_NAMES)
def test_dvc_repro_of_a_run_with_a_hostile_name_runs_nothing_it_carries(project, name):
    root, environment = project
    edit_params(root, lambda params: params["runs"].update({name: {"epochs": 1}}))
    # Its own stage alone: the train stage runs (DVC has no reason to refuse) and refuses the name.
    stage = dvc_run(root, environment, "repro", "--single-item", f"train@{name}")
    output = stage.stdout + stage.stderr
    assert stage.returncode != 0, output
    assert not markers(root), output
    shown = name if name.isprintable() else repr(name)
    assert f"error: runs.{shown}: not a valid run name" in output, output
    assert not (root / "models").exists() and not (root / "metrics").exists()


@pytest.mark.slow  # runs dvc repro in a scratch project
def test_dvc_repro_of_the_whole_pipeline_with_a_hostile_name_runs_nothing_it_carries(project):
    root, environment = project
    name = HOSTILE_RUN_NAMES[0]
    edit_params(root, lambda params: params["runs"].update({name: {"epochs": 1}}))
    # dvc status reads the same file and lists the stage: still no shell sees the name.
    status = dvc_run(root, environment, "status")
    assert status.returncode == 0, status.stderr
    assert f"train@{name}" in status.stdout
    repro = dvc_run(root, environment, "repro")
    output = repro.stdout + repro.stderr
    assert repro.returncode != 0 and not markers(root), output
    assert f"error: runs.{name}: not a valid run name" in output, output


@pytest.mark.slow  # runs dvc repro in a scratch project
def test_dvc_repro_of_a_hostile_data_source_runs_nothing_it_carries(project):
    root, environment = project
    marker = root / MARKER
    (root / "evil").mkdir()
    (root / "evil" / "setup.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
                                            "from setuptools import setup\nsetup(name='evil', version='1.0')\n")
    (root / "data" / "mnist").unlink()  # the download stage has to run
    edit_params(root, lambda params: params["data"].update({"sources": ["pypi:./evil"]}))
    repro = dvc_run(root, environment, "repro", "download")
    output = repro.stdout + repro.stderr
    assert repro.returncode != 0 and not markers(root), output
    assert "error: data.sources[0] = 'pypi:./evil': expected an http:// or https:// URL" in output, output


@pytest.mark.slow  # runs dvc repro in a scratch project
def test_a_valid_run_runs_from_dvc_stage_alone(project):
    # The command names no run: DVC's DVC_STAGE (train@<run>) tells the stage which one it is.
    root, environment = project
    edit_params(root, lambda params: params["runs"].update({"tiny-run_1": {"task": "binary", "epochs": 1}}))
    repro = dvc_run(root, environment, "repro", "--single-item", "train@tiny-run_1")
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert (root / "metrics" / "tiny-run_1.json").is_file() and (root / "models" / "tiny-run_1.npy").is_file()
    assert sorted(path.name for path in (root / "models").iterdir()) == ["tiny-run_1.npy"]
