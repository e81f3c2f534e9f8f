"""Stage ``train@<run>``: trains one run of ``params.yaml`` and writes its metrics, history and weights.

Outputs (see ``dvc.yaml``): ``metrics/<run>.json``, ``metrics/history/<run>/train.csv`` and
``validation.csv``, ``models/<run>.npy``. A run that diverges writes none of them.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnist_report.data import MNIST_DIR, load_splits
from mnist_report.errors import PipelineError, one_line_errors
from mnist_report.files import write_bytes, write_json, write_text
from mnist_report.models import make_model
from mnist_report.outputs import history_csvs, output_paths
from mnist_report.params import load_checked, run_settings
from mnist_report.trainer import History, final_metrics, train

def run(name: str, settings: dict, data_dir: Path = MNIST_DIR, root: Path = Path("."), verbose: bool = True) -> dict:
    """Trains run ``name`` with ``settings`` and writes its outputs under ``root``; returns its metrics."""
    train_set, val_set = load_splits(settings["task"], tuple(settings["classes"]), data_dir)
    if settings["batch_size"] > len(train_set.X):
        raise PipelineError(f"runs.{name}.batch_size = {settings['batch_size']}: expected at most the "
                            f"{len(train_set.X)} training images of this run's task")
    model = make_model(settings["task"], settings["l2_lambda"])

    def report_epoch(epoch: int, history: History) -> None:
        last = len(history.val_loss) - 1
        print(f"train@{name} epoch {epoch + 1}/{settings['epochs']}: train loss {history.train_loss[-1]:.4f}, "
              f"val loss {history.val_loss[last]:.4f}, val accuracy {history.val_accuracy[last]:.4f}", flush=True)

    try:
        result = train(model, train_set, val_set, learning_rate=settings["learning_rate"],
                       epochs=settings["epochs"], batch_size=settings["batch_size"], shuffle=settings["shuffle"],
                       early_stopping=settings["early_stopping"], seed=settings["seed"],
                       on_epoch=report_epoch if verbose else None)
    except PipelineError as error:
        raise PipelineError(f"run {name}: {error}") from error
    metrics = final_metrics(model, train_set, val_set, result)
    paths = output_paths(name, root)
    history = result.history
    train_csv, validation_csv = history_csvs(history.train_loss, history.val_step, history.val_loss,
                                             history.val_accuracy, history.train_accuracy)
    weights = io.BytesIO()
    np.save(weights, model.w)
    # Metrics last: a run interrupted before this line has no metrics file to be mistaken for a result.
    write_text(paths["train_history"], train_csv)
    write_text(paths["validation_history"], validation_csv)
    write_bytes(paths["weights"], weights.getvalue())
    write_json(paths["metrics"], metrics)
    if verbose:
        stop = ("never stopped early" if metrics["early_stop_epoch"] is None
                else f"stopped early in epoch {metrics['early_stop_epoch']}")
        print(f"train@{name}: {metrics['steps']} steps, {stop}; train loss {metrics['train_loss']:.6f}, "
              f"val loss {metrics['val_loss']:.6f}, val accuracy {metrics['val_accuracy']:.4f}", flush=True)
    return metrics


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train one run of params.yaml.")
    parser.add_argument("run", help="a key of `runs` in params.yaml")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    runs = run_settings(load_checked(args.params))
    if args.run not in runs:
        raise PipelineError(f"runs.{args.run}: no such run in {args.params}; expected one of {', '.join(runs)}")
    run(args.run, runs[args.run])
    return 0


if __name__ == "__main__":
    sys.exit(main())
