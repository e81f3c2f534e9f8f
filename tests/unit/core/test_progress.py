"""core/progress.py: the progress lines of a training run, against durations and estimates worked out by hand."""

from __future__ import annotations

import pytest
from mnist_report.core import progress
from mnist_report.core.sgd import History


@pytest.mark.parametrize("seconds, shown", [(0, "0.0 s"), (8.14, "8.1 s"), (59.9, "59.9 s"), (59.97, "1 min 00 s"),
                                            (125.4, "2 min 05 s"), (3600, "60 min 00 s")])
def test_durations_read_as_seconds_then_minutes(seconds, shown):
    assert progress.duration(seconds) == shown


def test_time_left_is_the_mean_epoch_so_far_times_the_epochs_left():
    ticks = iter([100.0, 130.0])  # started at 100 s; epoch 1 (the second) done at 130 s
    line = progress.Progress("r", 10, 2, clock=lambda: next(ticks))
    history = History(train_loss=[1.0, 2.0, 3.0, 5.0], val_loss=[0.5], val_accuracy=[0.9])
    assert line.epoch_line(1, history) == ("train@r epoch 1 (epochs 0-9): mean batch loss 4.0000; validation loss "
                                               "0.5000, validation accuracy 0.9000; 30.0 s elapsed, at most 2 min 00 s left")
