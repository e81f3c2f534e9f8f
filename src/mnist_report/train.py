"""Stage ``train@<run>``: trains one run of ``params.yaml`` and writes its metrics, history and weights.

Which run: the argument, or else the stage DVC runs (``DVC_STAGE = train@<run>``); dvc.yaml's command
names no run, so that no run name goes through a shell.

Outputs (see ``dvc.yaml``): ``metrics/<run>.json``, ``metrics/history/<run>/train.csv`` and
``validation.csv``, ``metrics/history/<run>/schedule.json`` (the schedule it followed, which the report
states: not a metric), ``models/<run>.npy``. A run that diverges writes none of them.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mnist_report.common.errors import PipelineError, one_line_errors
from mnist_report.common.files import write_bytes, write_json, write_text
from mnist_report.common.outputs import history_csvs, output_paths, split_schedule
from mnist_report.config.params import load_checked
from mnist_report.config.runs import Run
from mnist_report.config.schema import shown
from mnist_report.core.models import make_model
from mnist_report.core.progress import Progress
from mnist_report.core.sgd import final_metrics, train
from mnist_report.mnist.data import MNIST_DIR, MNIST_FILES
from mnist_report.mnist.splits import load_splits


def run(name: str, settings: Run, data_dir: Path = MNIST_DIR, root: Path = Path("."), verbose: bool = True) -> dict:
    """Trains run ``name`` with ``settings`` and writes its outputs under ``root``; returns its metrics."""
    train_set, val_set = load_splits(settings.task, settings.classes, data_dir)
    if settings.batch_size > len(train_set.X):
        raise PipelineError(f"runs.{name}.batch_size = {settings.batch_size}: expected at most the "
                            f"{len(train_set.X)} training images of this run's task")
    model = make_model(settings.task, settings.l2_lambda)

    progress = Progress(name, settings.epochs, len(train_set.X) // settings.batch_size)
    try:
        result = train(model, train_set, val_set, learning_rate=settings.learning_rate, epochs=settings.epochs,
                       batch_size=settings.batch_size, shuffle=settings.shuffle,
                       early_stopping=settings.early_stopping,
                       early_stopping_patience=settings.early_stopping_patience,
                       validations_per_epoch=settings.validations_per_epoch, seed=settings.seed,
                       on_epoch=progress.epoch_done if verbose else None)
    except PipelineError as error:
        raise PipelineError(f"run {name}: {error}") from error
    metrics, schedule = split_schedule(final_metrics(model, train_set, val_set, result))
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
    write_json(paths["schedule"], schedule)
    write_json(paths["metrics"], metrics)
    if verbose:
        print(progress.last_line(metrics, [paths[kind] for kind in OUTPUT_ORDER]), flush=True)
    return metrics


#: The outputs in the order the last progress line names them.
OUTPUT_ORDER = ("metrics", "train_history", "validation_history", "schedule", "weights")


#: DVC sets ``DVC_STAGE`` to the address of the stage it runs: ``train@<run>`` (``<dvc.yaml>:train@<run>``
#: when ``dvc`` runs from another directory). The stage's command names no run, so that no text of
#: params.yaml ever reaches the shell that DVC runs the command with.
STAGE_VARIABLE = "DVC_STAGE"
STAGE_PREFIX = "train@"


def run_from_environment(environment: Mapping[str, str]) -> str:
    """Returns the run that ``DVC_STAGE`` names; raises PipelineError when it names no train stage."""
    stage = environment.get(STAGE_VARIABLE)
    if not stage:
        raise PipelineError(f"no run given: name one (python -m mnist_report.train <run>) or let DVC run "
                            f"the stage ({STAGE_VARIABLE} = {STAGE_PREFIX}<run>)")
    name = stage.rsplit(":", 1)[-1]  # a run name holds no ':'; a path to dvc.yaml before it may
    if not name.startswith(STAGE_PREFIX):
        raise PipelineError(f"{STAGE_VARIABLE} = {stage!r}: expected {STAGE_PREFIX}<run>, a stage of dvc.yaml's train")
    return name[len(STAGE_PREFIX):]


@one_line_errors
def main(argv: Sequence[str] | None = None, environment: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_report.train", description="Train one run of params.yaml.")
    parser.add_argument("run", nargs="?", help="a key of `runs` in params.yaml (default: the run of "
                        f"{STAGE_VARIABLE}, which DVC sets to {STAGE_PREFIX}<run>)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--list-deps", action="store_true",
                        help="print the files the stage reads (its DVC deps besides the code), one a line, and exit")
    args = parser.parse_args(argv)
    runs = load_checked(args.params).runs
    if args.list_deps:
        print("\n".join(input_paths()))
        return 0
    name = args.run if args.run is not None else run_from_environment(os.environ if environment is None else environment)
    if name not in runs:
        raise PipelineError(f"runs.{shown(name)}: no such run in {args.params}; expected one of {', '.join(runs)}")
    run(name, runs[name])
    return 0


def input_paths() -> list[str]:
    """Returns the files the stage reads besides params.yaml and the code: the MNIST files."""
    return [f"{MNIST_DIR.as_posix()}/{spec.name}" for spec in MNIST_FILES]


if __name__ == "__main__":
    sys.exit(main())
