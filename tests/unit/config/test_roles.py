"""config/roles.py: the roles are the original report's tasks that show a run (TDT4265 Assignment 1:
Tasks 2b-2e on logistic regression, 3b-3d on softmax, 4b-4e on L2 regularisation; 1a, 1b and 4a are
derivations, with no run), each asking of its run the settings its text relies on."""

from __future__ import annotations

from mnist_report.config.roles import ROLES, SWEEP_TASKS

#: The original report's tasks, in its order, and those of them that show a run.
ORIGINAL_TASKS = ("1a", "1b", "2b", "2c", "2d", "2e", "3b", "3c", "3d", "4a", "4b", "4c", "4d", "4e")
WITHOUT_A_RUN = ("1a", "1b", "4a")


def test_every_task_that_shows_a_run_has_a_role_or_is_the_lambda_sweep_and_no_other_has():
    served = {task for role in ROLES.values() for task in role.tasks}
    assert served | set(SWEEP_TASKS) == set(ORIGINAL_TASKS) - set(WITHOUT_A_RUN)
    assert not served & set(SWEEP_TASKS)  # the sweep takes every softmax run, not the run of a role


def test_the_roles_come_in_the_order_of_the_report():
    first_tasks = [ORIGINAL_TASKS.index(role.tasks[0]) for role in ROLES.values()]
    assert first_tasks == sorted(first_tasks)


def test_each_role_asks_its_run_for_the_model_of_its_task():
    for name, role in ROLES.items():
        assert role.requires["task"] == ("binary" if name.startswith("2") else "softmax"), name


def test_task_2e_compares_two_runs_with_early_stopping_that_differ_in_shuffling_alone():
    unshuffled, shuffled = ROLES["2e_unshuffled"].requires, ROLES["2e_shuffled"].requires
    assert {key for key in unshuffled.keys() | shuffled.keys() if unshuffled.get(key) != shuffled.get(key)} == {"shuffle"}
    assert (unshuffled["shuffle"], shuffled["shuffle"]) == (False, True)
    assert unshuffled["early_stopping"] and ROLES["2d"].requires["early_stopping"]
