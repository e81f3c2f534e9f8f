"""facts_task2.py: what the text of Task 2 says (early stopping against the full run, shuffling, the recurring spikes of the validation loss), decided on small synthetic runs and histories worked out by hand."""

from __future__ import annotations

from decimal import Decimal
import numpy as np
import pytest
from mnist_report.reporting import facts_task2, latex
from support.run_facts import history, run


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
