"""facts_runs.py: what the text says of each run (how it ended, its gaps as printed, the tasks it
serves), pinned on small synthetic runs, without Jinja2 or files.

Each fact module (facts_runs, facts_task2, facts_task3, facts_task4, reproduction: one test file
each) decides what the text says; their tests take every branch, including those the default run
never takes, and the ties at each boundary (a difference that prints as zero, a lambda sweep with two
equal accuracies, a relative difference exactly at the tolerance).
"""

from __future__ import annotations

from decimal import Decimal


from mnist_report.config.roles import ROLES
from mnist_report.reporting import facts_runs, latex
from support.run_facts import checked_settings, run


# ------------------------------------------------------------------------------------ single runs

def test_run_ending_distinguishes_no_early_stopping_from_never_triggered_and_stopped():
    assert run(early_stopping=False).get("ending") == "no_early_stopping"
    assert run(early_stopping=True, stop=None)["ending"] == "never_triggered"
    stopped = run(early_stopping=True, stop=0)  # epoch 0 is an epoch: a stop, not "no stop"
    assert (stopped["ending"], stopped["stopped_early"], stopped["stop_epoch"]) == ("stopped_early", True, 0)
    assert run(early_stopping=False, stop=3)["stop_epoch"] is None  # without early stopping no stop counts
    named = run("binary_shuffled", shuffle=True)
    assert named["run"] == "binary_shuffled" and named["settings"] == checked_settings(shuffle=True)
    assert named["settings"].shuffle and not checked_settings().shuffle


def test_run_gaps_are_differences_of_printed_values():
    facts = run(val_accuracy=0.97894, train_accuracy=0.97928, val_loss=0.07004, train_loss=0.07001)
    assert facts["accuracy_gap"] == latex.Difference(Decimal("-0.04"))  # 97.89 - 97.93, not -0.03
    assert facts["accuracy_gap"].lower and not facts["accuracy_gap"].same
    assert facts["loss_gap"].same  # 0.0700 and 0.0700 as printed
    assert run(l2_lambda=0.001)["penalised"] and not run(l2_lambda=0.0)["penalised"]


def test_task_ranges_and_the_tasks_of_each_run_come_from_the_roles_table():
    assert facts_runs.task_ranges(["3c", "3b", "3d", "4b", "4c", "2b", "2c"]) == "2b, 2c, 3b--3d, 4b, 4c"
    assert facts_runs.task_ranges(["2b", "2d"]) == "2b, 2d"
    # The prefix is all but the last character, whatever its length: task 10 is not task 1.
    assert facts_runs.task_ranges(["10a", "10b", "10c", "11d", "9d"]) == "10a--10c, 11d, 9d"
    roles = {role: "a" for role in ROLES}
    assert facts_runs.tasks_of_runs(roles, ["b"]) == {"a": "2b--2e, 3b--3d, 4b", "b": "4c--4e"}
    binary = checked_settings()
    table = facts_runs.run_table({"a": checked_settings(task="softmax"), "b": binary, "c": binary}, roles, ["b"])
    assert [(row["run"], row["tasks"], row["model"]) for row in table] == [
        ("a", "2b--2e, 3b--3d, 4b", "softmax"), ("b", "4c--4e", "logistic"), ("c", "--", "logistic")]
    assert table[1]["settings"] is binary


# ------------------------------------------------------------------------------------- Task 2d


# ------------------------------------------------------------------------------------- Task 2e


# ------------------------------------------------------------------------------------- Task 3


# ------------------------------------------------------------------------------------- Task 4


# ------------------------------------------------------------------------------- reproduction


# -------------------------------------------------------------------------------- text filters


def test_task_ranges_shorten_consecutive_tasks():
    assert facts_runs.task_ranges(["3c", "3b", "3d", "4b", "4c", "2b", "2c"]) == "2b, 2c, 3b--3d, 4b, 4c"
