"""The training loop: batching, shuffling, validation schedule, early stopping, divergence."""

import itertools
import math
import threading

import numpy as np
import pytest

from mnist_report.core.exact import Inputs
from mnist_report.core.models import LogisticRegression, SoftmaxRegression, Split
from mnist_report.core.sgd import (
    DivergedError,
    Validations,
    batches,
    could_stop_early,
    epoch_order,
    final_metrics,
    should_stop_early,
    train,
    validation_interval,
)

#: The original's training rule (params.yaml defaults): early stopping after 10 validations without
#: improvement, five validations an epoch.
ORIGINAL_RULE = {"early_stopping_patience": 10, "validations_per_epoch": 5}


def synthetic_split(num_samples, rng, num_inputs=8, task="binary"):
    """Inputs as the data has them (integers 2p - 255 and the bias 255, over 255), labels from a
    random linear model."""
    values = np.concatenate([2.0 * rng.integers(0, 256, (num_samples, num_inputs - 1)) - 255,
                             np.full((num_samples, 1), 255.0)], axis=1)
    X = Inputs(values, 255, bound=255)
    true_w = rng.normal(size=(num_inputs, 10 if task == "softmax" else 1))
    z = X.as_floats() @ true_w
    if task == "softmax":
        labels = np.argmax(z, axis=1)
        return Split(X, np.eye(10)[labels], labels)
    labels = (z[:, 0] > 0).astype(int)
    return Split(X, labels[:, None].astype(np.float64), labels)


def test_batches_drop_the_last_partial_batch_and_keep_file_order():
    got = list(batches(10, 3, None))
    assert got == [slice(0, 3), slice(3, 6), slice(6, 9)]  # sample 9 is dropped
    order = np.array([4, 2, 9, 0, 1, 3, 5, 6, 7, 8])
    got = [list(b) for b in batches(10, 4, order)]
    assert got == [[4, 2, 9, 0], [1, 3, 5, 6]]


def test_shuffling_is_fixed_by_the_seed():
    first = [epoch_order(50, rng) for rng in [np.random.RandomState(0)] for _ in range(3)]
    again = [epoch_order(50, rng) for rng in [np.random.RandomState(0)] for _ in range(3)]
    other = [epoch_order(50, rng) for rng in [np.random.RandomState(1)] for _ in range(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], first[1])  # each epoch has its own order
    assert sorted(first[1]) == list(range(50))


def test_each_epoch_shuffles_a_fresh_arange_with_the_legacy_generator():
    # The original permutes arange(N) anew each epoch with one RandomState seeded per run.
    rng = np.random.RandomState(7)
    reference = np.random.RandomState(7)
    for _ in range(3):
        expected = np.arange(20)
        reference.shuffle(expected)
        np.testing.assert_array_equal(epoch_order(20, rng), expected)
    assert epoch_order(20, None) is None


def test_early_stopping_rule_on_synthetic_losses():
    # Never while the loss keeps improving.
    improving = list(np.linspace(1.0, 0.1, 40))
    assert not any(should_stop_early(improving[:n], 10) for n in range(1, 41))
    # Oldest of the last 11 is <= each of the 10 after it: stop exactly at the 11th value after the best.
    losses = [0.9, 0.8, 0.5] + [0.6, 0.55, 0.7, 0.51, 0.5, 0.52, 0.6, 0.61, 0.9, 0.55]
    stops = [n for n in range(1, len(losses) + 1) if should_stop_early(losses[:n], 10)]
    assert stops[0] == 13  # 0.5 at index 2, then ten values none below it (0.5 equal counts as no improvement)
    # A single improvement inside the window resets it.
    assert not should_stop_early([0.5] + [0.6] * 9 + [0.49], 10)
    assert not should_stop_early([0.5] * 10, 10)  # fewer than 11 recorded


def test_validation_runs_every_fifth_of_an_epoch_from_step_zero():
    rng = np.random.default_rng(0)
    train_set, val_set = synthetic_split(320, rng), synthetic_split(50, rng)
    model = LogisticRegression(num_inputs=8)
    result = train(model, train_set, val_set, learning_rate=0.1, epochs=3, batch_size=32, shuffle=False,
                   early_stopping=False, **ORIGINAL_RULE, seed=0)
    assert validation_interval(320, 32, 5) == 2
    assert result.steps == 30 and len(result.history.train_loss) == 30
    assert result.history.val_step == list(range(0, 30, 2))
    assert result.early_stop_epoch is None
    # The first recorded loss is that of zero weights: ln 2.
    assert result.history.train_loss[0] == pytest.approx(np.log(2), rel=1e-15)


def test_training_matches_a_hand_written_sgd_loop():
    rng = np.random.default_rng(3)
    train_set, val_set = synthetic_split(100, rng, task="softmax"), synthetic_split(30, rng, task="softmax")
    model = SoftmaxRegression(0.01, num_inputs=8)
    result = train(model, train_set, val_set, learning_rate=0.05, epochs=4, batch_size=16, shuffle=True,
                   early_stopping=False, **ORIGINAL_RULE, seed=5)
    # Independent loop: fresh arange shuffled each epoch, batches of 16, 6 per epoch.
    w = np.zeros((8, 10))
    order_rng = np.random.RandomState(5)
    for _ in range(4):
        order = np.arange(100)
        order_rng.shuffle(order)
        for b in range(6):
            index = order[b * 16:(b + 1) * 16]
            X, Y = train_set.X.as_floats()[index], train_set.Y[index]
            z = X @ w
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            w = w - 0.05 * (-(X.T @ (Y - p)) / 16 + 2 * 0.01 * w)
    np.testing.assert_allclose(model.w, w, rtol=1e-12, atol=1e-14)
    assert result.steps == 24


@pytest.mark.parametrize("task", ["binary", "softmax"])
def test_a_run_without_penalty_takes_the_steps_of_the_full_formula_to_the_bit(task):
    # Without a penalty the model leaves out the term 2 * 0 * w (+-0), and the trainer scales the
    # gradient in place: the weights must be those of w - learning_rate * (gradient + 2 * 0 * w),
    # byte for byte, the signs of zeros included. A column of zeros makes some gradients exactly +-0.
    rng = np.random.default_rng(8)
    train_set = synthetic_split(96, rng, task=task)
    values = train_set.X.values.copy()
    values[:, 2] = 0.0
    X = Inputs(values, 255, bound=255)
    train_set = Split(X, train_set.Y, train_set.labels)
    model_class = SoftmaxRegression if task == "softmax" else LogisticRegression
    model = model_class(num_inputs=8)
    train(model, train_set, train_set, learning_rate=0.3, epochs=3, batch_size=16, shuffle=False,
          early_stopping=False, **ORIGINAL_RULE, seed=0)
    replay = model_class(num_inputs=8)
    for step in range(18):
        X_batch, Y_batch = X[(step % 6) * 16:(step % 6) * 16 + 16], train_set.Y[(step % 6) * 16:(step % 6) * 16 + 16]
        Yhat = replay.forward(X_batch)
        gradient = -(X_batch.T @ (Y_batch - Yhat)) / 16 + 2 * 0.0 * replay.w
        replay.w = replay.w - 0.3 * gradient
    assert (model.w[2] == 0).all() and model.w.tobytes() == replay.w.tobytes()


def test_early_stopping_keeps_last_weights_and_reports_zero_based_epoch():
    rng = np.random.default_rng(0)
    train_set, val_set = synthetic_split(64, rng), synthetic_split(40, rng)
    # Validation on labels opposite to what training learns: the validation loss only grows.
    flipped = Split(val_set.X, 1 - val_set.Y, 1 - val_set.labels)
    model = LogisticRegression(num_inputs=8)
    result = train(model, train_set, flipped, learning_rate=0.5, epochs=20, batch_size=8, shuffle=False,
                   early_stopping=True, **ORIGINAL_RULE, seed=0)
    # 8 steps an epoch, validation after every step; the run stops at the first validation whose
    # loss 10 validations back is <= all 10 since, and reports the 0-based epoch of that step.
    val_loss = result.history.val_loss
    expected_stop = next(n for n in range(10, 160) if all(val_loss[n - 10] <= v for v in val_loss[n - 9:n + 1]))
    assert len(val_loss) == expected_stop + 1 == result.steps
    assert result.early_stop_epoch == (result.steps - 1) // 8 >= 1
    # The weights are those after step 10's update, not the best ones (step 0's).
    replay = LogisticRegression(num_inputs=8)
    for step in range(result.steps):
        batch = slice((step % 8) * 8, (step % 8) * 8 + 8)
        X, Y = train_set.X[batch], train_set.Y[batch]
        replay.w -= 0.5 * replay.gradient(X, Y, replay.forward(X))
    np.testing.assert_allclose(model.w, replay.w, rtol=1e-12)


def test_divergence_stops_with_step_and_loss():
    # lr * 2 lambda = 2000: the penalty multiplies the weights by -1999 each step, so they overflow.
    # (Without a penalty the cross-entropy gradient is bounded and the loss stays finite, if large.)
    rng = np.random.default_rng(0)
    train_set, val_set = synthetic_split(256, rng, task="softmax"), synthetic_split(20, rng, task="softmax")
    model = SoftmaxRegression(l2_lambda=1.0, num_inputs=8)
    with pytest.raises(DivergedError, match=r"diverged at step \d+ \(epoch \d+\): training loss (inf|nan|[0-9.e+]+), "
                                            r"largest \|weight\| (inf|nan)"):
        train(model, train_set, val_set, learning_rate=1000.0, epochs=50, batch_size=16, shuffle=False,
              early_stopping=False, **ORIGINAL_RULE, seed=0)


def test_batch_larger_than_training_set_is_refused():
    rng = np.random.default_rng(0)
    train_set = synthetic_split(10, rng)
    with pytest.raises(Exception, match="batch_size 16 is larger than the training set"):
        train(LogisticRegression(num_inputs=8), train_set, train_set, learning_rate=0.1, epochs=1, batch_size=16,
              shuffle=False, early_stopping=False, **ORIGINAL_RULE, seed=0)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_each_validation_is_that_of_the_weights_of_its_step(early_stopping):
    # Validations run on two threads of their own, several at a time, while SGD goes on. Replayed
    # here step by step on one thread, each figure must be that of the weights of its step, to the
    # bit, in the order of the steps.
    rng = np.random.default_rng(4)
    train_set, val_set = synthetic_split(400, rng, task="softmax"), synthetic_split(60, rng, task="softmax")
    if early_stopping:  # validation labels that training does not learn: the run stops early
        val_set = Split(val_set.X, val_set.Y[:, ::-1].copy(), 9 - val_set.labels)
    model = SoftmaxRegression(num_inputs=8)
    seen = []
    result = train(model, train_set, val_set, learning_rate=0.5, epochs=30, batch_size=20, shuffle=False,
                   early_stopping=early_stopping, **ORIGINAL_RULE, seed=0,
                   on_epoch=lambda epoch, history: seen.append(len(history.train_accuracy)))
    history = result.history
    assert (result.early_stop_epoch is not None) == early_stopping
    assert len(history.train_accuracy) == len(history.val_loss) == len(history.val_step)
    replay, expected, expected_val_loss, expected_val_accuracy = SoftmaxRegression(num_inputs=8), [], [], []
    for step in range(result.steps):
        batch = slice((step % 20) * 20, (step % 20) * 20 + 20)
        X, Y = train_set.X[batch], train_set.Y[batch]
        replay.w -= 0.5 * replay.gradient(X, Y, replay.forward(X))
        if step in history.val_step:
            expected.append(np.mean(np.argmax(train_set.X @ replay.w, axis=1) == train_set.labels))
            z_val = val_set.X @ replay.w
            expected_val_loss.append(SoftmaxRegression.cross_entropy(z_val, val_set.Y))
            expected_val_accuracy.append(np.mean(np.argmax(z_val, axis=1) == val_set.labels))
    assert history.train_accuracy == expected
    assert history.val_accuracy == expected_val_accuracy
    assert history.val_loss == expected_val_loss
    assert 0.3 < min(expected) < max(expected) <= 1  # the accuracies vary: the check can fail
    # on_epoch sees each epoch once its 5 validations are all in the history, in order.
    assert seen == [5 * (epoch + 1) for epoch in range(len(seen))]
    assert len(seen) == (result.early_stop_epoch if early_stopping else 30)


def test_a_run_that_ends_with_an_error_leaves_no_thread_behind():
    rng = np.random.default_rng(0)
    train_set, val_set = synthetic_split(256, rng, task="softmax"), synthetic_split(20, rng, task="softmax")
    before = threading.active_count()
    with pytest.raises(DivergedError):
        train(SoftmaxRegression(l2_lambda=1.0, num_inputs=8), train_set, val_set, learning_rate=1000.0,
              epochs=50, batch_size=16, shuffle=False, early_stopping=False, **ORIGINAL_RULE, seed=0)
    assert threading.active_count() == before


def test_an_error_on_the_worker_thread_ends_the_run_with_it_and_no_thread_behind(monkeypatch):
    # The training accuracies are computed on a thread of Validations; the replacement fails there
    # only, as an allocation might on that thread.
    accuracy_each = SoftmaxRegression.accuracy_each

    def failing_on_the_worker(self, X, Y, weights):
        if threading.current_thread() is not threading.main_thread():
            raise MemoryError("worker could not allocate")
        return accuracy_each(self, X, Y, weights)

    monkeypatch.setattr(SoftmaxRegression, "accuracy_each", failing_on_the_worker)
    rng = np.random.default_rng(0)
    train_set, val_set = synthetic_split(64, rng, task="softmax"), synthetic_split(20, rng, task="softmax")
    before = threading.active_count()
    with pytest.raises(MemoryError, match="worker could not allocate"):
        train(SoftmaxRegression(num_inputs=8), train_set, val_set, learning_rate=0.1, epochs=3, batch_size=8,
              shuffle=False, early_stopping=False, **ORIGINAL_RULE, seed=0)
    assert threading.active_count() == before


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_losses_known_so_far_rule_out_early_stopping_only_when_no_pending_losses_could_trigger_it(patience):
    # Every sequence of up to 6 losses from {0.1, 0.2, 0.3, nan} (ties and nan included), split
    # into known and pending at each point: when could_stop_early says no, the rule must say no
    # for every value the pending losses could take; with nothing pending the two agree.
    values = [0.1, 0.2, 0.3, float("nan")]
    for length in range(1, 7):
        for losses in itertools.product(values, repeat=length):
            for known in range(length + 1):
                pending = length - known
                if not could_stop_early(list(losses[:known]), pending, patience):
                    assert not any(should_stop_early(list(losses[:known]) + list(rest), patience)
                                   for rest in itertools.product(values, repeat=pending))
                if pending == 0:
                    assert could_stop_early(list(losses), 0, patience) == should_stop_early(list(losses), patience)
    # And it does rule some out: a loss below the oldest, or too few losses.
    assert not could_stop_early([0.3, 0.2], 2, 3) and not could_stop_early([0.1], 2, 3)
    assert could_stop_early([0.1, 0.2], 2, 3) and could_stop_early([0.3, 0.2], 5, 3)  # oldest pending


def test_the_early_stopping_rule_waits_the_patience_it_is_given():
    losses = [0.5] + [0.6] * 3
    assert [should_stop_early(losses[:n], 3) for n in range(1, 5)] == [False, False, False, True]
    assert not should_stop_early(losses, 4)
    assert should_stop_early([0.5, 0.5], 1)  # equal counts as no improvement


@pytest.mark.parametrize(("validations_per_epoch", "interval"), [(1, 10), (2, 5), (3, 3), (5, 2), (10, 1), (50, 1)])
def test_validations_per_epoch_sets_the_interval_and_the_run_records_its_schedule(validations_per_epoch, interval):
    # 320 samples, batches of 32: 10 steps an epoch; the interval is 10 // validations_per_epoch, at least 1.
    rng = np.random.default_rng(0)
    train_set, val_set = synthetic_split(320, rng), synthetic_split(50, rng)
    model = LogisticRegression(num_inputs=8)
    result = train(model, train_set, val_set, learning_rate=0.1, epochs=2, batch_size=32, shuffle=False,
                   early_stopping=False, early_stopping_patience=7, validations_per_epoch=validations_per_epoch,
                   seed=0)
    assert validation_interval(320, 32, validations_per_epoch) == interval
    assert result.history.val_step == list(range(0, 20, interval))
    metrics = final_metrics(model, train_set, val_set, result)
    assert (metrics["steps_per_epoch"], metrics["validation_interval"], metrics["early_stopping_patience"]) == (
        10, interval, 7)


def test_a_shorter_patience_stops_a_run_sooner():
    rng = np.random.default_rng(0)
    train_set, val_set = synthetic_split(64, rng), synthetic_split(40, rng)
    flipped = Split(val_set.X, 1 - val_set.Y, 1 - val_set.labels)  # the validation loss only grows
    steps = {}
    for patience in (3, 10):
        result = train(LogisticRegression(num_inputs=8), train_set, flipped, learning_rate=0.5, epochs=20,
                       batch_size=8, shuffle=False, early_stopping=True, early_stopping_patience=patience,
                       validations_per_epoch=8, seed=0)
        val_loss = result.history.val_loss  # a validation after every step
        # The first validation whose loss `patience` validations back is <= every one since.
        expected = next(n for n in range(patience, 160)
                        if all(val_loss[n - patience] <= v for v in val_loss[n - patience + 1:n + 1]))
        assert len(val_loss) == expected + 1 == result.steps
        steps[patience] = result.steps
    assert steps[3] < steps[10]


@pytest.mark.parametrize("most", [1, 2, 3])
def test_grouping_the_validations_changes_no_bit_of_the_history(monkeypatch, most):
    # Several weight matrices per pass over each data set give the same bits as one at a time: the
    # exact products do not depend on the columns computed with them. 785 inputs, as the data has.
    rng = np.random.default_rng(7)
    train_set, val_set = synthetic_split(600, rng, 785, "softmax"), synthetic_split(300, rng, 785, "softmax")

    def history(most_queued: int):
        monkeypatch.setattr(Validations, "MOST_QUEUED", most_queued)
        result = train(SoftmaxRegression(num_inputs=785), train_set, val_set, learning_rate=0.01, epochs=4,
                       batch_size=30, shuffle=True, early_stopping=False, **ORIGINAL_RULE, seed=3)
        return result.history

    reference = history(16)
    grouped = history(most)
    assert len(reference.val_step) == 20
    assert grouped == reference


def test_final_metrics_are_those_of_the_final_weights_on_each_set():
    rng = np.random.default_rng(9)
    train_set, val_set = synthetic_split(200, rng, task="softmax"), synthetic_split(80, rng, task="softmax")
    model = SoftmaxRegression(num_inputs=8)
    result = train(model, train_set, val_set, learning_rate=0.5, epochs=2, batch_size=20, shuffle=False,
                   early_stopping=False, **ORIGINAL_RULE, seed=0)
    metrics = final_metrics(model, train_set, val_set, result)
    assert (metrics["train_loss"], metrics["train_accuracy"]) == model.evaluate(train_set.X, train_set.Y)
    assert (metrics["val_loss"], metrics["val_accuracy"]) == model.evaluate(val_set.X, val_set.Y)
    assert metrics["train_loss"] != metrics["val_loss"]  # the two sets differ: the check can fail
    assert metrics["weight_norm_squared"] == math.fsum((model.w ** 2).ravel().tolist())
    assert (metrics["steps"], metrics["early_stop_epoch"]) == (20, None)
