"""Where the stages write their outputs, and the outputs of ``train@<run>``: how they are written and
read back.

The figures and report stages read what the train stages write; keeping the writer and the one
reader of each format together keeps them in step (``docs/contracts.md`` describes the formats).
The paths of the figures, the .tex and the PDF are here too, so that no stage spells another's path.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnist_report.common.errors import PipelineError

if TYPE_CHECKING:
    import numpy as np
# numpy (and mnist_report.mnist.data, which imports it) are imported by the two readers that need them: the
# pdf stage and the diff tool import this module for paths only, and numpy would add 0.17 s to each start.

METRICS_DIR = Path("metrics")
MODELS_DIR = Path("models")
FIGURES_DIR = Path("report/figures")  # stage figures: <name>.png (dvc plots; git)
FIGURE_PDFS_DIR = Path("report/build/figures")  # stage figures: <name>.pdf (the report prints them; DVC's cache)
TEX_PATH = Path("report/build/report.tex")  # stage report
PDF_PATH = Path("report/build/report.pdf")  # stage pdf
TRAIN_COLUMNS = ("step", "train_loss")
VALIDATION_COLUMNS = ("step", "val_loss", "val_accuracy", "train_accuracy")

#: The keys of ``metrics/<run>.json`` -> what each must be: a finite number, a count (integer >= 0) or
#: an epoch (integer >= 0, or null when early stopping never ended the run). Only measurements: the
#: schedule the run followed is in its own file (:data:`SCHEDULE_KEYS`), so that `dvc metrics show` and
#: `dvc exp show` list results, not settings.
METRIC_KEYS = {
    "train_loss": "number", "val_loss": "number", "train_accuracy": "number", "val_accuracy": "number",
    "early_stop_epoch": "epoch", "steps": "count", "weight_norm_squared": "number",
}
#: The keys of ``metrics/history/<run>/schedule.json``: the training schedule the run followed
#: (core.sgd.final_metrics computes them), which the report states as the run followed it rather than
#: re-deriving it; each an integer >= 1.
SCHEDULE_KEYS = {"steps_per_epoch": "schedule", "validation_interval": "schedule", "early_stopping_patience": "schedule"}
#: What each kind of :data:`METRIC_KEYS` and :data:`SCHEDULE_KEYS` must be, as the error line says it.
METRIC_KINDS = {
    "number": "a finite number", "count": "an integer >= 0", "schedule": "an integer >= 1",
    "epoch": "a 0-based epoch (integer >= 0) or null",
}


def output_paths(run: str, root: Path = Path(".")) -> dict[str, Path]:
    """Returns the files ``train@<run>`` writes, by role, under ``root``."""
    return {
        "metrics": root / METRICS_DIR / f"{run}.json",
        "train_history": root / METRICS_DIR / "history" / run / "train.csv",
        "validation_history": root / METRICS_DIR / "history" / run / "validation.csv",
        "schedule": root / METRICS_DIR / "history" / run / "schedule.json",
        "weights": root / MODELS_DIR / f"{run}.npy",
    }


def figure_file(name: str) -> str:
    """Returns the file name of figure ``name``'s PNG in :data:`FIGURES_DIR` (what ``dvc plots`` shows):
    ``2b_loss`` -> ``2b_loss.png``."""
    return f"{name}.png"


def figure_pdf(name: str) -> str:
    """Returns the file name of figure ``name``'s vector PDF in :data:`FIGURE_PDFS_DIR`, the one the
    report prints: ``2b_loss`` -> ``2b_loss.pdf``."""
    return f"{name}.pdf"


def split_schedule(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Returns (metrics, schedule): ``values`` (core.sgd.final_metrics) split into the keys of
    :data:`METRIC_KEYS` and those of :data:`SCHEDULE_KEYS`; raises PipelineError for any other key."""
    unknown = sorted(set(values) - set(METRIC_KEYS) - set(SCHEDULE_KEYS))
    if unknown:
        raise PipelineError(f"core.sgd.final_metrics returned {', '.join(unknown)}: neither a metric nor a schedule key "
                            "(outputs.METRIC_KEYS, SCHEDULE_KEYS)")
    return ({key: values[key] for key in METRIC_KEYS if key in values},
            {key: values[key] for key in SCHEDULE_KEYS if key in values})


def read_metrics(path: Path, shown: str) -> dict[str, Any]:
    """Returns the metrics of one run (``metrics/<run>.json``), every key of :data:`METRIC_KEYS` checked;
    ``shown`` names the file in errors."""
    return read_checked(path, shown, METRIC_KEYS, "metrics")


def read_schedule(path: Path, shown: str) -> dict[str, Any]:
    """Returns the schedule one run followed (``metrics/history/<run>/schedule.json``), every key of
    :data:`SCHEDULE_KEYS` checked; ``shown`` names the file in errors."""
    return read_checked(path, shown, SCHEDULE_KEYS, "schedule")


def read_checked(path: Path, shown: str, keys: dict[str, str], what: str) -> dict[str, Any]:
    """Returns the JSON object of ``path`` with every key of ``keys`` (key -> kind of
    :data:`METRIC_KINDS`) present and of its kind; other keys are kept as they are."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{shown}: missing; expected the {what} of its train stage") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PipelineError(f"{shown}: not readable JSON ({error})") from error
    if not isinstance(values, dict):
        raise PipelineError(f"{shown}: expected a JSON object of {what}, got {type(values).__name__}")
    for key, kind in keys.items():
        if key not in values:
            # An older train stage's file (a key added since: the stage's code changed) or one edited
            # by hand (its hash changed): either way dvc reruns the stage.
            raise PipelineError(f"{shown}: missing {key!r}; expected {METRIC_KINDS[kind]}, as its train stage "
                                "writes it (`dvc repro` rewrites the file)")
        value = values[key]
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if kind == "number":
            ok = (is_int or isinstance(value, float)) and math.isfinite(value)
        elif kind == "count":
            ok = is_int and value >= 0
        elif kind == "schedule":
            ok = is_int and value >= 1
        else:
            ok = value is None or is_int and value >= 0
        if not ok:
            raise PipelineError(f"{shown}: {key!r} = {value!r}: expected {METRIC_KINDS[kind]}")
    return values


def history_csvs(train_loss: Sequence[float], val_step: Sequence[int], val_loss: Sequence[float],
                 val_accuracy: Sequence[float], train_accuracy: Sequence[float]) -> tuple[str, str]:
    """Returns (train.csv, validation.csv) text; floats in ``repr`` so that they read back exactly."""
    train_rows = [",".join(TRAIN_COLUMNS)] + [f"{s},{loss!r}" for s, loss in enumerate(train_loss)]
    val_rows = [",".join(VALIDATION_COLUMNS)] + [
        f"{s},{loss!r},{val_acc!r},{train_acc!r}"
        for s, loss, val_acc, train_acc in zip(val_step, val_loss, val_accuracy, train_accuracy, strict=True)]
    return "\n".join(train_rows) + "\n", "\n".join(val_rows) + "\n"


def read_history(path: Path, columns: Sequence[str], shown: str) -> dict[str, np.ndarray]:
    """Returns column name -> values (shape (n_rows,); ``step`` int64, the others float64) of a
    history CSV; ``shown`` names the file in errors.

    Raises PipelineError if the file is missing or empty, its header is not ``columns``, a value is not
    a finite number, or the steps are not strictly increasing integers >= 0.
    """
    import numpy as np

    try:
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file))
    except FileNotFoundError:
        raise PipelineError(f"{shown}: missing; expected the history its train stage writes") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise PipelineError(f"{shown}: cannot read ({error})") from error
    if not rows or rows[0] != list(columns):
        header = ",".join(rows[0]) if rows else "nothing"
        raise PipelineError(f"{shown}: header is {header!r}; expected {','.join(columns)!r}")
    if len(rows) == 1:
        raise PipelineError(f"{shown}: no rows after the header; expected one row per recorded step")
    values: list[list[float]] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(columns):
            raise PipelineError(f"{shown}: line {line} has {len(row)} values; expected {len(columns)}")
        try:
            numbers = [int(row[0])] + [float(value) for value in row[1:]]
        except ValueError:
            raise PipelineError(f"{shown}: line {line} = {','.join(row)!r}: expected an integer step "
                                "and numbers") from None
        if not all(math.isfinite(number) for number in numbers):
            raise PipelineError(f"{shown}: line {line} = {','.join(row)!r}: expected finite numbers")
        values.append(numbers)
    table = np.array(values, dtype=np.float64)
    history = {name: table[:, i] for i, name in enumerate(columns)}
    history["step"] = table[:, 0].astype(np.int64)
    if history["step"][0] < 0 or np.any(np.diff(history["step"]) <= 0):
        raise PipelineError(f"{shown}: steps are not increasing integers from >= 0")
    return history


def read_weights(path: Path, shown: str, shape: tuple[int, int]) -> np.ndarray:
    """Returns a run's final weights, of ``shape`` (785, outputs): a pixel's weight per row, the bias
    last; ``shown`` names the file in errors."""
    import numpy as np

    weight_rows, num_outputs = shape
    try:
        weights = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise PipelineError(f"{shown}: missing; expected the weights its train stage writes") from None
    except (OSError, ValueError) as error:
        raise PipelineError(f"{shown}: not a NumPy array file ({error})") from error
    if weights.shape != (weight_rows, num_outputs) or weights.dtype.kind != "f" or not np.all(np.isfinite(weights)):
        raise PipelineError(f"{shown}: {weights.dtype} array of shape {weights.shape}; expected "
                            f"finite floats of shape ({weight_rows}, {num_outputs})")
    return weights
