"""The sweep across several machines of docs/workflows.md, end to end on one machine.

Three clones of one bare git repository stand for three machines; a local directory is their
shared DVC remote. Each clone has its own DVC cache, as a machine would. Machines A and B each run
their part of a sweep with ``dvc exp run -S`` and publish it with ``dvc exp push origin``; machine C,
which ran nothing, lists them with ``dvc exp list origin``, fetches them with ``dvc exp pull origin``
and sees every experiment with its parameters and metrics in ``dvc exp show``; it can apply one
without retraining, and diff the two machines' reports. The project is the one-epoch copy of
tests/support/workflows.py; each machine trains one run for one epoch.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.scratch_project import ScratchProject, md5
from support.workflows import NEEDS_PIPELINE_TOOLS, experiments, module_scratch, ran_stages, without_nulls
from mnist_report.config.schema import parse_yaml

pytestmark = NEEDS_PIPELINE_TOOLS

#: machine -> the part of the sweep it runs: experiment name -> runs.binary.learning_rate
SWEEP = {"a": {"a-lr-0-04": 0.04}, "b": {"b-lr-0-03": 0.03}}


@dataclass
class Machines:
    origin: Path                        # the bare git repository all machines clone
    remote: Path                        # the shared DVC remote
    workers: dict[str, ScratchProject]         # the machines that ran the sweep
    third: ScratchProject                      # the machine that pulls their experiments
    results: dict[str, dict] = field(default_factory=dict)   # experiment -> {rev, metrics} as its worker saw it
    listed: str = ""                    # `dvc exp list origin` on the third machine


def clone(origin: Path, destination: Path, like: ScratchProject) -> ScratchProject:
    like.run("git", "clone", "-q", str(origin), str(destination))
    return ScratchProject(destination, like.env)


@pytest.fixture(scope="module")
def machines(request, baseline, tmp_path_factory) -> Machines:
    scratch = module_scratch(request, tmp_path_factory, "machines")
    origin, remote = scratch / "origin.git", scratch / "dvc-remote"

    # The project as published once: its commits in a bare repository, its outputs in the remote.
    first = baseline.copy(scratch / "first")
    first.dvc("remote", "add", "-d", "shared", str(remote))
    first.commit_all("a shared DVC remote")
    first.dvc("push")
    first.run("git", "clone", "-q", "--bare", str(first.root), str(origin))
    shutil.rmtree(first.root)

    workers, results = {}, {}
    for machine, part in SWEEP.items():
        worker = clone(origin, scratch / f"machine-{machine}", baseline)
        assert not (worker.root / "data" / "mnist").exists(), "a git clone has no DVC outputs"
        worker.dvc("pull")
        for name, learning_rate in part.items():
            run = worker.dvc("exp", "run", "-n", name, "-S", f"runs.binary.learning_rate={learning_rate}")
            assert [stage for stage in ran_stages(run.stdout) if stage.startswith(("train@", "download"))] \
                == ["train@binary"], run.stdout
        found = experiments(worker.dvc_json("exp", "show"))
        results.update({name: found[name] for name in part})
        pushed = worker.dvc("exp", "push", "origin", *part)
        assert all(name in pushed.stdout for name in part), pushed.stdout
        workers[machine] = worker

    third = clone(origin, scratch / "machine-c", baseline)
    listed = third.dvc("exp", "list", "origin").stdout
    third.dvc("exp", "pull", "origin", *results)
    return Machines(origin, remote, workers, third, results, listed)


def test_the_third_machine_lists_the_experiments_on_the_git_remote(machines):
    names = {line.strip() for line in machines.listed.splitlines()[1:]}
    assert names == set(machines.results), machines.listed


def test_the_third_machine_shows_every_experiment_with_its_metrics(machines):
    shown = experiments(machines.third.dvc_json("exp", "show"))
    baseline_loss = machines.third.json("metrics/binary.json")["train_loss"]
    losses = set()
    for part in SWEEP.values():
        for name, learning_rate in part.items():
            assert name in shown, f"{name} is not in dvc exp show on the third machine"
            exp, ran = shown[name], machines.results[name]
            assert exp["rev"] == ran["rev"], "the same experiment commit as on its machine"
            assert exp["params"]["runs"]["binary"]["learning_rate"] == learning_rate
            assert exp["metrics"] == ran["metrics"] and exp["metrics"]["metrics/binary.json"]
            committed = json.loads(machines.third.git("show", f"{exp['rev']}:metrics/binary.json").stdout)
            assert without_nulls(committed) == exp["metrics"]["metrics/binary.json"]
            losses.add(committed["train_loss"])
    assert len(losses) == len(machines.results) and baseline_loss not in losses, \
        "each machine's learning rate gave its own result"


def test_a_pulled_experiment_applies_without_retraining(machines, scratch):
    # A copy, so that the other tests see the third machine as it was after the pull.
    third = ScratchProject(scratch / "machine-c", machines.third.env)
    shutil.copytree(machines.third.root, third.root, symlinks=True)
    name = next(iter(SWEEP["a"]))
    third.dvc("exp", "apply", name)
    rev = machines.results[name]["rev"]
    lock = parse_yaml(third.git("show", f"{rev}:dvc.lock").stdout)
    for stage in ("train@binary", "report"):
        for out in lock["stages"][stage]["outs"]:
            assert md5(third.root / out["path"]) == out["md5"], out["path"]
    # the data was never pulled on this machine; the experiment's outputs came with `dvc exp pull`
    status = third.dvc_json("status")
    assert not [stage for stage in status if stage.startswith("train@")], status


@pytest.mark.skipif(shutil.which("latexdiff") is None, reason="latexdiff not installed")
def test_the_third_machine_diffs_the_two_machines_reports(machines, scratch):
    (a, _), (b, _) = (next(iter(part.items())) for part in SWEEP.values())
    pdf = scratch / "a-b.pdf"
    result = machines.third.run(sys.executable, "-m", "mnist_report.diff", a, b, "-o", str(pdf))
    assert re.fullmatch(rf"diff: wrote \S+ \({a} \([0-9a-f]{{7}}\) -> {b} \([0-9a-f]{{7}}\)\): \d+ places changed, "
                        r"\d+ of them figures?\n", result.stdout), result.stdout
    assert pdf.read_bytes().startswith(b"%PDF")
    # HEAD's report.tex was never pulled here: the diff fetches it from the DVC remote
    head = machines.third.git("rev-parse", "HEAD").stdout.strip()
    lock = parse_yaml(machines.third.git("show", "HEAD:dvc.lock").stdout)
    digest = next(out["md5"] for out in lock["stages"]["report"]["outs"] if out["path"] == "report/build/report.tex")
    cached = machines.third.root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    assert not cached.exists()
    result = machines.third.run(sys.executable, "-m", "mnist_report.diff", "HEAD", "HEAD", "-o", str(scratch / "h.pdf"))
    assert result.stdout.startswith("diff: wrote ") and f"HEAD ({head[:7]})" in result.stdout
    assert result.stdout.rstrip().endswith(": 0 places changed")
    assert cached.exists()
