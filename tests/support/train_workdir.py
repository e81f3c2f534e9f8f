"""A directory that looks like the project for the train stage's tests (tests/unit/test_train.py,
tests/integration/test_train_stage.py): params.yaml with a run ``trial`` and the real MNIST files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_report.config.schema import load_params
from support.paths import REPO
from support.yaml_files import yaml_text

REAL_DATA = REPO / "data" / "mnist"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A directory that looks like the project: params.yaml and the real data (dvc repro download)."""
    assert (REAL_DATA / "train-images-idx3-ubyte").exists(), "run `dvc repro download` first"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mnist").symlink_to(REAL_DATA)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_params(directory: Path, **run_overrides) -> None:
    """Writes the project's params.yaml with a run ``trial`` (binary, two epochs, ``run_overrides``)."""
    params = load_params(REPO / "params.yaml")
    params["runs"]["trial"] = {"task": "binary", "learning_rate": 0.05, "epochs": 2, **run_overrides}
    (directory / "params.yaml").write_text(yaml_text(params))
