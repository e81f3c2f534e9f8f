"""Fixtures of the workflow tests: the one-epoch copy of the project, built once per test session
(once for all pytest-xdist workers, see :func:`support.workflows.built_once`) and shared by
tests/integration/test_workflows.py, test_diff.py and test_multi_machine.py (see
tests/support/workflows.py), and the copies built from it once (a parameter changed, the queued
sweep). A test that changes a project works in its own copy. And how pytest-xdist shares the work.

The tests mirror the package: tests/unit/<layer>/test_<module>.py for src/mnist_report/<layer>/<module>.py
(tests/unit/test_<stage>.py for a stage's entry module), tests/integration/ for the slow tests that run
dvc, pdflatex or whole scratch projects; their helpers are the package tests/support/ (pyproject.toml
puts tests/ on the path), never a test module (tests/unit/test_suite_layout.py)."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest
from support.scratch_project import ScratchProject
from support.workflows import (
    Changed,
    Swept,
    build_baseline,
    build_changed,
    build_swept,
    built_once,
    module_scratch,
    remove_shared,
    remove_when_done,
)

# Bytecode is written, whatever the environment says: the suite starts a few hundred Python processes
# (dvc commands, the pipeline's stages), and a venv that uv installed holds no .pyc files. With
# PYTHONDONTWRITEBYTECODE set, each process compiled every module it imports again (`dvc status` takes
# 1.6 s of CPU from source, 0.55 s from bytecode); now the first process writes the bytecode for
# the others. Set here, in the controller before it starts the xdist workers, so that the workers
# and every subprocess inherit it. The __pycache__ folders are ignored by git and are no DVC dependency.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


@pytest.fixture
def scratch(request, tmp_path) -> Path:
    """The test's temporary directory, deleted afterwards (see :func:`remove_when_done`)."""
    remove_when_done(request, tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def baseline(request, tmp_path_factory) -> ScratchProject:
    """The temporary project, reproduced with one-epoch runs and committed: HEAD is a true baseline.
    Read-only: the tests copy it."""
    return built_once(request, tmp_path_factory, "baseline", build_baseline)


@pytest.fixture(scope="session")
def changed(request, baseline, tmp_path_factory) -> Changed:
    """The baseline with runs.binary.learning_rate changed (not committed), before and after dvc repro.

    Built once per session; under pytest-xdist each worker gets its own copy of the project, so that
    the DVC commands and the diff of one worker's tests never meet another worker's in one repository
    (DVC locks the repository per command)."""
    built = built_once(request, tmp_path_factory, "changed", lambda scratch: build_changed(baseline, scratch))
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return built
    copy = built.project.copy(module_scratch(request, tmp_path_factory, "changed") / "project")
    return dataclasses.replace(built, project=copy)


@pytest.fixture(scope="session")
def swept(request, baseline, tmp_path_factory) -> Swept:
    """A copy of the baseline after docs/workflows.md's queued sweep (`dvc exp run --queue` of two learning
    rates, `dvc queue start`), built once per session: tests/integration/test_workflows.py checks the sweep,
    test_diff.py diffs against one of its experiments. Read-only: the tests copy it."""
    return built_once(request, tmp_path_factory, "swept", lambda scratch: build_swept(baseline, scratch))


# ------------------------------------------------------------------ how pytest-xdist shares the work

#: Under ``--dist loadfile`` (bootstrap.sh test) each file is one unit of work, run by one worker (so a
#: module-scoped fixture is built once), except these tests: each is a unit of its own, so that the
#: long ones of one file run beside each other on both cores. None of them uses a module-scoped fixture.
RUN_APART = (
    "tests/integration/test_workflows.py::test_queued_sweep_runs_with_queue_start",
    "tests/integration/test_workflows.py::test_exp_run_show_apply",
    "tests/integration/test_workflows.py::test_every_exp_run_override_the_readme_shows_is_accepted",
    "tests/integration/test_diff.py::test_diff_against_an_experiment_equals_the_diff_against_its_applied_workspace",
)

#: The units handed out first, in this order: the longest and those that need the baseline. The first
#: worker builds the baseline and the queued sweep (``swept``) while the second runs test_faults.py,
#: which needs neither; the units that need the baseline follow, the one that needs the sweep after
#: them (so that no worker waits for it), and the short files fill the end. Units not named follow
#: in collection order.
FIRST = (
    "tests/integration/test_workflows.py::test_queued_sweep_runs_with_queue_start",
    "tests/integration/test_faults.py",
    "tests/integration/test_multi_machine.py",
    "tests/integration/test_diff.py",
    "tests/integration/test_workflows.py::test_exp_run_show_apply",
    "tests/integration/test_diff.py::test_diff_against_an_experiment_equals_the_diff_against_its_applied_workspace",
    "tests/integration/test_workflows.py",
    "tests/integration/test_workflows.py::test_every_exp_run_override_the_readme_shows_is_accepted",
    "tests/integration/test_hostile_params.py",
    "tests/integration/test_figures.py",
)


def work_unit(nodeid: str) -> str:
    """The unit of work of the test ``nodeid``: the test itself if it runs apart, else its file."""
    return nodeid if nodeid.split("[")[0] in RUN_APART else nodeid.split("::")[0]


def pytest_collection_modifyitems(items) -> None:
    """Puts the units of :data:`FIRST` first, each unit's tests together and in their order. Only the
    order changes: every test runs, as it is."""
    rank = {unit: index for index, unit in enumerate(FIRST)}
    position = {}
    for index, item in enumerate(items):
        position.setdefault(work_unit(item.nodeid), index)
    items.sort(key=lambda item: (rank.get(work_unit(item.nodeid), len(FIRST)), position[work_unit(item.nodeid)]))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown without it
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` by :func:`work_unit` and in the order of the collection (above), not
    pytest-xdist's (most tests first, which hands out the long single tests last). Each worker runs
    whole units: a module-scoped fixture is still built once. (``--dist loadgroup`` with
    ``xdist_group`` marks would say the same, but pytest-xdist 3.8 cannot rename the node ids of
    pytest 9, so its groups are ignored.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LoadFileLongTestsApart(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return LoadFileLongTestsApart(config, log)


def pytest_sessionfinish(session) -> None:
    """The xdist controller (not a worker) deletes what the workers built once, when all have finished."""
    if not hasattr(session.config, "workerinput"):
        remove_shared(session.config)
