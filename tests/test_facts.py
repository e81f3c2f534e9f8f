"""The report's facts, pinned on small synthetic runs and histories, without Jinja2 or files.

Each fact module (facts_runs, facts_task2, facts_task3, facts_task4, reproduction) decides what the
text says; these tests take every branch, including those the default run never takes, and the
ties at each boundary (a difference that prints as zero, a lambda sweep with two equal accuracies,
a relative difference exactly at the tolerance).
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from mnist_report.common.errors import PipelineError
from mnist_report.config.roles import ROLES
from mnist_report.reporting import facts_runs, facts_task2, facts_task3, facts_task4, latex, reproduction
from mnist_report.reporting.published import PUBLISHED

FORMAT = {"loss_decimals": 4, "accuracy_decimals": 2}
SETTINGS = {"task": "binary", "classes": [2, 3], "learning_rate": 0.05, "epochs": 50, "batch_size": 128,
            "shuffle": False, "early_stopping": True, "l2_lambda": 0.0, "seed": 0}


def run(name="r", *, early_stopping=True, stop=None, steps=1000, val_accuracy=0.97, train_accuracy=0.975,
        val_loss=0.07, train_loss=0.065, **settings):
    """Run facts of a synthetic run."""
    metrics = {"train_loss": train_loss, "val_loss": val_loss, "train_accuracy": train_accuracy,
               "val_accuracy": val_accuracy, "early_stop_epoch": stop, "steps": steps, "weight_norm_squared": 1.0}
    return facts_runs.run_facts(name, {**SETTINGS, "early_stopping": early_stopping, **settings}, metrics, FORMAT)


# ------------------------------------------------------------------------------------ single runs

def test_run_ending_distinguishes_no_early_stopping_from_never_triggered_and_stopped():
    assert run(early_stopping=False).get("ending") == "no_early_stopping"
    assert run(early_stopping=True, stop=None)["ending"] == "never_triggered"
    stopped = run(early_stopping=True, stop=0)  # epoch 0 is an epoch: a stop, not "no stop"
    assert (stopped["ending"], stopped["stopped_early"], stopped["stop_epoch"]) == ("stopped_early", True, 0)
    assert run(early_stopping=False, stop=3)["stop_epoch"] is None  # without early stopping no stop counts
    named = run("binary_shuffled", shuffle=True)
    assert named["run"] == "binary_shuffled" and named["settings"] == {**SETTINGS, "shuffle": True}


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
    table = facts_runs.run_table({"a": {**SETTINGS, "task": "softmax"}, "b": SETTINGS, "c": SETTINGS}, roles, ["b"])
    assert [(row["run"], row["tasks"], row["model"]) for row in table] == [
        ("a", "2b--2e, 3b--3d, 4b", "softmax"), ("b", "4c--4e", "logistic"), ("c", "--", "logistic")]
    assert table[1]["settings"] is SETTINGS


# ------------------------------------------------------------------------------------- Task 2d

@pytest.mark.parametrize("full, stopping, compared_with, saving", [
    (run(early_stopping=False, steps=1550, val_accuracy=0.9760), run(stop=33, steps=1035, val_accuracy=0.9760),
     "full_run", "free"),  # printed the same: nothing lost
    (run(early_stopping=False, steps=1550, val_accuracy=0.9760), run(stop=33, steps=1035, val_accuracy=0.9759),
     "full_run", "costly"),
    (run(stop=40, steps=1250), run(stop=33, steps=1035), "stopped_run", "none"),
    (run(early_stopping=False, steps=1000), run(stop=33, steps=1000), "nothing", "none"),  # equal steps
])
def test_early_stopping_compares_steps_only_with_a_run_that_took_more(full, stopping, compared_with, saving):
    facts = facts_task2.early_stopping_facts(full, stopping, 2)
    assert (facts["compared_with"], facts["saving"]) == (compared_with, saving)
    assert facts["saved_steps"] == full["steps"] - stopping["steps"]
    assert facts["accuracy_change"] == latex.accuracy_difference(stopping["val_accuracy"], full["val_accuracy"], 2)
    assert facts["reference_ran_to_end"] == (full["ending"] != "stopped_early")


# ------------------------------------------------------------------------------------- Task 2e

@pytest.mark.parametrize("unshuffled, shuffled, stopped, order", [
    (run(stop=33), run(stop=16), "both", "earlier"),
    (run(stop=16), run(stop=33), "both", "later"),
    (run(stop=16), run(stop=16), "both", "same"),
    (run(stop=None), run(stop=16), "shuffled_only", None),
    (run(stop=16), run(early_stopping=False, stop=None), "unshuffled_only", None),
    (run(early_stopping=False), run(stop=None), "neither", None),
])
def test_stopping_comparison_says_which_run_stopped_and_which_first(unshuffled, shuffled, stopped, order):
    facts = facts_task2.stopping_comparison(unshuffled, shuffled, 2)
    assert (facts["stopped"], facts["stop_order"]) == (stopped, order)


@pytest.mark.parametrize("steps, accuracy, sooner_and_no_better", [
    (500, 0.9700, True), (500, 0.97004, True),  # printed the same is no better
    (500, 0.9710, False), (1000, 0.9600, False),  # better; or not sooner (equal steps)
])
def test_stopping_sooner_is_no_better_unless_the_accuracy_is_higher(steps, accuracy, sooner_and_no_better):
    facts = facts_task2.stopping_comparison(run(steps=1000, val_accuracy=0.97), run(steps=steps, val_accuracy=accuracy), 2)
    assert facts["sooner_and_no_better"] is sooner_and_no_better
    assert facts["accuracy_change"].value == Decimal(f"{100 * accuracy:.2f}") - Decimal("97.00")


def history(steps, val_loss, val_accuracy=None, train_accuracy=None):
    steps = np.asarray(steps)
    val_accuracy = np.full(steps.shape, 0.9) if val_accuracy is None else np.asarray(val_accuracy, float)
    train_accuracy = val_accuracy if train_accuracy is None else np.asarray(train_accuracy, float)
    return {"step": steps, "val_loss": np.asarray(val_loss, float), "val_accuracy": val_accuracy,
            "train_accuracy": train_accuracy}


def test_upward_moves_count_and_sum_only_the_rises():
    assert facts_task2.upward_moves(np.array([1.0, 2.0, 1.5, 1.5, 1.75])) == (1.25, 2)
    assert facts_task2.upward_moves(np.array([3.0, 2.0, 1.0])) == (0.0, 0)
    # Measured in double precision whatever the history's type: in float32, 1 - 1e-9 would round to 1.
    tiny = float(np.float32(1e-9))
    assert facts_task2.upward_moves(np.array([tiny, 1.0], dtype=np.float32)) == (1.0 - tiny, 1)


@pytest.mark.parametrize("unshuffled_rises, shuffled_rises, size, count, agrees", [
    ([0.01, 0.01], [0.001], "smaller", "fewer", True),
    ([0.01], [0.001, 0.001], "smaller", "more", False),
    ([0.001], [0.01, 0.01], "larger", "more", True),
    ([0.001, 0.001], [0.01], "larger", "fewer", False),
    ([0.002], [0.00204], "same", "same", False),  # 0.0020 both, as printed with 4 decimals
])
def test_shuffling_compares_the_rises_as_printed(unshuffled_rises, shuffled_rises, size, count, agrees):
    def with_rises(rises):  # epoch 0 (steps 0..9) swings; then a falling loss with the given rises
        loss = [0.9, 0.1, 0.9] + [0.5 - 0.0001 * i for i in range(12)]
        for i, rise in enumerate(rises):
            loss[4 + 3 * i] = loss[3 + 3 * i] + rise
        return history(np.arange(15) * 5, loss)

    facts = facts_task2.shuffling_facts(with_rises(unshuffled_rises), with_rises(shuffled_rises), 10, 5,
                                        with_rises(unshuffled_rises), 4)
    assert (facts["rise_size"], facts["rise_count"], facts["count_agrees_with_size"]) == (size, count, agrees)
    assert (facts["first_validation"], facts["epoch_0_last_step"], facts["last_step"]) == (10, 9, 70)
    assert facts["rises_unshuffled"] == len(unshuffled_rises) and not facts["unshuffled_never_rose"]
    assert facts["in_figure"]


def test_shuffling_facts_by_hand():
    # Epochs of 4 steps, a validation every 2. The shuffled run ends at step 10, so the window is 4..10.
    unshuffled = history([0, 2, 4, 6, 8, 10, 12], [3.0, 0.5, 1.0, 1.25, 1.0, 1.5, 1.25])  # rises 0.25, 0.5
    shuffled = history([0, 2, 4, 6, 8, 10], [3.0, 0.5, 1.0, 0.75, 1.0, 0.5])  # one rise of 0.25
    facts = facts_task2.shuffling_facts(unshuffled, shuffled, 4, 2, unshuffled, 4)
    # The unshuffled run's moves at steps 6, 8, 10, 12 are of phases 2, 0, 2, 0 (period 4): it rises at
    # 6 and 10 (step 2 of an epoch) and falls at 8 and 12.
    spikes = {"steps": [6, 10], "period": 4, "recovers": True, "epochs_between": 1, "epoch_step": 2,
              "share": 1.0, "share_percent": 100.0, "first_step": 4, "last_step": 12}
    assert facts == {
        "first_step": 4, "epoch_0_last_step": 3, "first_validation": 4, "last_step": 10, "steps_per_epoch": 4,
        "rise_unshuffled": 0.75, "rises_unshuffled": 2, "rise_shuffled": 0.25, "rises_shuffled": 1,
        "rise_size": "smaller", "rise_count": "fewer", "count_agrees_with_size": True,
        "unshuffled_never_rose": False, "shuffled_never_rose": False, "validation_interval": 2,
        "spikes": spikes, "in_figure": True, "unshuffled_last_step": 12}
    unknown = facts_task2.shuffling_facts(unshuffled, shuffled, 4, None, unshuffled, 4)
    assert unknown["spikes"] is None and unknown["validation_interval"] is None


def test_shuffling_runs_that_ended_in_epoch_0_have_no_moves():
    short = history([0, 2], [3.0, 0.5])
    facts = facts_task2.shuffling_facts(short, short, 4, 2, short, 4)
    assert (facts["first_validation"], facts["last_step"], facts["rises_unshuffled"], facts["rise_size"]) == (
        2, 2, 0, "same")


def test_shuffling_never_rose_and_a_history_not_in_the_figure():
    falling = history(np.arange(10) * 5, np.linspace(1, 0.1, 10))
    other = history(np.arange(10) * 5, np.linspace(1, 0.2, 10))
    facts = facts_task2.shuffling_facts(falling, falling, 10, 5, other, 4)
    assert facts["unshuffled_never_rose"] and facts["shuffled_never_rose"] and facts["rise_size"] == "same"
    assert not facts["in_figure"] and facts["spikes"] is None


def test_recurring_spikes_give_their_share_in_percent():
    steps = np.arange(40) * 6
    loss = 0.08 - 0.0001 * np.arange(40)
    loss[(steps % 30 == 12) & (steps >= 10)] += 0.01  # epoch of 10 steps, validations every 6: period 30
    spikes = facts_task2.recurring_spikes(history(steps, loss), 10, 6)
    assert spikes["period"] == 30 and spikes["epochs_between"] == 3 and spikes["epoch_step"] == 2
    assert str(spikes["epochs_between"]) == "3"  # printed as a count, not 3.0
    assert spikes["recovers"]  # the loss falls after every spike
    assert spikes["steps"] == list(range(42, 240, 30))
    assert spikes["share_percent"] == pytest.approx(100 * spikes["share"]) and 0 < spikes["share"] <= 1
    assert facts_task2.recurring_spikes(history(steps, loss), 0, 6) is None


# Validations every 3 steps, epochs of 6 steps: period 6; from epoch 1 on (step 6) the moves come at
# steps 9, 12, 15, 18, 21, of phases 3, 0, 3, 0, 3. Epoch 0 (steps 0, 3) swings and is left out.
SPIKE_STEPS = [0, 3, 6, 9, 12, 15, 18, 21]


def spike_losses(*from_step_6):
    return [5.0, 0.1, *from_step_6]


def test_recurring_spikes_by_hand():
    # Rises: 0.25 at step 9 (phase 3), 0.75 at 12 and 1.0 at 18 (phase 0); falls after both.
    spikes = facts_task2.recurring_spikes(history(SPIKE_STEPS, spike_losses(1.0, 1.25, 2.0, 1.0, 2.0, 0.5)), 6, 3)
    assert spikes == {"steps": [12, 18], "period": 6, "recovers": True, "epochs_between": 1, "epoch_step": 0,
                      "share": 0.875, "share_percent": 87.5, "first_step": 6, "last_step": 21}
    assert type(spikes["epochs_between"]) is int


@pytest.mark.parametrize("loss_at_21, recovers", [
    (0.5, True),
    (2.0, False),  # flat after the spike at 18: it did not fall again
    (2.5, False),  # a smaller rise after it
])
def test_recurring_spikes_recover_only_when_the_loss_falls_after_each(loss_at_21, recovers):
    spikes = facts_task2.recurring_spikes(
        history(SPIKE_STEPS, spike_losses(1.0, 1.25, 2.0, 1.0, 2.0, loss_at_21)), 6, 3)
    assert spikes["steps"] == [12, 18] and spikes["recovers"] is recovers


def test_recurring_spikes_at_the_last_validation_recover_if_the_others_do():
    spikes = facts_task2.recurring_spikes(history(SPIKE_STEPS[:-1], spike_losses(1.0, 0.5, 1.5, 1.0, 2.0)), 6, 3)
    assert spikes["steps"] == [12, 18] and spikes["recovers"]  # 1.5 -> 1.0 after step 12; none after 18


def test_recurring_spikes_of_equal_totals_are_the_earliest_step_of_the_period():
    # Phase 0 rises 0.75 twice, phase 3 0.5 three times: equal totals of 1.5, and phase 0 holds the largest.
    spikes = facts_task2.recurring_spikes(history(SPIKE_STEPS, spike_losses(1.0, 1.5, 2.25, 2.75, 3.5, 4.0)), 6, 3)
    assert spikes["steps"] == [12, 18] and spikes["share"] == 0.5 and not spikes["recovers"]


@pytest.mark.parametrize("from_step_6, why", [
    ((1.0, 1.75, 2.5, 2.0, 2.75, 2.0), "a rise elsewhere as large as the spikes"),
    ((1.0, 1.25, 2.0, 1.0, 1.0, 0.5), "the loss did not rise at every validation of the phase"),
])
def test_spikes_do_not_recur_when(from_step_6, why):
    assert facts_task2.recurring_spikes(history(SPIKE_STEPS, spike_losses(*from_step_6)), 6, 3) is None, why


def test_recurring_spikes_at_the_smallest_sizes():
    # Epochs of 2 steps, a validation every 2: one phase. Three validations from epoch 1: two moves.
    two_rises = history([0, 2, 4, 6], [9.0, 1.0, 1.5, 2.0])
    assert facts_task2.recurring_spikes(two_rises, 2, 2)["steps"] == [4, 6]
    flat_then_rise = history([0, 2, 4, 6], [9.0, 1.0, 1.0, 1.5])
    assert facts_task2.recurring_spikes(flat_then_rise, 2, 2) is None  # a flat move is no spike
    one_rise = history([0, 1, 2, 3, 4], [9.0, 9.0, 1.0, 1.5, 1.0])  # period 2: a single rise at its phase
    assert facts_task2.recurring_spikes(one_rise, 2, 1) is None
    # One step per epoch, a validation every step: every validation is at the same step of the epoch.
    rising = history(np.arange(6), np.arange(6.0))
    assert facts_task2.recurring_spikes(rising, 1, 1)["steps"] == [2, 3, 4, 5]
    assert facts_task2.recurring_spikes(rising, 1, 0) is None  # no validation interval: nothing recurs
    # A validation every step, epochs of 3 steps: spikes after step 1 of each epoch.
    every_step = history(np.arange(13), [9, 9, 9] + [1.0, 1.5, 1.25] * 3 + [1.0])
    spikes = facts_task2.recurring_spikes(every_step, 3, 1)
    assert (spikes["steps"], spikes["epoch_step"], spikes["period"], spikes["recovers"]) == ([4, 7, 10], 1, 3, True)


# ------------------------------------------------------------------------------------- Task 3

def test_softmax_against_binary_and_the_final_gap_as_printed():
    facts = facts_task3.softmax_facts(run(val_accuracy=0.9157, train_accuracy=0.9225), run(val_accuracy=0.97894), 2)
    assert facts["versus_binary"].value == Decimal("-6.32") and facts["versus_binary"].lower
    assert facts["final_gap"].value == Decimal("0.68") and facts["final_gap"].higher


def overfitting_history(val_middle, val_last, train_middle, train_last, losses=(0.5, 0.4, 0.3, 0.35)):
    """Four validations; the second half is validations 2..3 (middle index 2)."""
    return history([0, 10, 20, 30], losses, [0.5, 0.6, val_middle, val_last], [0.5, 0.6, train_middle, train_last])


@pytest.mark.parametrize("values, verdict, trend", [
    ((0.90, 0.91, 0.90, 0.92), "early", "widened"),      # both rise, training faster
    ((0.90, 0.90, 0.90, 0.92), "overfits", "widened"),   # validation flat as printed: no longer improves
    ((0.90, 0.89, 0.90, 0.92), "overfits", "widened"),
    ((0.90, 0.92, 0.90, 0.92), "none", "stayed"),
    ((0.90, 0.92, 0.91, 0.92), "none", "narrowed"),
    ((0.90, 0.90004, 0.91, 0.91004), "none", "stayed"),  # differences below the printed digits
])
def test_overfitting_verdict_and_trend(values, verdict, trend):
    facts = facts_task3.overfitting_facts(overfitting_history(*values), 2, 4)
    assert (facts["verdict"], facts["gap_trend"]) == (verdict, trend)


def test_overfitting_states_gains_and_the_loss_rise_after_the_lowest_loss():
    facts = facts_task3.overfitting_facts(overfitting_history(0.90, 0.91, 0.90, 0.93), 2, 4)
    assert (facts["middle_step"], facts["last_step"]) == (20, 30)
    assert facts["train_gain"].value == Decimal("3.00") and facts["val_gain"].value == Decimal("1.00")
    assert (facts["gap_middle"], facts["gap_last"]) == (Decimal("0.00"), Decimal("2.00"))
    assert (facts["best_val_loss_step"], facts["best_is_last"], facts["validations_after_best"]) == (20, False, 1)
    assert (facts["best_val_loss"], facts["last_val_loss"]) == (0.3, 0.35)
    assert facts["loss_rise"].value == Decimal("0.0500") and facts["loss_rise"].higher
    still_falling = facts_task3.overfitting_facts(overfitting_history(0.9, 0.9, 0.9, 0.9, (0.5, 0.4, 0.3, 0.2)), 2, 4)
    assert still_falling["best_is_last"] and still_falling["loss_rise"].same


# ------------------------------------------------------------------------------------- Task 4

def test_weights_facts_order_the_rows_by_lambda_and_say_which_is_smoother():
    smooth = {"run": "a", "l2_lambda": 1.0, "roughness": 0.2}
    rough = {"run": "b", "l2_lambda": 0.0, "roughness": 0.9}
    facts = facts_task4.weights_facts(smooth, rough)
    assert (facts["low"]["run"], facts["high"]["run"], facts["smoother"]) == ("b", "a", "stronger")
    assert facts["weaker_unpenalised"] and facts["top"] is smooth and facts["bottom"] is rough
    assert facts_task4.weights_facts({**smooth, "roughness": 1.0}, rough)["smoother"] == "weaker"
    equal = facts_task4.weights_facts({**smooth, "roughness": 0.9}, {**rough, "l2_lambda": 0.1})
    assert equal["smoother"] == "equal" and not equal["weaker_unpenalised"]


def test_roughness_of_a_checkerboard_and_a_ramp():
    board = np.where((np.add.outer(np.arange(28), np.arange(28)) % 2) == 0, 1.0, -1.0).ravel()
    weights = np.zeros((785, 10))
    weights[:784] = board[:, None]
    assert facts_task4.roughness(weights) == pytest.approx(2.0)  # |1 - (-1)| / 1 between every neighbour
    ramp = np.tile(np.arange(1, 29, dtype=float), 28)  # x + 1 along each row
    weights[:784] = ramp[:, None]
    # Across: 27 differences of 1 per row; down: 0. Mean over 2 * 28 * 27 pairs = 0.5; mean |w| = 14.5.
    assert facts_task4.roughness(weights) == pytest.approx(0.5 / 14.5)



def test_roughness_is_a_property_of_each_class_shape():
    ramp = np.tile(np.arange(1, 29, dtype=float), 28)  # roughness 0.5 / 14.5, as above
    weights = np.zeros((785, 3))
    weights[:784, 0], weights[:784, 1] = ramp, 10 * ramp  # the same shape, ten times the size
    # Class 2 is all zero: flat, roughness 0, not 0 / 0.
    assert facts_task4.roughness(weights) == pytest.approx((0.5 / 14.5 + 0.5 / 14.5 + 0) / 3, rel=1e-12)
    assert facts_task4.roughness(weights / 1000) == pytest.approx((0.5 / 14.5 + 0.5 / 14.5 + 0) / 3, rel=1e-12)
    # Computed in double precision from float32 weights: the same as from their float64 values.
    thirds = (np.arange(785 * 2).reshape(785, 2) % 7 / 3).astype(np.float32)
    assert facts_task4.roughness(thirds) == facts_task4.roughness(thirds.astype(np.float64))


def entry(l2_lambda, val_accuracy, *, train_accuracy=0.9, norm=10.0, steps=7800, stop=None, epochs=50,
          learning_rate=0.01):
    settings = {**SETTINGS, "task": "softmax", "l2_lambda": l2_lambda, "learning_rate": learning_rate,
                "epochs": epochs, "shuffle": True}
    metrics = {"val_accuracy": val_accuracy, "train_accuracy": train_accuracy, "val_loss": 0.3,
               "weight_norm_squared": norm, "steps": steps, "early_stop_epoch": stop}
    return facts_task4.sweep_entry(f"run_{l2_lambda}", settings, metrics, 156)


def test_sweep_entry_time_constant_and_decay_factor():
    penalised = entry(0.1, 0.9)
    assert penalised["decay_steps"] == pytest.approx(1 / (2 * 0.01 * 0.1))
    assert penalised["decay_periods"] == pytest.approx(7800 * 2 * 0.01 * 0.1)
    assert penalised["decay_factor"] == 1 - 2 * 0.01 * 0.1 and penalised["full_steps"] == 50 * 156
    assert entry(0.0, 0.9)["decay_steps"] is None and entry(0.0, 0.9)["decay_factor"] == 1
    assert entry(0.0, 0.9)["decay_periods"] is None


def test_sweep_entry_by_hand():
    settings = {**SETTINGS, "task": "softmax", "l2_lambda": 0.5, "learning_rate": 0.25, "epochs": 20}
    metrics = {"val_accuracy": 0.9, "train_accuracy": 0.95, "val_loss": 0.3, "weight_norm_squared": 2.0,
               "steps": 1200, "early_stop_epoch": 9, "train_loss": 0.2}
    # 2 eta lambda = 0.25: a time constant of 4 steps, 1200 steps = 300 of them.
    assert facts_task4.sweep_entry("r", settings, metrics, 100) == {
        "val_accuracy": 0.9, "train_accuracy": 0.95, "val_loss": 0.3, "weight_norm_squared": 2.0, "steps": 1200,
        "early_stop_epoch": 9, "run": "r", "settings": settings, "ending": "stopped_early", "decay_factor": 0.75,
        "l2_lambda": 0.5, "learning_rate": 0.25, "early_stopping": True, "epochs": 20, "full_steps": 2000,
        "decay_steps": 4.0, "decay_periods": 300.0}


@pytest.mark.parametrize("accuracies, trend, effect", [
    ((0.92, 0.91, 0.90), "decreasing", "only_costs"),
    ((0.92, 0.92, 0.90), "mixed", "only_costs"),        # a tie is not a strict decrease
    ((0.92, 0.92004, 0.90), "mixed", "only_costs"),     # nor a tie as printed
    ((0.90, 0.91, 0.92), "increasing", "helps"),
    ((0.90, 0.92, 0.92), "mixed", "helps"),  # the strongest is as good as the best: it costs nothing
    ((0.90, 0.92, 0.91), "mixed", "helps_then_costs"),
    ((0.91, 0.91, 0.91), "constant", "none"),
])
def test_sweep_trend_and_what_the_penalty_does(accuracies, trend, effect):
    sweep = [entry(l2_lambda, accuracy) for l2_lambda, accuracy in zip((0.0, 0.01, 1.0), accuracies)]
    facts = facts_task4.sweep_facts(sweep, 2)
    assert (facts["accuracy_trend"], facts["penalty_effect"]) == (trend, effect)
    assert facts["weakest"] is sweep[0] and facts["strongest"] is sweep[-1] and facts["weakest_unpenalised"]


def test_sweep_best_worst_and_differences_as_printed():
    sweep = [entry(0.0, 0.9100), entry(0.01, 0.91504), entry(0.1, 0.9150), entry(1.0, 0.8421)]
    facts = facts_task4.sweep_facts(sweep, 2)
    assert facts["best"] is sweep[1] and facts["worst"] is sweep[3]  # of equal printed ones, the smallest lambda
    assert facts["best_vs_weakest"].value == Decimal("0.50")
    assert facts["strongest_vs_weakest"].value == Decimal("-6.79") and facts["strongest_costs_accuracy"]
    assert facts["lambdas"] == [0.0, 0.01, 0.1, 1.0] and not facts["best_is_weakest"]


def test_sweep_norm_and_train_accuracy_trends_are_strict():
    falling = [entry(0.0, 0.9, norm=9.0, train_accuracy=0.93), entry(1.0, 0.9, norm=3.0, train_accuracy=0.92)]
    facts = facts_task4.sweep_facts(falling, 2)
    assert facts["norm_decreasing"] and facts["norm_ratio"] == 3.0 and facts["has_norm_ratio"]
    assert facts["train_accuracy_decreasing"]
    tied = [entry(0.0, 0.9, norm=3.0, train_accuracy=0.92), entry(1.0, 0.9, norm=3.0, train_accuracy=0.92004)]
    facts = facts_task4.sweep_facts(tied, 2)
    assert not facts["norm_decreasing"] and not facts["train_accuracy_decreasing"]
    small = facts_task4.sweep_facts([entry(0.0, 0.9, norm=2.0), entry(1.0, 0.9, norm=0.5)], 2)
    assert small["norm_ratio"] == 4.0  # a norm below 1 still divides
    zero = facts_task4.sweep_facts([entry(0.0, 0.9), entry(1.0, 0.9, norm=0.0)], 2)
    assert zero["norm_ratio"] is None and not zero["has_norm_ratio"]


@pytest.mark.parametrize("steps, balance", [
    ((7800, 7800, 7800), "all"),
    ((10, 10, 10), "none"),
    ((7800, 100, 7800), "some"),   # lambda 0.01 decays in 5000 steps: 100 steps are too few
    ((7800, 5000, 7800), "some"),  # exactly one time constant is not more than it
])
def test_sweep_decay_balance(steps, balance):
    sweep = [entry(0.0, 0.9, steps=steps[0]), entry(0.01, 0.9, steps=steps[1]), entry(1.0, 0.9, steps=steps[2])]
    facts = facts_task4.sweep_facts(sweep, 2)
    assert [e["run"] for e in facts["decaying"]] == ["run_0.01", "run_1.0"]
    assert facts["decay_balance"] == balance
    assert len(facts["balanced"]) + len(facts["unbalanced"]) == 2


def test_sweep_early_stops_and_full_lengths():
    sweep = [entry(0.0, 0.9, stop=30, steps=4700), entry(0.1, 0.9), entry(1.0, 0.9, epochs=40)]
    facts = facts_task4.sweep_facts(sweep, 2)
    assert [e["run"] for e in facts["stopped_early"]] == ["run_0.0"]
    assert [e["run"] for e in facts["ran_to_the_end"]] == ["run_0.1", "run_1.0"]
    assert facts["full_steps"] == [40 * 156, 50 * 156] and not facts["same_full_steps"]
    assert facts_task4.sweep_facts(sweep[:2], 2)["same_full_steps"]


def test_task4_needs_two_softmax_runs_and_orders_them_by_lambda():
    with pytest.raises(PipelineError) as refusal:
        facts_task4.task4_sweep({"a": {**SETTINGS, "task": "softmax"}, "b": SETTINGS})
    assert str(refusal.value) == ("runs: Task 4 compares softmax runs that differ in l2_lambda; "
                                  "found 1 softmax run(s)")
    runs = {"a": {**SETTINGS, "task": "softmax", "l2_lambda": 1.0}, "b": SETTINGS,
            "c": {**SETTINGS, "task": "softmax", "l2_lambda": 0.0}}
    assert facts_task4.task4_sweep(runs) == [{"run": "c", "l2_lambda": 0.0}, {"run": "a", "l2_lambda": 1.0}]


# ------------------------------------------------------------------------------- reproduction

def published_values():
    return {run: {key: int(text) if key == "early_stop_epoch" else float(text) for key, text in values.items()}
            for run, values in PUBLISHED.items()}


def test_reproduction_tolerance_is_inclusive_at_its_limit():
    metrics = published_values()
    published = metrics["softmax"]["val_accuracy"]
    metrics["softmax"]["val_accuracy"] = published * (1 + 1e-6)
    relative = reproduction.relative_difference(metrics["softmax"]["val_accuracy"], published)
    rows = {row["key"]: row for group in reproduction.reproduction(metrics, relative)["groups"]
            if group["run"] == "softmax" for row in group["rows"]}
    assert rows["val_accuracy"]["agrees"] and rows["val_accuracy"]["relative"] == relative
    table = reproduction.reproduction(metrics, math.nextafter(relative, 0))
    assert table["mismatches"] == 1 and not table["all_agree"]
    assert reproduction.reproduction(metrics, 1e-3)["all_agree"]  # a looser tolerance accepts it


def test_reproduction_groups_by_the_task_of_each_role_and_a_missing_stop_disagrees():
    metrics = published_values()
    metrics["binary_shuffled"]["early_stop_epoch"] = None
    table = reproduction.reproduction(metrics, 1e-10)
    assert [(group["task"], group["run"]) for group in table["groups"]] == [
        ("2b", "binary"), ("2d", "binary_early_stopping"), ("2e", "binary_shuffled"), ("3b", "softmax")]
    row = table["groups"][2]["rows"][0]
    assert row["missing"] and not row["agrees"] and row["relative"] is None
    assert (table["count"], table["mismatches"]) == (10, 1)
    assert reproduction.relative_difference(0.5, 0.0) == 0.5  # published 0: the absolute difference
    assert reproduction.relative_difference(3.0, 2.0) == 0.5 and reproduction.relative_difference(-3.0, -4.0) == 0.25
    assert table["rtol"] == 1e-10
    assert [row["quantity"] for row in table["groups"][0]["rows"]] == [
        "training loss", "validation loss", "training accuracy", "validation accuracy"]
    assert table["groups"][1]["rows"] == [{
        "quantity": "early-stopping epoch", "key": "early_stop_epoch", "published": "33", "value": 33,
        "missing": False, "relative": 0.0, "agrees": True}]
    del metrics["softmax"]
    with pytest.raises(PipelineError, match=r"runs: missing 'softmax'.*\(Task 3b\)"):
        reproduction.reproduction(metrics, 1e-10)


# -------------------------------------------------------------------------------- text filters

def test_filters_that_make_words():
    assert latex.than(latex.Difference(Decimal("0.01"))) == "higher than"
    assert latex.than(latex.Difference(Decimal("-0.01"))) == "lower than"
    assert latex.than(latex.Difference(Decimal("0.00"))) == "the same as"
    assert [latex.epochs(n) for n in (1, 2)] == ["1 epoch", "2 epochs"]
    assert latex.listing([1]) == "1" and latex.listing([1, 2]) == "1 and 2" and latex.listing([1, 2, 3]) == "1, 2 and 3"
    assert latex.listing(["a_b", latex.Tex(r"\x")]) == r"a\_b and \x"
    assert latex.commas(["a", "b", "c"]) == "a, b, c"
    assert [latex.plural(n, "run", "runs") for n in (0, 1, 2)] == ["runs", "run", "runs"]
    assert latex.plural([1], "its", "their") == "its"
    assert [latex.spelled(n) for n in (0, 10, 20, 21)] == ["zero", "ten", "twenty", "21"]
    assert [latex.count(n) for n in (9, 10)] == ["nine", "10"]
    with pytest.raises(PipelineError, match="filter than expects a Difference"):
        latex.than(0.5)
