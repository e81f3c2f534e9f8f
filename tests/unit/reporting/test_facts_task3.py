"""facts_task3.py: what the text of Task 3 says (softmax against binary, the overfitting verdict), on synthetic runs and histories worked out by hand."""

from __future__ import annotations

from decimal import Decimal
import pytest
from mnist_report.reporting import facts_task3
from support.run_facts import history, run


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
