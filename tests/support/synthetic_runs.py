"""Synthetic runs: the files a run's train stage writes (its metrics, schedule, histories and weights),
written from values a test chooses through the train stage's own writers
(:func:`mnist_report.common.outputs.output_paths`, :func:`~mnist_report.common.outputs.history_csvs`,
:func:`~mnist_report.common.outputs.split_schedule` and the atomic writers of
:mod:`mnist_report.common.files`), so that a later stage reads them exactly as it reads a real run's.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mnist_report.common.files import write_bytes, write_json, write_text
from mnist_report.common.outputs import history_csvs, output_paths, split_schedule

#: A run's metrics as the train stage writes them: every key outputs.read_metrics checks.
METRICS = {"train_loss": 0.2, "val_loss": 0.25, "train_accuracy": 0.95, "val_accuracy": 0.93,
           "early_stop_epoch": None, "steps": 31, "weight_norm_squared": 1.0}


def write_metrics(root: Path, run: str, values: dict[str, Any]) -> None:
    """Writes ``values`` as run ``run``'s ``metrics/<run>.json`` and, for those of its keys that are the
    schedule the run followed, ``metrics/history/<run>/schedule.json`` (as train.py splits them)."""
    metrics, schedule = split_schedule(values)
    paths = output_paths(run, root)
    if schedule:
        paths["schedule"].parent.mkdir(parents=True, exist_ok=True)
        write_json(paths["schedule"], schedule)
    paths["metrics"].parent.mkdir(parents=True, exist_ok=True)
    write_json(paths["metrics"], metrics)


def write_histories(root: Path, run: str, *, train_loss: Sequence[float] | None = None,
                    val_step: Sequence[int] = (), val_loss: Sequence[float] = (),
                    val_accuracy: Sequence[float] = (), train_accuracy: Sequence[float] = ()) -> None:
    """Writes run ``run``'s validation history (one row per validation step) and, unless ``train_loss``
    is None, its training history (one row per step from 0)."""
    train_csv, validation_csv = history_csvs(
        [float(loss) for loss in (() if train_loss is None else train_loss)], [int(step) for step in val_step],
        [float(loss) for loss in val_loss], [float(value) for value in val_accuracy],
        [float(value) for value in train_accuracy])
    paths = output_paths(run, root)
    paths["validation_history"].parent.mkdir(parents=True, exist_ok=True)
    if train_loss is not None:
        write_text(paths["train_history"], train_csv)
    write_text(paths["validation_history"], validation_csv)


def write_weights(root: Path, run: str, weights: np.ndarray) -> None:
    """Writes ``weights`` as run ``run``'s ``models/<run>.npy``."""
    path = output_paths(run, root)["weights"]
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, weights)
    write_bytes(path, buffer.getvalue())
