"""facts_task4.py: what the text of Task 4 says (the weights' roughness, the lambda sweep's trends, the weight decay's time constant), on synthetic runs worked out by hand."""

from __future__ import annotations

from decimal import Decimal
import numpy as np
import pytest
from mnist_report.common.errors import PipelineError
from mnist_report.reporting import facts_task4
from support.run_facts import checked_settings


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
    settings = checked_settings(task="softmax", l2_lambda=l2_lambda, learning_rate=learning_rate, epochs=epochs,
                                shuffle=True)
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
    settings = checked_settings(task="softmax", l2_lambda=0.5, learning_rate=0.25, epochs=20)
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
        facts_task4.task4_sweep({"a": checked_settings(task="softmax"), "b": checked_settings()})
    assert str(refusal.value) == ("runs: Task 4 compares softmax runs that differ in l2_lambda; "
                                  "found 1 softmax run(s)")
    runs = {"a": checked_settings(task="softmax", l2_lambda=1.0), "b": checked_settings(),
            "c": checked_settings(task="softmax", l2_lambda=0.0)}
    assert facts_task4.task4_sweep(runs) == [{"run": "c", "l2_lambda": 0.0}, {"run": "a", "l2_lambda": 1.0}]


def test_roughness_ignores_the_scale_and_the_bias():
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(785, 10))
    assert facts_task4.roughness(weights) == pytest.approx(facts_task4.roughness(1e-3 * weights))
    changed_bias = weights.copy()
    changed_bias[784] = 100.0
    assert facts_task4.roughness(changed_bias) == facts_task4.roughness(weights)
    flat = np.ones((785, 10))
    assert facts_task4.roughness(flat) == 0.0 and facts_task4.roughness(np.zeros((785, 10))) == 0.0
