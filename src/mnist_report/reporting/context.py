"""The context the report's Jinja2 templates insert (stage ``report``, which renders ``report/build/report.tex``).

Inputs: ``params.yaml`` (sections ``report``, ``defaults``, ``runs`` and ``roles``), every run's
``metrics/<run>.json``, the validation histories of the runs that Tasks 2 and 3 discuss, the final
weights of the two runs of Task 4b, the four MNIST IDX files (their sha256 go into the provenance
appendix), the figures' PNGs and the files they were drawn from (their MD5 go into the appendix's table
of figure sources: :mod:`mnist_report.reporting.tracing`) and the templates in ``report/templates/``.

This module reads those inputs and builds the context the templates insert: one entry per part of
the report (``setup``, ``task2``, ``task3``, ``task4``, ``reproduction``, ``git``...), each the facts
of its ``facts_*`` module. The rendering is :mod:`mnist_report.reporting.templates`; ``docs/architecture.md``
follows a fact from its file to its sentence.

Determinism: the .tex is a function of the declared inputs and of the versions requirements.lock
pins, the same bytes on every machine, except for the provenance block's git commit and
working-tree state, which are read when the stage runs (see :func:`mnist_report.reporting.provenance.git_state`:
the commit of the code, which committing a run's results leaves the same).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from mnist_report.common import outputs
from mnist_report.common.errors import PipelineError
from mnist_report.common.outputs import FIGURE_PDFS_DIR, FIGURES_DIR, TEX_PATH, VALIDATION_COLUMNS, output_paths
from mnist_report.config import layout
from mnist_report.config.figures import FIGURE_NAMES, print_width
from mnist_report.config.params import Params
from mnist_report.config.runs import lambda_sweep, sweep_differences
from mnist_report.mnist import data
from mnist_report.reporting.facts_runs import run_facts, run_table
from mnist_report.reporting.facts_task2 import early_stopping_facts, shuffling_facts, stopping_comparison
from mnist_report.reporting.facts_task3 import overfitting_facts, softmax_facts
from mnist_report.reporting.facts_task4 import roughness, sweep_entry, sweep_facts, task4_sweep, weights_facts
from mnist_report.reporting.latex import Tex, num
from mnist_report.reporting.provenance import data_facts, git_state, tool_versions
from mnist_report.reporting.reproduction import reproduction
from mnist_report.reporting.templates import TEMPLATE_DIR, Record
from mnist_report.reporting.tracing import figure_traces, traced_paths

#: The roles whose validation histories the text reads (Tasks 2b, 2e and 3d).
HISTORY_ROLES = ("2b", "2e_unshuffled", "2e_shuffled", "3b")
#: The roles whose final weights the text reads (Task 4b).
WEIGHT_ROLES = ("4b_top", "4b_bottom")


def figure_label(name: str) -> str:
    """Returns the LaTeX label of figure ``name``: ``2b_loss`` -> ``fig:2b-loss``."""
    return "fig:" + name.replace("_", "-")


def figure_facts(params: Params, root: Path, pdfs_dir: Path) -> dict[str, dict[str, Any]]:
    """Returns figure name -> what the templates' ``figure`` macro and the appendix print of it: its
    ``file`` (its name without extension: pdflatex takes the PDF of :data:`FIGURE_PDFS_DIR`, first on
    the graphics path, and the diff tool, which has only the committed PNGs, the PNG), print ``width`` (a fraction of the text width,
    :mod:`mnist_report.config.layout`) and ``label``, ``traced`` (whether its caption ends with the grey
    trace line: :func:`provenance_facts`), and its trace (:func:`mnist_report.reporting.tracing.figure_traces`:
    the ``stage`` that drew it, its ``runs``, the MD5 of its ``pdf`` and of its ``inputs``), and whether
    its caption names its runs one by one (``runs_listed``, :func:`mnist_report.config.layout.caption_lists`).
    The names are params.FIGURE_NAMES (letters, digits and ``_``): the file is LaTeX as it is."""
    traces = figure_traces(params, root, pdfs_dir)
    traced = provenance_facts(params.report.provenance)["trace_lines"]
    return {name: {"file": Tex(name), "width": num(print_width(name)),
                   "max_height": num(layout.MAX_PRINT_HEIGHT),
                   "label": figure_label(name), "traced": traced, "runs_listed": layout.caption_lists(traces[name]["runs"]),
                   **traces[name]} for name in FIGURE_NAMES}


def provenance_facts(setting: str) -> dict[str, bool]:
    """Returns what the report prints of where its results came from, by ``report.provenance``:
    ``trace_lines`` (a grey line under each figure's caption: the stage and runs that drew it) and
    ``digest_tables`` (Appendix B's tables of the MNIST files' SHA-256 and of every figure's and
    input's MD5), both for ``full``, neither for ``summary``. Appendix A (the reproduction) always prints."""
    full = setting == "full"
    return {"trace_lines": full, "digest_tables": full}


def graphics_path(tex_path: Path, *figure_dirs: Path) -> Tex:
    """Returns the figures' directories relative to the .tex's, in order, as ``\\graphicspath`` takes
    them: ``{figures/}{../figures/}``."""
    shown = []
    for figures_dir in figure_dirs:
        relative = Path(os.path.relpath(figures_dir, tex_path.parent)).as_posix().rstrip("/") + "/"
        if not re.fullmatch(r"[A-Za-z0-9./-]+", relative):  # inserted unescaped: LaTeX reads it as a path
            raise PipelineError(f"{figures_dir}: the figures' path from {tex_path.parent} ({relative}) "
                                "must be letters, digits, '.', '/' and '-' only")
        shown.append("{" + relative + "}")
    return Tex("".join(shown))


def build_context(params: Params, root: str | os.PathLike = ".", *,
                  tex_path: str | os.PathLike | None = None,
                  figures_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Returns everything the templates insert, read from ``root`` (the repository) and ``params``.

    ``tex_path`` and ``figures_dir`` (defaults ``root/report/build/report.tex`` and
    ``root/report/figures``) fix the relative path from the .tex to the figures. Raises
    PipelineError naming the file or params key that is missing or malformed.
    """
    root = Path(root)
    tex_path = Path(tex_path) if tex_path is not None else root / TEX_PATH
    figures_dir = Path(figures_dir) if figures_dir is not None else root / FIGURES_DIR
    pdfs_dir = root / FIGURE_PDFS_DIR
    settings = params.report
    number_format = {"loss_decimals": settings.loss_decimals, "accuracy_decimals": settings.accuracy_decimals}
    accuracy_decimals = number_format["accuracy_decimals"]
    runs, roles = params.runs, params.roles

    def metrics_of(run: str) -> Record:
        shown = output_paths(run)["metrics"]
        return Record(outputs.read_metrics(root / shown, str(shown)), str(shown), is_file=True)

    def schedule_of(run: str) -> Record:
        shown = output_paths(run)["schedule"]
        return Record(outputs.read_schedule(root / shown, str(shown)), str(shown), is_file=True)

    def history(run: str) -> dict[str, np.ndarray]:
        shown = output_paths(run)["validation_history"]
        return outputs.read_history(root / shown, VALIDATION_COLUMNS, str(shown))

    def weights(run: str) -> dict[str, Any]:
        shown = output_paths(run)["weights"]
        return {"run": run, "l2_lambda": runs[run].l2_lambda,
                "roughness": roughness(outputs.read_weights(root / shown, str(shown), data.SOFTMAX_WEIGHTS_SHAPE))}

    metrics = {run: metrics_of(run) for run in runs}
    schedules = {run: schedule_of(run) for run in runs}
    facts = data_facts(root / data.MNIST_DIR, data.MNIST_DIR.as_posix(), runs[roles["2b"]].classes)
    epoch_steps = {run: schedules[run]["steps_per_epoch"] for run in runs}
    # A run's facts hold its metrics and its schedule (the text states both: its patience, say).
    role_runs = {role: run_facts(run, runs[run], {**metrics[run], **schedules[run]}, number_format)
                 for role, run in roles.items()}
    sweep = [sweep_entry(entry["run"], runs[entry["run"]], metrics[entry["run"]], epoch_steps[entry["run"]])
             for entry in task4_sweep(runs)]
    histories = {role: history(roles[role]) for role in HISTORY_ROLES}
    intervals = {role: schedules[roles[role]]["validation_interval"] for role in HISTORY_ROLES}
    unshuffled, shuffled = roles["2e_unshuffled"], roles["2e_shuffled"]
    binary, softmax = role_runs["2b"], role_runs["3b"]
    return {
        "title": settings.title,
        "authors": list(settings.authors),
        "number_format": number_format,
        # The PDFs first: pdflatex looks for a figure's .pdf in every folder before its .png.
        "graphics_path": graphics_path(tex_path, pdfs_dir, figures_dir),
        "provenance": provenance_facts(settings.provenance),
        "figures": figure_facts(params, root, pdfs_dir),
        "data": facts,
        "setup": {
            "binary_validation_interval": intervals["2b"], "softmax_validation_interval": intervals["3b"],
            # The rule as Task 2d's run followed it; each run's own is in its facts (early_stopping_patience).
            "patience": schedules[roles["2d"]]["early_stopping_patience"],
            "positive_digit": binary["settings"].classes[0], "negative_digit": binary["settings"].classes[1],
            "runs": run_table(runs, roles, [entry["run"] for entry in sweep]),
        },
        "task2": {
            "binary": binary, "stopping": role_runs["2d"],
            "unshuffled": role_runs["2e_unshuffled"], "shuffled": role_runs["2e_shuffled"],
            "early_stopping": early_stopping_facts(binary, role_runs["2d"], accuracy_decimals),
            "stopping_comparison": stopping_comparison(role_runs["2e_unshuffled"], role_runs["2e_shuffled"],
                                                       accuracy_decimals),
            "shuffling": shuffling_facts(histories["2e_unshuffled"], histories["2e_shuffled"],
                                         max(epoch_steps[unshuffled], epoch_steps[shuffled]),
                                         intervals["2e_unshuffled"], histories["2b"], number_format["loss_decimals"]),
        },
        "task3": {
            "softmax": softmax, "binary": binary,
            **softmax_facts(softmax, binary, accuracy_decimals),
            "overfitting": overfitting_facts(histories["3b"], accuracy_decimals, number_format["loss_decimals"]),
        },
        "task4": {
            "weights": weights_facts(weights(roles["4b_top"]), weights(roles["4b_bottom"])),
            "sweep": sweep,
            # Settings other than lambda in which the runs of Task 4 differ: the text must say so.
            "sweep_differences": sweep_differences(runs, lambda_sweep(runs)),
            "sweep_facts": sweep_facts(sweep, accuracy_decimals),
        },
        "reproduction": reproduction(metrics, settings.reproduction_rtol),
        "git": git_state(root),
        "versions": tool_versions(),
    }


def input_paths(params: Params) -> list[str]:
    """Returns the files the stage reads besides params.yaml and the code: its DVC ``deps``."""
    runs, roles = params.runs, params.roles
    paths = {output_paths(run)[kind].as_posix() for run in runs for kind in ("metrics", "schedule")}
    paths |= {output_paths(roles[role])["validation_history"].as_posix() for role in HISTORY_ROLES}
    paths |= {output_paths(roles[role])["weights"].as_posix() for role in WEIGHT_ROLES}
    paths |= {f"{data.MNIST_DIR.as_posix()}/{spec.name}" for spec in data.MNIST_FILES}
    # The appendix of figure sources prints the MD5 of every figure's inputs and PNG.
    paths |= set(traced_paths(params))
    return sorted(paths) + [TEMPLATE_DIR.as_posix()]
