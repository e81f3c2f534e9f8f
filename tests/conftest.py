"""Fixtures of the workflow tests: the one-epoch copy of the project, built once per test session
and shared by tests/test_workflows.py, tests/test_diff.py and tests/test_multi_machine.py (see
tests/workflow_project.py). A test that changes a project works in its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow_project import Changed, Project, build_baseline, build_changed, module_scratch, remove_when_done


@pytest.fixture
def scratch(request, tmp_path) -> Path:
    """The test's temporary directory, deleted afterwards (see :func:`remove_when_done`)."""
    remove_when_done(request, tmp_path)
    return tmp_path



@pytest.fixture(scope="session")
def baseline(request, tmp_path_factory) -> Project:
    """The temporary project, reproduced with one-epoch runs and committed: HEAD is a true baseline."""
    return build_baseline(module_scratch(request, tmp_path_factory, "workflows"))


@pytest.fixture(scope="session")
def changed(request, baseline, tmp_path_factory) -> Changed:
    """The baseline with runs.binary.learning_rate changed (not committed), before and after dvc repro."""
    return build_changed(baseline, module_scratch(request, tmp_path_factory, "changed"))
