"""The comparison and sharing workflows of the README and docs/workflows.md, end to end, with the real
``dvc`` command.

Each test works in the one-epoch copy of this project that tests/support/workflows.py describes and
tests/conftest.py builds once for the test session (the ``baseline`` fixture); a test that changes
the repository works in its own copy of it."""

from __future__ import annotations

import ast
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from mnist_report.config.schema import parse_yaml
from support.report_project import unbroken
from support.scratch_project import MNIST_NAMES, ScratchProject, md5
from support.workflows import (
    NEEDS_PIPELINE_TOOLS,
    NEW_BINARY_LR,
    SWEEP,
    console_blocks,
    documents,
    experiments,
    module_scratch,
    ran_stages,
    without_nulls,
)

pytestmark = NEEDS_PIPELINE_TOOLS


# ------------------------------------------------------------- change one run's parameter, repro

def test_status_names_only_the_changed_run_and_the_stages_reading_all_runs(changed):
    # figures and report read params `runs` (all of it) directly; pdf is not listed yet: its deps
    # (report.tex, the figures) change only when those stages rerun.
    assert set(changed.status_before) == {"train@binary", "figures", "report"}
    assert changed.status_before["train@binary"] == [{"changed deps": {"params.yaml": {"runs.binary": "modified"}}}]


def test_repro_reruns_exactly_the_changed_run_and_what_reads_it(changed):
    assert ran_stages(changed.repro_output) == ["train@binary", "figures", "report", "pdf"]
    runs = changed.project.params()["runs"]
    skipped = set(re.findall(r"^Stage '([^']+)' didn't change, skipping", changed.repro_output, flags=re.M))
    assert skipped == {"download"} | {f"train@{run}" for run in runs if run != "binary"}
    assert changed.project.dvc_json("status") == {}


def test_report_is_rebuilt_with_the_new_numbers(changed):
    project = changed.project
    new_metrics = project.json("metrics/binary.json")
    assert new_metrics != changed.old_metrics
    assert new_metrics["train_loss"] != changed.old_metrics["train_loss"]

    tex = project.read("report/build/report.tex")
    assert tex != changed.old_tex
    tex = unbroken(tex)
    # The table of runs: the binary run's row shows the new learning rate.
    row = next(line for line in tex.splitlines() if line.strip().startswith(r"\texttt{binary} &"))
    assert re.search(rf"&\s*{re.escape(repr(NEW_BINARY_LR))}\s*&", row), row
    # The final training loss of Task 2b/2c, as the report formats losses.
    decimals = project.params()["report"]["loss_decimals"]
    assert f"{new_metrics['train_loss']:.{decimals}f}" in tex
    assert f"{changed.old_metrics['train_loss']:.{decimals}f}" != f"{new_metrics['train_loss']:.{decimals}f}"
    assert (project.root / "report/build/report.pdf").stat().st_size > 0


def test_metrics_diff_shows_the_changed_run_against_head(changed):
    new = changed.project.json("metrics/binary.json")
    diff = changed.project.dvc_json("metrics", "diff")
    assert set(diff) == {"metrics/binary.json"}, "only the changed run's metrics moved"
    moved = {key for key in new if new[key] != changed.old_metrics.get(key)}
    assert moved and set(diff["metrics/binary.json"]) == moved
    for key, entry in diff["metrics/binary.json"].items():
        assert entry["old"] == changed.old_metrics[key] and entry["new"] == new[key], key


def test_params_diff_shows_the_learning_rate_against_head(changed):
    old = parse_yaml(changed.project.git("show", "HEAD:params.yaml").stdout)["runs"]["binary"]["learning_rate"]
    diff = changed.project.dvc_json("params", "diff")
    assert diff.keys() == {"params.yaml"}
    assert diff["params.yaml"].keys() == {"runs.binary.learning_rate"}
    entry = diff["params.yaml"]["runs.binary.learning_rate"]
    assert (entry["old"], entry["new"]) == (old, NEW_BINARY_LR)


def test_going_back_to_a_value_already_run_restores_from_the_run_cache(changed, scratch):
    project = changed.project.copy(scratch / "project")
    old = parse_yaml(project.git("show", "HEAD:params.yaml").stdout)["runs"]["binary"]["learning_rate"]
    project.set_param("runs.binary.learning_rate", old)
    repro = project.dvc("repro").stdout.splitlines()
    print("\n".join(repro))
    (_, shown), = [(command, output) for command, output in shown_console()
                   if command == "dvc repro" and any("is cached" in line for line in output)]
    assert shown == [line for line in repro if "is cached" in line]
    assert ran_stages("\n".join(repro)) == []


def test_params_diff_prints_nothing_on_a_clean_tree_as_the_readme_says(baseline, scratch):
    project = baseline.copy(scratch / "project", data=False)  # params diff reads git only
    assert project.dvc("params", "diff").stdout == ""
    command, _ = shown_output("dvc params diff")
    docs = "".join(text for _, text in documents())
    assert "dvc params diff                 # prints nothing when params.yaml is as committed" in docs
    assert "(nothing printed: no change)" in docs


def test_the_readme_shows_the_branch_the_project_is_on(baseline):
    # The scratch project's branch is main, as the repository's; DVC's tables name it as the baseline.
    assert baseline.git("branch", "--show-current").stdout.strip() == "main"
    for name, text in documents():
        assert "master" not in text, name
    # `dvc exp list` heads its list with the branch; `dvc exp show` has a row for it.
    (listed,) = [output for command, output in shown_console() if command == "dvc exp list origin"]
    assert listed[0] == "main:"
    for command, output in shown_console():
        if command.startswith("dvc exp show"):
            assert [row[0] for row in table(output)[1:3]] == ["workspace", "main"], command


def test_plots_diff_between_two_commits_writes_html_with_both(changed, scratch):
    project = changed.project.copy(scratch / "project", data=False)  # plots diff reads git only
    project.commit_all("runs.binary.learning_rate changed")
    out = scratch / "plots"
    project.dvc("plots", "diff", "HEAD~1", "HEAD", "-o", str(out))
    html = (out / "index.html").read_text(encoding="utf-8")
    last = {rev: project.git("show", f"{rev}:metrics/history/binary/train.csv").stdout.strip().splitlines()[-1]
            for rev in ("HEAD~1", "HEAD")}
    assert last["HEAD~1"] != last["HEAD"]
    for rev, line in last.items():
        step, loss = line.split(",")
        # the last training-loss point of each revision, labelled with that revision
        assert re.search(rf'"step":\s*"{step}",\s*"train_loss":\s*"{re.escape(loss)}",\s*"rev":\s*"{re.escape(rev)}"',
                         html), f"{rev}'s binary training loss is not in {out / 'index.html'}"
    # the report's figures (image plots) of both revisions, and the changed run's figure differs
    images = {rev: sorted((out / "static").glob(f"{rev}_*2b_loss.png")) for rev in ("HEAD~1", "HEAD")}
    assert all(len(found) == 1 for found in images.values()), images
    assert images["HEAD~1"][0].read_bytes() != images["HEAD"][0].read_bytes()


# ------------------------------------------------------------------------- experiments

def shown_console() -> list[tuple[str, list[str]]]:
    """Every command of the console blocks of the README and docs/*.md (``$ `` or ``(machine X) $ ``,
    its trailing comment dropped) with the output lines shown under it."""
    shown: list[tuple[str, list[str]]] = []
    for _, block in console_blocks():
        for line in block.splitlines():
            command = re.match(r"^(?:\(machine \w\) )?\$ (.*)$", line)
            if command:
                shown.append((re.sub(r"\s+#.*$", "", command.group(1)).strip(), []))
            elif shown:
                shown[-1][1].append(line)
    return shown


def shown_output(prefix: str) -> tuple[list[str], list[str]]:
    """The first shown command (README, then docs/) starting with ``prefix`` (as shlex words) and the
    output it shows."""
    for command, output in shown_console():
        if command.startswith(prefix):
            return shlex.split(command), output
    raise AssertionError(f"neither the README nor docs/ shows a console command starting with {prefix!r}")


def table(lines: list[str]) -> list[list[str]]:
    """The cells of a DVC table (columns two or more spaces apart), its rules left out."""
    return [re.split(r"\s{2,}", line.strip()) for line in lines if line.strip() and not set(line.strip()) <= {"─"}]


def test_exp_run_show_apply(baseline, scratch):
    project = baseline.copy(scratch / "project")
    before = project.json("metrics/softmax.json")
    # The shown command: `-n` names the experiment (without it DVC makes up a name); `++`:
    # runs.softmax has no learning_rate key of its own (it takes defaults'), and without `++` DVC
    # refuses to add one.
    command, shown = shown_output("dvc exp run -n softmax-lr-0-02")
    run = project.dvc(*command[1:])
    assert [stage for stage in ran_stages(run.stdout) if stage.startswith("train@")] == ["train@softmax"]
    for line in ("Reproducing experiment 'softmax-lr-0-02'", "Ran experiment(s): softmax-lr-0-02"):
        assert line in shown and line in run.stdout.splitlines(), line

    found = [(name, exp) for name, exp in experiments(project.dvc_json("exp", "show")).items()
             if exp["params"].get("runs", {}).get("softmax", {}).get("learning_rate") == 0.02]
    assert len(found) == 1, "dvc exp show lists one experiment with runs.softmax.learning_rate 0.02"
    name, exp = found[0]
    assert name == "softmax-lr-0-02"

    # The shown `dvc exp show`: the name, the parameter that differs and the changed run's final
    # validation loss and accuracy, as DVC prints them (5 significant digits), in its columns.
    command, shown = shown_output("dvc exp show --only-changed")
    printed = project.dvc(*command[1:]).stdout  # not a terminal: the whole table, as DVC's pager shows it
    expected, got = table(shown), table(printed.splitlines())
    assert got[0] == expected[0] == ["Experiment", "metrics/softmax.json:val_loss",
                                     "metrics/softmax.json:val_accuracy", "runs.softmax.learning_rate"]
    rows = {row[0].split("[")[-1].rstrip("]"): row[1:] for row in got[1:]}
    metrics = exp["metrics"]["metrics/softmax.json"]
    assert rows["softmax-lr-0-02"] == [f"{metrics['val_loss']:.5g}", f"{metrics['val_accuracy']:.5g}", "0.02"]
    assert rows["main"] == [f"{before['val_loss']:.5g}", f"{before['val_accuracy']:.5g}", "-"]
    assert [row[0].split("[")[-1].rstrip("]") for row in expected[1:]] == ["workspace", "main", "softmax-lr-0-02"]
    # As wide as docs/workflows.md says (its rows are this table's, a commit's digest aside).
    def width(lines: list[str]) -> int:
        return max(len(line.rstrip()) for line in lines if line.strip() and not set(line.strip()) <= {"─"})
    assert width(printed.splitlines()) == width(shown) == 128
    metrics = exp["metrics"]["metrics/softmax.json"]
    assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy"} <= metrics.keys()
    assert metrics["train_loss"] != before["train_loss"]

    # Back to the baseline, then bring the experiment back, as docs/workflows.md does.
    project.git("checkout", "--", ".")
    project.dvc("checkout")
    assert project.json("metrics/softmax.json") == before
    command, shown = shown_output("dvc exp apply softmax-lr-0-02")
    applied = project.dvc(*command[1:])
    assert shown == [line for line in applied.stdout.splitlines() if line]
    for path in ("params.yaml", "metrics/softmax.json", "metrics/history/softmax/validation.csv"):
        assert project.read(path) == project.git("show", f"{exp['rev']}:{path}").stdout, path
    assert project.params()["runs"]["softmax"]["learning_rate"] == 0.02
    assert without_nulls(project.json("metrics/softmax.json")) == metrics
    lock = parse_yaml(project.git("show", f"{exp['rev']}:dvc.lock").stdout)
    model = next(out for out in lock["stages"]["train@softmax"]["outs"] if out["path"] == "models/softmax.npy")
    assert md5(project.root / "models/softmax.npy") == model["md5"]


def shown_overrides() -> list[str]:
    """The ``-S`` overrides of every ``dvc exp run`` command the README and docs/*.md show, each once
    (some are shown in several places), in the order they first appear."""
    commands = [command for _, text in documents()
                for command in re.findall(r"^\$? ?(?:\(machine \w\) \$ )?(dvc exp run [^\n#]*)", text, flags=re.MULTILINE)]
    overrides = [shlex.split(command)[shlex.split(command).index("-S") + 1]
                 for command in commands if "-S" in shlex.split(command)]
    assert overrides, "neither the README nor docs/ shows dvc exp run -S"
    return list(dict.fromkeys(overrides))


def test_every_exp_run_override_the_readme_shows_is_accepted(baseline, scratch):
    project = baseline.copy(scratch / "project", data=False)
    for override in shown_overrides():
        # --queue only records the experiment, after applying the override: a cheap check of the spelling.
        queued = project.dvc("exp", "run", "--queue", "-S", override, check=False)
        assert queued.returncode == 0, f"the shown -S {override}: {queued.stderr}"


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="finds the queue's processes in /proc (Linux)")
def test_queued_sweep_runs_with_queue_start(swept, scratch):
    # The queueing, `dvc queue start` and the wait: the ``swept`` fixture (tests/conftest.py), which
    # tests/integration/test_diff.py shares; what it saw on the way is checked here, in a copy of its project.
    assert swept.porcelain_after_queueing == "", "queueing leaves the workspace as it was"
    for name in SWEEP:
        assert re.search(rf"^\S+\s+{re.escape(name)}\s+.*\bQueued\b", swept.queued_status, flags=re.M), \
            swept.queued_status
    # No queue process outlives the sweep: build_swept's wait_for_queue fails unless the worker stops.
    project = swept.project.copy(scratch / "project")

    status = project.dvc("queue", "status").stdout
    for name in SWEEP:
        assert re.search(rf"^\S+\s+{re.escape(name)}\s+.*\bSuccess\b", status, flags=re.M), \
            f"{status}\n{project.dvc('queue', 'logs', name, check=False).stdout}"
        # The shown `dvc queue logs <name>`: the experiment's console output, its train stage's lines too.
        assert "train@binary: " in project.dvc("queue", "logs", name).stdout
    found = experiments(project.dvc_json("exp", "show"))
    baseline_metrics = project.json("metrics/binary.json")
    results = {}
    for name, learning_rate in SWEEP.items():
        exp = found[name]
        assert exp["state"] == "success"
        assert exp["params"]["runs"]["binary"]["learning_rate"] == learning_rate
        metrics = exp["metrics"]["metrics/binary.json"]
        assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy"} <= metrics.keys()
        # the metrics are the experiment's own: committed with it, and not the baseline's
        committed = json.loads(project.git("show", f"{exp['rev']}:metrics/binary.json").stdout)
        assert without_nulls(committed) == metrics
        assert metrics["train_loss"] != baseline_metrics["train_loss"]
        results[name] = metrics["train_loss"]
    assert len(set(results.values())) == len(SWEEP), "each learning rate gives its own result"
    assert project.git("status", "--porcelain").stdout == "", "the sweep ran outside the workspace"


# ------------------------------------------------------------------------------- remotes

@dataclass
class Shared:
    first: ScratchProject
    second: ScratchProject


@pytest.fixture(scope="module")
def shared(request, baseline, tmp_path_factory) -> Shared:
    """The baseline pushed to a local-directory remote and pulled into a git clone of it."""
    scratch = module_scratch(request, tmp_path_factory, "shared")
    first = baseline.copy(scratch / "first")
    first.dvc("remote", "add", "-d", "local", str(scratch / "remote"))
    first.commit_all("a local-directory remote")
    first.dvc("push")
    first.git("clone", "-q", str(first.root), str(scratch / "second"))
    second = ScratchProject(scratch / "second", first.env)
    assert not (second.root / "models" / "binary.npy").exists(), "a git clone has no DVC outputs"
    second.dvc("pull")
    return Shared(first, second)


def test_push_then_pull_in_a_clone_gives_identical_outputs(shared):
    first, second = shared.first.root, shared.second.root
    runs = shared.first.params()["runs"]
    paths = ([f"models/{run}.npy" for run in runs] + [f"data/mnist/{name}" for name in MNIST_NAMES]
             + ["report/build/report.pdf"])
    assert sorted(p.name for p in (second / "models").glob("*.npy")) == sorted(p.name for p in (first / "models").glob("*.npy"))
    for path in paths:
        assert (second / path).read_bytes() == (first / path).read_bytes(), path
    # the clone needs no retraining: every run's outputs match its lock entry
    stale = shared.second.dvc_json("status")
    assert not [stage for stage in stale if stage.startswith(("train@", "download"))], stale


def test_pulled_clone_is_up_to_date(shared):
    assert shared.second.dvc_json("status") == {}


# ------------------------------------------------------ every console command of the README and docs/

#: Each command the console blocks of the README and docs/*.md show -> the test that runs it (or, for
#: a command with a placeholder or a path of the author's machine, the form it runs) in the one-epoch
#: scratch project and compares what they show. A command added to them without a test fails below.
README_COMMANDS: dict[str, str | tuple[str, ...]] = {
    "dvc status": "test_status_names_only_the_changed_run_and_the_stages_reading_all_runs",
    "dvc repro": ("test_repro_reruns_exactly_the_changed_run_and_what_reads_it",
                  "test_going_back_to_a_value_already_run_restores_from_the_run_cache"),
    "dvc params diff": "test_params_diff_shows_the_learning_rate_against_head",
    "dvc metrics diff": "test_metrics_diff_shows_the_changed_run_against_head",
    "python -m mnist_report.diff --tex diff.tex": "test_diff.py::test_diff_after_a_parameter_change_shows_old_and_new_values",
    "grep 'the validation loss is' diff.tex | head -1": "test_diff.py::test_the_readme_grep_finds_the_marked_sentence",
    "python -m mnist_report.diff HEAD softmax-lr-0-02":
        "test_diff.py::test_diff_against_an_experiment_equals_the_diff_against_its_applied_workspace",
    "python -m mnist_report.diff a-lr-0-04 b-lr-0-03": "test_multi_machine.py::test_the_third_machine_diffs_the_two_machines_reports",
    "dvc plots diff HEAD~1 HEAD -o plots-diff": "test_plots_diff_between_two_commits_writes_html_with_both",
    "dvc exp run -n softmax-lr-0-02 -S '++runs.softmax.learning_rate=0.02'": "test_exp_run_show_apply",
    "dvc exp show --only-changed --drop 'Created|metrics$|models$|report/|.*:(train_|steps|weight|early)'":
        "test_exp_run_show_apply",
    "dvc exp apply softmax-lr-0-02": "test_exp_run_show_apply",
    "dvc exp run --queue -S runs.binary.learning_rate=0.04": "test_queued_sweep_runs_with_queue_start",
    "dvc exp run --queue -S runs.binary.learning_rate=0.03": "test_queued_sweep_runs_with_queue_start",
    "dvc queue start -j 2": "test_queued_sweep_runs_with_queue_start",
    "dvc queue status": "test_queued_sweep_runs_with_queue_start",
    "dvc queue logs miffy-yawl": "test_queued_sweep_runs_with_queue_start",
    "dvc remote add -d storage /srv/dvc-storage": "test_push_then_pull_in_a_clone_gives_identical_outputs",
    'git commit -m "DVC remote" .dvc/config': "test_push_then_pull_in_a_clone_gives_identical_outputs",
    "dvc push": "test_push_then_pull_in_a_clone_gives_identical_outputs",
    "dvc pull": "test_push_then_pull_in_a_clone_gives_identical_outputs",
    "git clone <origin> project && cd project && dvc pull": "test_multi_machine.py::test_the_third_machine_lists_the_experiments_on_the_git_remote",
    "dvc exp run -n a-lr-0-04 -S runs.binary.learning_rate=0.04": "test_multi_machine.py::test_the_third_machine_shows_every_experiment_with_its_metrics",
    "dvc exp push origin a-lr-0-04": "test_multi_machine.py::test_the_third_machine_lists_the_experiments_on_the_git_remote",
    "dvc exp run -n b-lr-0-03 -S runs.binary.learning_rate=0.03": "test_multi_machine.py::test_the_third_machine_shows_every_experiment_with_its_metrics",
    "dvc exp push origin b-lr-0-03": "test_multi_machine.py::test_the_third_machine_lists_the_experiments_on_the_git_remote",
    "dvc exp list origin": "test_multi_machine.py::test_the_third_machine_lists_the_experiments_on_the_git_remote",
    "dvc exp pull origin a-lr-0-04 b-lr-0-03": "test_multi_machine.py::test_the_third_machine_shows_every_experiment_with_its_metrics",
    "dvc exp show --drop '.*' --keep 'Experiment|runs\\.binary\\.learning_rate|metrics/binary\\.json:val_.*'":
        "test_multi_machine.py::test_the_third_machine_shows_every_experiment_with_its_metrics",
    "dvc exp apply a-lr-0-04": "test_multi_machine.py::test_a_pulled_experiment_applies_without_retraining",
}


def test_every_console_command_of_the_readme_and_docs_is_run_by_a_named_test():
    # The README's loop and docs/workflows.md hold the commands; a console block in any other doc is read too.
    assert {name for name, _ in console_blocks()} >= {"README.md", "docs/workflows.md"}
    shown = [command for command, _ in shown_console()]
    assert sorted(set(shown)) == sorted(README_COMMANDS), "console commands of README/docs and README_COMMANDS differ"
    for command, tests in README_COMMANDS.items():
        for test in (tests,) if isinstance(tests, str) else tests:
            module, _, name = test.rpartition("::")  # a test of another file is found in its text, not imported
            source = Path(__file__).with_name(module) if module else Path(__file__)
            defined = {node.name for node in ast.parse(source.read_text(encoding="utf-8")).body
                       if isinstance(node, ast.FunctionDef)}
            assert name in defined, f"{command!r}: no test {test}"
