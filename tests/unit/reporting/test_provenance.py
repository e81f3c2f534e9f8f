"""reporting/provenance.py: the commit the report names (the newest that changed more than the pipeline's outputs, what it ignores), the software versions it names (requirements.lock's pins), checked in scratch git repositories."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
import pytest
from mnist_report.reporting import provenance
from support.paths import REPO


def git(root: Path, *arguments: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=test", "-c", "user.email=test@example.com",
                    "-c", "commit.gpgsign=false", *arguments], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_state_ignores_what_the_pipeline_writes(tmp_path):
    assert provenance.git_state(tmp_path)["note"] == "not a git repository"
    git(tmp_path, "init", "-q")
    (tmp_path / "src").mkdir()
    (tmp_path / "src/code.py").write_text("x = 1\n")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/run.json").write_text("{}\n")
    assert provenance.git_state(tmp_path)["note"] == "the repository has no commit yet"
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    state = provenance.git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["modified"] is False
    (tmp_path / "metrics/run.json").write_text('{"val_loss": 1}\n')  # a result, written by dvc repro
    (tmp_path / ".gitignore").write_text("/models\n")  # DVC appends its outputs here
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    assert provenance.git_state(tmp_path)["modified"] is False
    (tmp_path / "src/code.py").write_text("x = 2\n")
    (tmp_path / "src/new.py").write_text("")
    state = provenance.git_state(tmp_path)
    assert state["modified"] is True and state["changes"] == ["src/code.py", "src/new.py"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_state_names_the_newest_commit_that_changed_more_than_the_pipelines_outputs(tmp_path):
    # The commit that records a run's dvc.lock and metrics names the code of the run itself, so that
    # a fresh clone of it renders the report that dvc.lock records.
    git(tmp_path, "init", "-q")
    (tmp_path / "src").mkdir()
    (tmp_path / "src/code.py").write_text("x = 1\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "code")
    code_commit = provenance.git_state(tmp_path)["commit"]
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/run.json").write_text("{}\n")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "results")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    state = provenance.git_state(tmp_path)
    assert head != code_commit and state["commit"] == code_commit and state["tree"] == "unchanged"
    (tmp_path / "src/code.py").write_text("x = 2\n")
    git(tmp_path, "commit", "-q", "-am", "more code")
    assert provenance.git_state(tmp_path)["commit"] not in (code_commit, head)


def test_the_software_named_is_what_requirements_lock_pins():
    # Only pinned packages: a report that named Python's or TeX's version would differ from machine
    # to machine for no change of a result (and a fresh clone's dvc repro would rewrite dvc.lock).
    lock = REPO / "requirements.lock"
    pins = dict(line.lower().split("==") for line in lock.read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    versions = provenance.tool_versions()
    assert [tool["tool"] for tool in versions] == ["NumPy", "Matplotlib", "Jinja2", "DVC"]
    for tool, package in zip(versions, ("numpy", "matplotlib", "jinja2", "dvc")):
        assert tool["version"] == pins[package]
