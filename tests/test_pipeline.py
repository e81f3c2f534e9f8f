"""dvc.yaml declares what each stage reads: no stage reads a file that is not one of its deps."""

import sys
from pathlib import Path

import pytest
import yaml

from mnist_report import figures, report
from mnist_report.config.params import check_params

ROOT = Path(__file__).resolve().parent.parent


def stage(name):
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][name]


def covered(path: str, deps: list[str]) -> bool:
    """True when ``path`` is a dep or lies inside a directory dep."""
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize(("name", "module"), [("figures", figures), ("report", report)])
def test_stage_deps_cover_every_file_it_reads(name, module):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    deps = stage(name)["deps"]
    read = [str(path) for path in module.input_paths(check_params(params))]
    assert read, "the stage reads something"
    missing = [path for path in read if not covered(path, deps)]
    assert not missing, f"stage {name} reads {missing} without declaring them in dvc.yaml"
    source = Path(sys.modules[module.__name__].__file__).relative_to(ROOT / "src").as_posix()
    assert f"src/{source}" in deps


def test_every_run_is_a_train_stage_with_its_own_params():
    train = stage("train")
    assert train["foreach"] == "${runs}"
    assert "runs.${key}" in train["do"]["params"] and "defaults" in train["do"]["params"]
