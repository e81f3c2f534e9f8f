"""What a hostile params.yaml gets from the real ``dvc``, as a user would meet it: a run name that
carries shell syntax never reaches a shell, and a data source that carries a pip payload never
reaches pip. Each case runs ``dvc repro`` in a scratch copy of the project and checks that the marker
file the payload would create does not exist.

The scratch project (:class:`support.scratch_project.ScratchProject`) is ``dvc init --no-scm`` with
this checkout's dvc.yaml, params.yaml and src/;
``data/mnist`` is the real data (a symlink), so the train stage gets as far as it would for a user.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.scratch_project import ScratchProject

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


@pytest.fixture(scope="module")
def initialized(tmp_path_factory) -> ScratchProject:
    """The scratch project as ``dvc init --no-scm`` leaves it, made once for the module: each test
    copies it (one `dvc init` instead of one per test)."""
    project = ScratchProject.of_checkout(tmp_path_factory.mktemp("initialized") / "project",
                                         only=("dvc.yaml", "params.yaml", "src"), data="link")
    project.dvc("init", "--no-scm", "-q", timeout=120)
    return project


@pytest.fixture
def project(initialized, tmp_path) -> ScratchProject:
    """A scratch DVC project (no git) with this checkout's pipeline and the real MNIST files (a copy
    of ``initialized``)."""
    return initialized.copy(tmp_path / "project")


def markers(root: Path) -> list[str]:
    return [str(path.relative_to(root)) for path in root.rglob(f"*{MARKER}*") if "src" not in path.parts]


@pytest.mark.slow  # runs dvc repro in a scratch project
@pytest.mark.parametrize("name", HOSTILE_RUN_NAMES)
def test_dvc_repro_of_a_run_with_a_hostile_name_runs_nothing_it_carries(project, name):
    root = project.root
    project.edit_params(lambda params: params["runs"].update({name: {"epochs": 1}}))
    # Its own stage alone: the train stage runs (DVC has no reason to refuse) and refuses the name.
    stage = project.dvc("repro", "--single-item", f"train@{name}", check=False)
    output = stage.stdout + stage.stderr
    assert stage.returncode != 0, output
    assert not markers(root), output
    shown = name if name.isprintable() else repr(name)
    assert f"error: runs.{shown}: not a valid run name" in output, output
    assert not (root / "models").exists() and not (root / "metrics").exists()


@pytest.mark.slow  # runs dvc repro in a scratch project
def test_dvc_repro_of_the_whole_pipeline_with_a_hostile_name_runs_nothing_it_carries(project):
    root = project.root
    name = HOSTILE_RUN_NAMES[0]
    project.edit_params(lambda params: params["runs"].update({name: {"epochs": 1}}))
    # dvc status reads the same file and lists the stage: still no shell sees the name.
    status = project.dvc("status", check=False)
    assert status.returncode == 0, status.stderr
    assert f"train@{name}" in status.stdout
    repro = project.dvc("repro", check=False)
    output = repro.stdout + repro.stderr
    assert repro.returncode != 0 and not markers(root), output
    assert f"error: runs.{name}: not a valid run name" in output, output


@pytest.mark.slow  # runs dvc repro in a scratch project
def test_dvc_repro_of_a_hostile_data_source_runs_nothing_it_carries(project):
    root = project.root
    marker = root / MARKER
    (root / "evil").mkdir()
    (root / "evil" / "setup.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
                                            "from setuptools import setup\nsetup(name='evil', version='1.0')\n")
    (root / "data" / "mnist").unlink()  # the download stage has to run
    project.edit_params(lambda params: params["data"].update({"sources": ["pypi:./evil"]}))
    repro = project.dvc("repro", "download", check=False)
    output = repro.stdout + repro.stderr
    assert repro.returncode != 0 and not markers(root), output
    assert "error: data.sources[0] = 'pypi:./evil': expected an http:// or https:// URL" in output, output


@pytest.mark.slow  # runs dvc repro in a scratch project
def test_a_valid_run_runs_from_dvc_stage_alone(project):
    # The command names no run: DVC's DVC_STAGE (train@<run>) tells the stage which one it is.
    root = project.root
    project.edit_params(lambda params: params["runs"].update({"tiny-run_1": {"task": "binary", "epochs": 1}}))
    repro = project.dvc("repro", "--single-item", "train@tiny-run_1", check=False)
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert (root / "metrics" / "tiny-run_1.json").is_file() and (root / "models" / "tiny-run_1.npy").is_file()
    assert sorted(path.name for path in (root / "models").iterdir()) == ["tiny-run_1.npy"]
