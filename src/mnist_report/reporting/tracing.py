"""Traceable figures: the stage that drew each figure, the runs it shows, and the MD5 of every file it
was drawn from and of the PDF the report includes, so that a reader holding only the PDF can check a figure against the
repository (the caption's grey line and the appendix table of figure sources).

Which files each figure reads is :func:`mnist_report.config.figures.figure_inputs` (its runs follow ``roles``);
this module only digests them. The digest is the one ``dvc.lock`` records: DVC 3 (``hash: md5``)
records a file's MD5 of its bytes as they are (no line-ending normalisation), the value ``md5sum``
prints. Each input is an output of ``train@<run>``, under whose ``outs`` ``dvc.lock`` has it. The
figures stage declares ``report/build/figures`` (the PDFs) as one directory, so ``dvc.lock`` records
only its directory digest (``<md5>.dir``); the PDF's own MD5 is listed in DVC's cache object of that
directory and is what ``md5sum report/build/figures/<name>.pdf`` prints.

The report stage reads these files itself (they are its deps: ``metrics``, ``models``,
``report/figures``) rather than ``dvc.lock``, which DVC rewrites after every stage.
``tests/unit/reporting/test_tracing.py`` checks, after ``dvc repro``, that the report prints the MD5 ``dvc.lock`` records.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mnist_report.common.errors import PipelineError
from mnist_report.common.outputs import FIGURE_PDFS_DIR, figure_pdf
from mnist_report.config.figures import FIGURE_NAMES, figure_inputs, input_paths
from mnist_report.config.params import Params

#: The DVC stage that draws the figures (``dvc.yaml``; ``python -m mnist_report.figures``).
FIGURES_STAGE = "figures"


def train_stage(run: str) -> str:
    """Returns the DVC stage that writes the outputs of ``run``: ``train@<run>`` (dvc.yaml's foreach)."""
    return f"train@{run}"


def file_digest(path: str | Path, algorithm: str) -> str:
    """Returns the hex digest (``hashlib`` ``algorithm``: ``"sha256"``, ``"md5"``) of the bytes of
    ``path``, read in blocks of 1 MiB; OSError (FileNotFoundError included) is the caller's to name."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_md5(path: Path, shown: str, made_by: str) -> str:
    """Returns the MD5 (32 hex digits) of the bytes of ``path``; an error names the file as ``shown``
    and the stage ``made_by`` that should have written it."""
    try:
        return file_digest(path, "md5")
    except FileNotFoundError:
        raise PipelineError(f"{shown}: missing; expected the output of stage {made_by} (`dvc repro` makes it)") from None
    except OSError as error:
        raise PipelineError(f"{shown}: cannot read ({error.strerror or error})") from error


def figure_traces(params: Params, root: Path = Path("."),
                  figures_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Returns figure name (in the order of FIGURE_NAMES) -> what drew it and from what:

    ``stage``: :data:`FIGURES_STAGE`; ``runs``: the runs it shows, in the figure's order;
    ``pdf``: ``{"path", "md5"}`` of its PDF, the file the report includes; ``inputs``: ``{"path", "md5", "run", "stage"}`` for
    every file it was drawn from, by run in the figure's order. Paths are as in the repository
    (``metrics/history/binary/train.csv``); files are read under ``root``, the PDFs from ``figures_dir``
    (default ``root/report/build/figures``).
    """
    root = Path(root)
    figures_dir = root / FIGURE_PDFS_DIR if figures_dir is None else Path(figures_dir)
    traces = {}
    input_md5: dict[Path, str] = {}  # figures share inputs (a run's history): each file is read once

    def md5_of(path: Path, run: str) -> str:
        if path not in input_md5:
            input_md5[path] = file_md5(root / path, path.as_posix(), train_stage(run))
        return input_md5[path]

    for name, by_run in figure_inputs(params).items():
        shown = (FIGURE_PDFS_DIR / figure_pdf(name)).as_posix()
        traces[name] = {
            "stage": FIGURES_STAGE,
            "runs": list(by_run),
            "pdf": {"path": shown, "md5": file_md5(figures_dir / figure_pdf(name), shown, FIGURES_STAGE)},
            "inputs": [{"path": path.as_posix(), "run": run, "stage": train_stage(run),
                        "md5": md5_of(path, run)}
                       for run, paths in by_run.items() for path in paths],
        }
    return traces


def traced_paths(params: Params) -> list[str]:
    """Returns every file :func:`figure_traces` reads (each figure's inputs and its PDF), relative to
    the repository: deps of the stage that prints the traces."""
    return [path.as_posix() for path in input_paths(params)] + [
        (FIGURE_PDFS_DIR / figure_pdf(name)).as_posix() for name in FIGURE_NAMES]
