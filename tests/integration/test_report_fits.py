"""The report fits the page, or the pdf stage says where it does not: the tables that grow with ``runs``
break across pages and keep their columns on the page for any valid run name, and a LaTeX warning
that means content left the page fails the build with one line naming the table, figure or task.

The runs' outputs are made as the train stage writes them (outputs.history_csvs, files.write_json):
a few hundred runs without training one."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mnist_report import pdf
from mnist_report.common.files import write_json, write_text
from mnist_report.common.outputs import history_csvs, output_paths, split_schedule
from mnist_report.config.params import check_params
from mnist_report.reporting import pdflatex
from support.report_project import PARAMS, fake_metrics, make_repo, needs_tex, render_repo

#: The longest run name params.yaml accepts (params.RUN_NAME: 1 to 100 letters, digits, _ or -).
LONGEST_NAME = "L" * 60 + "_" + "x" * 38 + "9"


def write_run(root: Path, run: str, metrics: dict, steps: int = 40) -> None:
    """Writes a run's metrics and histories the way the train stage does."""
    paths = output_paths(run, root)
    step = np.arange(0, steps, 4)
    train_csv, validation_csv = history_csvs(
        np.linspace(0.6, 0.3, steps).tolist(), step.tolist(), np.linspace(0.6, 0.35, len(step)).tolist(),
        np.linspace(0.8, 0.9, len(step)).tolist(), np.linspace(0.8, 0.91, len(step)).tolist())
    write_text(paths["train_history"], train_csv)
    write_text(paths["validation_history"], validation_csv)
    metrics, schedule = split_schedule(metrics)
    write_json(paths["schedule"], schedule or {"steps_per_epoch": 31, "validation_interval": 6,
                                               "early_stopping_patience": 10})
    write_json(paths["metrics"], metrics)
    shutil.copy(root / "models/softmax_lambda_1.npy", paths["weights"])


def many_runs_repo(root: Path, count: int, extra: dict[str, dict] | None = None) -> dict:
    """The fake repository of test_report with ``count`` more runs, half binary, half softmax (each
    with its own lambda, so each adds a row to Table 1, to Task 4's table and to Appendix B)."""
    params = copy.deepcopy(PARAMS)
    metrics = fake_metrics()
    params = make_repo(root, params, metrics)
    runs = {f"extra_{'binary' if i % 2 else 'softmax'}_{i:04d}": (
        {"task": "binary", "learning_rate": 0.05} if i % 2 else {"l2_lambda": 0.5 + i * 1e-3}) for i in range(count)}
    runs.update(extra or {})
    for run, settings in runs.items():
        params["runs"][run] = settings
        write_run(root, run, dict(metrics["binary" if settings.get("task") == "binary" else "softmax_lambda_1"]))
    check_params(params)
    return params


def build(root: Path, params: dict) -> tuple[pdflatex.Compiled, str]:
    tex_path = root / "report/build/report.tex"
    tex_path.parent.mkdir(parents=True, exist_ok=True)
    tex_path.write_text(render_repo(root, params))
    compiled = pdf.compile_pdf(tex_path, root / "report/build/report.pdf")
    text = subprocess.run(["pdftotext", str(root / "report/build/report.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode()
    return compiled, text


@needs_tex
@pytest.mark.slow  # compiles a report of about 30 pages
def test_three_hundred_runs_all_reach_the_pdf(tmp_path):
    params = many_runs_repo(tmp_path, 300)
    compiled, text = build(tmp_path, params)
    assert compiled.overfull == []
    flat = "".join(text.split())
    # Every run's row in Table 1 and every softmax run's row in Task 4's table: its name twice at
    # least (three times for a softmax run, also in Appendix B), and the five softmax runs Tasks 3-4
    # are about, which a table taller than the page used to push out of the PDF with every float after it.
    for run in params["runs"]:
        expected = 3 if "softmax" in run else 1
        assert flat.count(run) >= expected, run
    for caption in ("Task 3b: cross-entropy loss", "Task 4c: validation accuracy", "Task 4e: squared L2 norm"):
        assert "".join(caption.split()) in flat
    assert "Table 1, continued" in text and "Table 7, continued" in text
    softmax_runs = sum(settings.get("task", "softmax") == "softmax" for settings in params["runs"].values())
    assert f"the {softmax_runs} values of" in " ".join(text.split())  # the 4c caption counts them, no list


@needs_tex
@pytest.mark.slow  # compiles the report
def test_the_longest_run_name_keeps_every_column_on_the_page(tmp_path):
    # The name serves Tasks 3b-3d and 4b, with the widest settings a realistic run has.
    extra = {LONGEST_NAME: {"l2_lambda": 0.000123, "learning_rate": 0.0125, "seed": 2**32 - 1, "batch_size": 19999,
                            "epochs": 10000, "early_stopping": False}}
    params = many_runs_repo(tmp_path, 0, extra)
    params["roles"].update({"3b": LONGEST_NAME, "4b_bottom": LONGEST_NAME})
    compiled, text = build(tmp_path, params)
    assert compiled.overfull == []
    flat = "".join(text.split())
    assert LONGEST_NAME in flat  # broken across lines, but all there
    assert "4294967295" in flat and "19999" in flat  # the last columns of its row in Table 1
