"""The progress lines of a training run: one at the end of each epoch, from the SGD loop's
:class:`~mnist_report.core.sgd.History`, and a last one with the final metrics."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

from mnist_report.core.sgd import History


def duration(seconds: float) -> str:
    """Returns ``seconds`` as a progress line shows it: ``8.1 s`` below a minute, else ``2 min 05 s``."""
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


class Progress:
    """The progress lines of one run: one at the end of each epoch, and a last one.

    Epochs are numbered from 0, as the report (and ``early_stop_epoch``) counts them: a run of 50
    epochs goes through epochs 0 to 49. Each number says what it is: the mean loss of the epoch's
    mini-batches (each taken before its update; not the loss on the whole training set, which only the
    last line gives, for the final weights), the validation loss and accuracy of the epoch's last
    validation (the whole validation set). The time left assumes every epoch takes as long as the
    mean so far and the run goes to its last epoch; early stopping may end it sooner.
    """

    def __init__(self, run: str, epochs: int, steps_per_epoch: int, clock=time.monotonic) -> None:
        self.run, self.epochs, self.steps_per_epoch, self.clock = run, epochs, steps_per_epoch, clock
        self.start = clock()

    def epoch_line(self, epoch: int, history: History) -> str:
        """Returns the line of the end of ``epoch`` (0-based), from the run's ``history`` so far."""
        elapsed = self.clock() - self.start
        # The SGD loop calls this once the epoch's validations are in the history (they are computed
        # while SGD goes on), when train_loss may already hold steps of the next epoch.
        batches = history.train_loss[epoch * self.steps_per_epoch:(epoch + 1) * self.steps_per_epoch]
        batch_loss = math.fsum(batches) / len(batches)
        left = elapsed / (epoch + 1) * (self.epochs - epoch - 1)
        return (f"train@{self.run} epoch {epoch} (epochs 0-{self.epochs - 1}): mean batch loss {batch_loss:.4f}; "
                f"validation loss {history.val_loss[-1]:.4f}, validation accuracy {history.val_accuracy[-1]:.4f}; "
                f"{duration(elapsed)} elapsed, at most {duration(left)} left")

    def epoch_done(self, epoch: int, history: History) -> None:
        """The SGD loop's ``on_epoch``: prints :meth:`epoch_line`."""
        print(self.epoch_line(epoch, history), flush=True)

    def last_line(self, metrics: dict, written: Sequence[Path]) -> str:
        """Returns the run's last line: how it ended, the final weights' losses and accuracy on the
        whole sets, the time it took and the files it wrote."""
        if metrics["early_stop_epoch"] is None:
            ending = f"trained all epochs 0-{self.epochs - 1}"
        else:
            ending = f"stopped early in epoch {metrics['early_stop_epoch']} (of 0-{self.epochs - 1})"
        return (f"train@{self.run}: {metrics['steps']} steps, {ending}, in {duration(self.clock() - self.start)}; "
                f"final weights: training-set loss {metrics['train_loss']:.6f}, validation loss "
                f"{metrics['val_loss']:.6f}, validation accuracy {metrics['val_accuracy']:.4f}; "
                f"wrote {', '.join(path.as_posix() for path in written)}")
