"""A small synthetic project for the report stage's tests: params, the metrics, schedules, histories
and weights of every run (written through the train stage's writers, :mod:`support.synthetic_runs`),
MNIST-format files with the original's counts of 2s and 3s, and placeholder figures, in a temporary
folder (:func:`make_repo`, the ``repo`` fixture); and how the tests read the report.tex it renders."""

from __future__ import annotations

import copy
import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from mnist_report import figures, report
from mnist_report.common.files import write_json
from mnist_report.common.outputs import TRAIN_COLUMNS, VALIDATION_COLUMNS, output_paths
from mnist_report.config.params import check_params
from mnist_report.config.schema import load_params
from mnist_report.mnist import data
from mnist_report.reporting import latex, templates
from mnist_report.reporting.published import PUBLISHED
from support.paths import REPO
from support.synthetic_runs import write_histories, write_metrics, write_weights


TEMPLATES = REPO / "report" / "templates"


FIGURE_NAMES = ("2b_loss", "2b_accuracy", "2e_loss", "2e_accuracy", "3b_loss", "3c_accuracy",
                "4b_weights", "4c_val_accuracy", "4e_weight_norm")


TASK_HEADINGS = ("Task 1a", "Task 1b", "Task 2b", "Task 2c", "Task 2d", "Task 2e", "Task 3b", "Task 3c",
                 "Task 3d", "Task 4a", "Task 4b", "Task 4c", "Task 4d", "Task 4e")


NASTY = r"R&D 100% $5 #1 a_b {c} ~d ^e \f"


HAVE_TEX = all(shutil.which(tool) for tool in ("pdflatex", "pdftotext"))


needs_tex = pytest.mark.skipif(not HAVE_TEX, reason="pdflatex or pdftotext not installed")


PARAMS = {
    "defaults": {"task": "softmax", "classes": [2, 3], "learning_rate": 0.01, "epochs": 50, "batch_size": 128,
                 "shuffle": True, "early_stopping": True, "early_stopping_patience": 10, "validations_per_epoch": 5,
                 "l2_lambda": 0.0, "seed": 0},
    "runs": {
        "binary": {"task": "binary", "learning_rate": 0.05, "shuffle": False, "early_stopping": False},
        "binary_early_stopping": {"task": "binary", "learning_rate": 0.05, "shuffle": False},
        "binary_shuffled": {"task": "binary", "learning_rate": 0.05},
        "softmax": {},
        "softmax_lambda_1": {"l2_lambda": 1.0},
        "softmax_lambda_0_1": {"l2_lambda": 0.1},
        "softmax_lambda_0_01": {"l2_lambda": 0.01},
        "softmax_lambda_0_001": {"l2_lambda": 0.001},
    },
    "roles": {"2b": "binary", "2d": "binary_early_stopping", "2e_unshuffled": "binary_early_stopping",
              "2e_shuffled": "binary_shuffled", "3b": "softmax", "4b_top": "softmax", "4b_bottom": "softmax_lambda_1"},
    # Sections this stage does not read come from the project's params.yaml: every stage checks the whole file.
    "data": load_params(REPO / "params.yaml")["data"],
    "figures": load_params(REPO / "params.yaml")["figures"],
    "report": {"title": "TDT4265 Assignment 1", "authors": ["Ada Lovelace", "Alan Turing"],
               "reproduction_rtol": 1e-10, "loss_decimals": 4, "accuracy_decimals": 2, "provenance": "full"},
}


# Plausible final values: the published ones where the original printed them.
LAMBDA_RESULTS = {  # run -> (val_accuracy, train_accuracy, val_loss, weight_norm_squared)
    "softmax_lambda_0_001": (0.9150, 0.9215, 0.3010, 95.25),
    "softmax_lambda_0_01": (0.9102, 0.9160, 0.3302, 40.5),
    "softmax_lambda_0_1": (0.8950, 0.8990, 0.4301, 8.75),
    "softmax_lambda_1": (0.8421, 0.8405, 0.7402, 1.125),
}


def published_metrics(run: str) -> dict:
    """The values the original report printed for ``run``, as the train stage writes them."""
    return {key: (int(value) if key == "early_stop_epoch" else float(value)) for key, value in PUBLISHED[run].items()}


def fake_metrics() -> dict[str, dict]:
    """Run -> its final metrics and schedule: plausible values, the published ones where the original printed them."""
    base = {"train_loss": 0.07, "val_loss": 0.071, "train_accuracy": 0.975, "val_accuracy": 0.976,
            "early_stop_epoch": None, "steps": 1550, "weight_norm_squared": 2.5}
    metrics = {
        "binary": {**base, **published_metrics("binary")},
        "binary_early_stopping": {**base, "steps": 33 * 31 + 12, **published_metrics("binary_early_stopping")},
        "binary_shuffled": {**base, "val_accuracy": 0.9775, "steps": 16 * 31 + 4,
                            **published_metrics("binary_shuffled")},
        "softmax": {**base, "steps": 7800, "weight_norm_squared": 250.0, **published_metrics("softmax")},
    }
    for run, (val_accuracy, train_accuracy, val_loss, norm) in LAMBDA_RESULTS.items():
        metrics[run] = {**base, "val_accuracy": val_accuracy, "train_accuracy": train_accuracy, "val_loss": val_loss,
                        "train_loss": val_loss - 0.01, "steps": 7800, "weight_norm_squared": norm}
    # The schedule each train stage records (make_repo writes it to schedule.json): the binary runs' 4005 // 128 = 31 steps an epoch with the
    # validation every 6 steps of their histories (make_repo), the softmax runs' 20000 // 128 = 156
    # with every 31; the original's patience.
    for run in metrics:
        binary = run.startswith("binary")
        metrics[run].update({"steps_per_epoch": 31 if binary else 156, "validation_interval": 6 if binary else 31,
                             "early_stopping_patience": 10})
    return metrics


def write_png(path: Path, width: int = 48, height: int = 32) -> None:
    """Writes a small grey-gradient PNG (a placeholder figure) without any imaging library."""
    rows = b"".join(b"\x00" + bytes((x * 255 // width) for x in range(width)) for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def write_pdf(path: Path, width: float = 360, height: float = 274) -> None:
    """Writes a one-page PDF of ``width`` x ``height`` points holding a grey rectangle (a placeholder
    figure, as the report includes the figures' PDFs), its cross-reference table computed here."""
    content = f"0.6 g 0 0 {width} {height} re f".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R >>".encode(),
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))


def write_history(root: Path, run: str, steps: np.ndarray, val_loss: np.ndarray, val_accuracy: np.ndarray,
                  train_accuracy: np.ndarray) -> None:
    """Writes run ``run``'s validation history: one row per validation step."""
    write_histories(root, run, val_step=steps, val_loss=val_loss, val_accuracy=val_accuracy,
                    train_accuracy=train_accuracy)


def fake_labels(size: int, twos: int, threes: int) -> np.ndarray:
    """Returns ``size`` labels: ``twos`` 2s, ``threes`` 3s, the rest the other digits in turn."""
    others = np.array([0, 1, 4, 5, 6, 7, 8, 9], dtype=np.uint8)
    rest = np.resize(others, size - twos - threes)
    return np.concatenate([np.full(twos, 2, np.uint8), np.full(threes, 3, np.uint8), rest])


def make_repo(root: Path, params: dict | None = None, metrics: dict | None = None) -> dict:
    """Writes a fake repository under ``root``; returns its params."""
    params = copy.deepcopy(params or PARAMS)
    metrics = metrics or fake_metrics()
    rng = np.random.default_rng(0)
    for run, values in metrics.items():
        write_metrics(root, run, values)
    # Binary validation every 6 steps; the unshuffled run's loss has recurring upward spikes.
    for run, count, interval, spikes in (("binary", 260, 6, 0.004), ("binary_early_stopping", 175, 6, 0.004),
                                         ("binary_shuffled", 85, 6, 0.0)):
        steps = np.arange(count) * interval
        loss = 0.065 + 0.3 * np.exp(-steps / 100) + spikes * (np.arange(count) % 5 == 0)
        accuracy = 0.978 - 0.2 * np.exp(-steps / 100)
        write_history(root, run, steps, loss, accuracy, accuracy + 0.001)
    steps = np.arange(252) * 31
    val_accuracy = 0.9157 - 0.2 * np.exp(-steps / 800)  # still rising, but the training accuracy pulls ahead
    write_history(root, "softmax", steps, 0.29 + 0.5 * np.exp(-steps / 800),
                  val_accuracy, val_accuracy + 0.0068 * steps / steps[-1])
    # Weights: lambda = 0 speckled, lambda = 1 smooth blobs, ten digits each.
    yy, xx = np.mgrid[0:28, 0:28]
    smooth = np.stack([np.exp(-((yy - 8 - k) ** 2 + (xx - 10 - k) ** 2) / 40.0).ravel() for k in range(10)], axis=1)
    write_weights(root, "softmax", np.vstack([rng.normal(size=(784, 10)), np.zeros((1, 10))]))
    write_weights(root, "softmax_lambda_1", np.vstack([0.05 * smooth, np.zeros((1, 10))]))
    # Files in the MNIST format: as many labels as MNIST's, with as many 2s and 3s as the runs use (so
    # that an epoch of the binary task is 4005 // 128 = 31 steps), but only a few (blank) images.
    mnist = root / data.MNIST_DIR
    mnist.mkdir(parents=True, exist_ok=True)
    for spec, array in zip(data.MNIST_FILES, (np.zeros((40, 784)), fake_labels(data.TRAIN_SIZE, 2000, 2005),
                                              np.zeros((20, 784)), fake_labels(10000, 1032, 1010))):
        (mnist / spec.name).write_bytes(data.encode_idx(array, spec.magic))
    for name in FIGURE_NAMES:  # the shapes of the real figures: 5.0 x 3.8 inches, 4b 6.4 x 1.6
        write_png(root / "report/figures" / f"{name}.png", *((64, 16) if name == "4b_weights" else (50, 38)))
        write_pdf(root / "report/build/figures" / f"{name}.pdf", *((460.8, 115.2) if name == "4b_weights" else (360, 273.6)))
    # The other files the figures were drawn from: the report prints only their MD5 (tracing.py).
    for path in figures.input_paths(check_params(params, mathtext=True)):
        if not (root / path).exists():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            columns = TRAIN_COLUMNS if path.name == "train.csv" else VALIDATION_COLUMNS
            (root / path).write_text(",".join(columns) + "\n0" + ",0.5" * (len(columns) - 1) + "\n")
    return params


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict]:
    """(the folder, its params): :func:`make_repo` in the test's temporary directory."""
    return tmp_path, make_repo(tmp_path)


def unbroken(tex: str) -> str:
    """``tex`` without the line breaks the ``run`` filter puts into names and paths (latex.run), so that a
    test can look for ``\\texttt{binary\\_early\\_stopping}``."""
    return tex.replace(latex.NAME_BREAK, "").replace("/\\allowbreak{}", "/")


def render_repo(root: Path, params: dict) -> str:
    """report.tex rendered from the project at ``root`` with ``params`` (checked first)."""
    return templates.render(report.build_context(check_params(params), root), TEMPLATES)


def section(tex: str, task: str) -> str:
    """Returns the text of one task: from its heading to the next heading."""
    start = tex.index(f"\\task{{{task}}}")
    ends = [tex.find(marker, start + 1) for marker in ("\\task{", "\\appendixsection{")]
    return tex[start:min(end for end in ends if end > 0)]


def rewrite_metric(root: Path, run: str, **changes) -> None:
    """Changes the values ``changes`` of run ``run``'s metrics file, the others as they were."""
    path = output_paths(run, root)["metrics"]
    write_json(path, {**json.loads(path.read_text(encoding="utf-8")), **changes})



def change_the_numbers(root: Path, params: dict) -> dict:
    """Changes binary's and softmax's learning rates and every run's final numbers; returns the params."""
    params = copy.deepcopy(params)
    params["runs"]["binary"]["learning_rate"] = 0.07
    params["runs"]["softmax"]["learning_rate"] = 0.02
    for run in params["runs"]:
        values = json.loads((root / "metrics" / f"{run}.json").read_text())
        rewrite_metric(root, run, train_loss=values["train_loss"] * 0.97, val_loss=values["val_loss"] * 0.98,
                       val_accuracy=values["val_accuracy"] - 0.0011, weight_norm_squared=values["weight_norm_squared"] * 1.1)
    return params
