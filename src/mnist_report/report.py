"""Stage ``report``: renders ``report/build/report.tex`` from the Jinja2 LaTeX templates.

Inputs: ``params.yaml`` (sections ``report``, ``defaults``, ``runs`` and ``roles``), every run's ``metrics/<run>.json``, the validation histories of the runs that
Tasks 2e and 3d discuss, the final weights of the two runs of Task 4b, the four MNIST IDX files
(their sha256 go into the provenance appendix) and the templates in ``report/templates/``.

The templates use LaTeX-safe delimiters: ``\\VAR{...}`` inserts a value, ``\\BLOCK{...}`` is a
control statement, ``\\#{...}`` a comment. Every inserted string is escaped for LaTeX; a number
must go through a number filter (``loss``, ``acc``, ``pp``, ``num``, ``full``, ``sci``,
``fixed``, ``count``), so that its format is a decision of the template, never an accident of ``str``;
``Tex`` marks the few strings that are LaTeX already.

Rounding: a number is rounded half up from the decimal it is written as, the float's shortest
``repr`` (0.87745 prints as 87.75 %, like 0.92135 as 92.14 %, though the nearest binary double of
0.87745 lies just below the half), never from the binary double that ``format`` would round. The
prose compares and subtracts numbers as printed: ``acc_value`` and ``loss_value`` are the rounded
values, ``diff_pp(a, b)`` the difference of two accuracies as printed, in percentage points, so that
a stated difference is the difference of the two printed values and "equal" means printed equal.

An undefined name fails the stage with a message naming it (``metrics/softmax.json: missing
'val_loss'``), never an empty string.

Determinism: the .tex is a function of the declared inputs and of the environment's tool versions,
except for the provenance block's git commit and working-tree state, which are read when the stage
runs (see :func:`git_state`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import subprocess
import traceback
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import jinja2
import jinja2.utils
import numpy as np

from mnist_report import data, outputs
from mnist_report.errors import PipelineError, one_line_errors
from mnist_report.files import write_text
from mnist_report.outputs import VALIDATION_COLUMNS, output_paths
from mnist_report.params import (
    lambda_sweep, report_section, run_roles, run_settings, stage_params, sweep_differences,
)
from mnist_report.published import PUBLISHED, TASK_OF_RUN
from mnist_report.trainer import PATIENCE

TEMPLATE_DIR = Path("report/templates")
TEMPLATE = "report.tex.j2"
TEX_PATH = Path("report/build/report.tex")
FIGURES_DIR = Path("report/figures")

#: The keys of ``metrics/<run>.json`` (docs/contracts.md) -> what each must be.
METRIC_KEYS = {
    "train_loss": "number", "val_loss": "number", "train_accuracy": "number", "val_accuracy": "number",
    "early_stop_epoch": "epoch", "steps": "count", "weight_norm_squared": "number",
}

#: Paths the pipeline itself writes while ``dvc repro`` runs: a change there is a result, not a change
#: of the code or settings that produced it, so it does not make the working tree "modified".
#: ``.gitignore`` files are included because DVC appends its outputs to them.
PIPELINE_OUTPUTS = ("dvc.lock", "metrics", "models", "data", "report/figures", "report/build")
GIT_TIMEOUT_SECONDS = 30
SHOWN_CHANGES = 6



# ------------------------------------------------------------------------------------ escaping

class Tex(str):
    """A string that is LaTeX already: inserted as it is, where any other string is escaped."""


_LATEX_SPECIAL = {
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
}
_LATEX_SPECIAL_RE = re.compile(r"[&%$#_{}~^\\]|\s+")


def escape_latex(text: str) -> Tex:
    """Returns ``text`` as LaTeX that prints it: ``& % $ # _ { } ~ ^ \\`` escaped, whitespace runs
    (newlines included, which would end a paragraph or a table row) made one space."""
    return Tex(_LATEX_SPECIAL_RE.sub(lambda m: _LATEX_SPECIAL.get(m.group(), " "), text))


def _finalize(value: Any) -> str:
    """Turns every ``\\VAR{...}`` into LaTeX: Tex as it is, str escaped, int as digits; else refuses."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined: raises the UndefinedError that names what is missing
    if isinstance(value, Tex):
        return value
    if isinstance(value, str):
        return escape_latex(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PipelineError(f"the template inserts {type(value).__name__} {value!r} as it is; "
                        "format it with a filter (loss, acc, pp, num, full, sci, fixed, count, yesno)")


# -------------------------------------------------------------------------------- number filters

def _number(value: Any, filter_name: str) -> float:
    if isinstance(value, jinja2.Undefined):
        str(value)
    if isinstance(value, Decimal) and value.is_finite():
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PipelineError(f"filter {filter_name} expects a finite number, got {value!r}")
    return float(value)


def written(value: Any, filter_name: str = "fixed") -> Decimal:
    """Returns the decimal ``value`` is written as: an int or Decimal as it is, a float as its shortest
    round-trip ``repr`` (0.87745 -> Decimal('0.87745'), not the binary 0.8774499999999999...)."""
    _number(value, filter_name)
    if isinstance(value, Decimal):
        return value
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


def rounded(value: Any, decimals: int, filter_name: str = "fixed") -> Decimal:
    """Returns ``value`` rounded half up to ``decimals`` digits after the point, from :func:`written`
    (-0 made 0)."""
    result = written(value, filter_name).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return result if result != 0 else abs(result)


def percent_value(value: Any, decimals: int) -> Decimal:
    """A fraction as the percentage that :func:`percent` prints: 0.87745 -> Decimal('87.75')."""
    return rounded(written(value, "acc") * 100, decimals, "acc")


def _signed(text: str) -> Tex:
    """A true minus sign rather than a hyphen, in text or math mode."""
    return Tex(text.replace("-", r"\ensuremath{-}", 1) if text.startswith("-") else text)


def fixed(value: Any, decimals: int) -> Tex:
    """``value`` with ``decimals`` digits after the point, rounded half up (:func:`rounded`)."""
    return _signed(f"{rounded(value, decimals):.{decimals}f}")


def percent(value: Any, decimals: int) -> Tex:
    """A fraction as a percentage: 0.9157 -> ``91.57\\,\\%``."""
    return Tex(f"{percent_value(value, decimals):.{decimals}f}" + r"\,\%")


def points(value: Any, decimals: int) -> Tex:
    """The size of a difference in percentage points (no sign), e.g. of :func:`diff_pp`: -0.43 -> ``0.43``."""
    return Tex(f"{rounded(abs(written(value, 'pp')), decimals, 'pp'):.{decimals}f}")


def diff_pp(first: Any, second: Any, decimals: int) -> Decimal:
    """Returns ``first - second`` of two fractions in percentage points, as the difference of the two
    percentages as printed: 0.97928, 0.97894 -> Decimal('0.04') (97.93 - 97.89), not 0.03."""
    return percent_value(first, decimals) - percent_value(second, decimals)


SMALL_COUNTS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def count(value: Any) -> Tex:
    """A count in running text: a word from zero to nine, digits from 10 (3 -> ``three``, 12 -> ``12``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PipelineError(f"filter count expects an integer >= 0, got {value!r}")
    return Tex(SMALL_COUNTS[value] if value < len(SMALL_COUNTS) else str(value))


def sci(value: Any, digits: int = 2) -> Tex:
    """``value`` in scientific notation as math: 2.1e-13 -> ``$2.1\\times10^{-13}$``; 0 -> ``0``."""
    number = _number(value, "sci")
    if number == 0:
        return Tex("0")
    mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
    return Tex(f"\\ensuremath{{{mantissa}\\times10^{{{int(exponent)}}}}}")


def num(value: Any) -> Tex:
    """The shortest form of a setting, to 12 significant digits: 1.0 -> ``1``, 0.001 -> ``0.001``,
    1e-05 -> ``10^{-5}`` (in math), 1 - 2 * 0.01 -> ``0.98`` (not 0.9800000000000001),
    1 / (2 * 0.01 * 0.001) -> ``50000`` (not 49999.99999999999)."""
    number = _number(value, "num")
    if isinstance(value, int):
        return _signed(str(value))
    number = float(f"{number:.12g}")
    if number.is_integer() and abs(number) < 1e15:
        return _signed(str(int(number)))
    text = repr(number)
    if "e" not in text:
        return _signed(text)
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    return Tex(f"\\ensuremath{{{power}}}" if float(mantissa) == 1 else f"\\ensuremath{{{mantissa}\\times{power}}}")


def full(value: Any) -> Tex:
    """Every digit: the float's shortest round-trip ``repr`` (``0.06509106268432195``), or the int."""
    number = _number(value, "full")
    return _signed(str(value) if isinstance(value, int) else repr(number))


def yesno(value: Any) -> str:
    if not isinstance(value, bool):
        raise PipelineError(f"filter yesno expects true or false, got {value!r}")
    return "yes" if value else "no"


def setting(value: Any) -> Tex:
    """A run setting of any type as the text shows it: yes/no, a number (:func:`num`), a list of
    numbers, or an escaped string."""
    if isinstance(value, bool):
        return Tex(yesno(value))
    if isinstance(value, (int, float)):
        return num(value)
    if isinstance(value, list):
        return Tex(", ".join(setting(item) for item in value))
    return Tex(escape_latex(str(value)))


def path(value: Any) -> Tex:
    """A file path in typewriter type, escaped, which may break across lines after a ``/`` only."""
    text = tt(value)
    return Tex(text.replace("/", "/\\allowbreak{}"))


def tt(value: Any) -> Tex:
    """A name in typewriter type (run names, files, hashes), escaped."""
    if not isinstance(value, str):
        raise PipelineError(f"filter tt expects a string, got {value!r}")
    return Tex(r"\texttt{" + escape_latex(value) + "}")


# ---------------------------------------------------------------------------- undefined names

class Record(dict):
    """A mapping that knows where it came from, so that a missing key is reported against its source.

    ``where`` is a file (``metrics/softmax.json``) when ``is_file``, else the dotted name of the
    template variable (``shuffling``).
    """

    def __init__(self, values: dict, where: str, *, is_file: bool = False) -> None:
        super().__init__(values)
        self.where = where
        self.is_file = is_file


class _StrictUndefined(jinja2.StrictUndefined):
    """StrictUndefined whose message names the file or template variable that lacks the name."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if isinstance(obj, Record) and name is not None:
            return f"{obj.where}: missing {name!r}" if obj.is_file else f"template variable {obj.where}.{name} is undefined"
        if obj is jinja2.utils.missing and name is not None:
            return f"template variable {name!r} is undefined"
        return super()._undefined_message


def _as_records(value: Any, where: str) -> Any:
    """Returns ``value`` with every dict made a :class:`Record` named by its path in the context."""
    if isinstance(value, dict):
        items = {key: _as_records(item, f"{where}.{key}" if where else str(key)) for key, item in value.items()}
        if isinstance(value, Record):
            return Record(items, value.where, is_file=value.is_file)
        return Record(items, where or "context")
    if isinstance(value, (list, tuple)) and not isinstance(value, str):
        return [_as_records(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


# ------------------------------------------------------------------------------------ rendering

def make_environment(template_dir: str | os.PathLike, number_format: dict[str, int]) -> jinja2.Environment:
    """Returns the Jinja2 environment of the LaTeX templates in ``template_dir``."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_comment_prefix="%#",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=False, finalize=_finalize, undefined=_StrictUndefined,
    )
    loss_decimals, accuracy_decimals = number_format["loss_decimals"], number_format["accuracy_decimals"]
    environment.filters.update({
        "loss": lambda value: fixed(value, loss_decimals),
        "acc": lambda value: percent(value, accuracy_decimals),
        "pp": lambda value: points(value, accuracy_decimals),
        # The numbers as printed, for the template's comparisons (Decimal: print them with a filter).
        "loss_value": lambda value: rounded(value, loss_decimals, "loss_value"),
        "acc_value": lambda value: percent_value(value, accuracy_decimals),
        "fixed": fixed, "sci": sci, "num": num, "full": full, "yesno": yesno, "tt": tt, "path": path,
        "setting": setting, "count": count,
        "tex": lambda value: Tex(value),
    })
    environment.globals["diff_pp"] = lambda first, second: diff_pp(first, second, accuracy_decimals)
    return environment


@functools.lru_cache(maxsize=8)
def _environment(template_dir: str, loss_decimals: int, accuracy_decimals: int) -> jinja2.Environment:
    """:func:`make_environment`, kept between renders: Jinja2 compiles each template once and
    recompiles it when its file changes (``auto_reload``)."""
    return make_environment(template_dir, {"loss_decimals": loss_decimals, "accuracy_decimals": accuracy_decimals})


def _template_location(error: BaseException, template_dir: Path) -> str:
    """Returns where in the templates ``error`` happened: ``path:line``, innermost first, followed by
    the lines that called it (a macro's caller: ``macros.tex.j2:16 from task3.tex.j2:12``)."""
    if isinstance(error, jinja2.TemplateSyntaxError) and error.lineno:
        return f"{error.filename or error.name}:{error.lineno}"
    locations: list[str] = []
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if not frame.filename.endswith(".j2"):
            continue
        path = Path(frame.filename)
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
        location = f"{path if not locations else path.name}:{frame.lineno}"
        if location not in locations:
            locations.append(location)
    return " from ".join(locations[:2])


def render(context: dict[str, Any], template_dir: str | os.PathLike = TEMPLATE_DIR,
           template: str = TEMPLATE) -> str:
    """Returns the LaTeX of ``template`` in ``template_dir`` rendered with ``context``.

    ``context`` is what :func:`build_context` returns (its ``number_format`` sets the ``loss``,
    ``acc`` and ``pp`` filters). Raises PipelineError naming the template line and the culprit for an
    undefined name, an unformatted number, a template syntax error or a failing expression.
    """
    template_dir = Path(template_dir)
    number_format = context.get("number_format") or {"loss_decimals": 4, "accuracy_decimals": 2}
    environment = _environment(str(template_dir), number_format["loss_decimals"], number_format["accuracy_decimals"])
    try:
        text = environment.get_template(template).render(_as_records(context, ""))
    except jinja2.TemplateNotFound as error:
        raise PipelineError(f"{template_dir / error.name}: template not found") from error
    except jinja2.TemplateSyntaxError as error:
        raise PipelineError(f"{_template_location(error, template_dir)}: template syntax error: {error.message}") from error
    except (jinja2.UndefinedError, PipelineError, TypeError, ValueError, ArithmeticError, LookupError) as error:
        where = _template_location(error, template_dir)
        message = " ".join(str(error).split()) or type(error).__name__
        raise PipelineError(f"{message} (template {where})" if where else message) from error
    leftover = re.search(r"\\(VAR|BLOCK)\{|\\#\{", text)
    if leftover:  # e.g. a delimiter inside a string literal; never let template syntax reach LaTeX
        line = text.count("\n", 0, leftover.start()) + 1
        raise PipelineError(f"rendered report keeps template syntax {leftover.group()!r} at line {line}")
    return text


# -------------------------------------------------------------------------------------- inputs

def read_metrics(path: Path, shown: str) -> Record:
    """Returns the metrics of one run, checked against docs/contracts.md; ``shown`` names the file."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{shown}: missing; expected the metrics of its train stage") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PipelineError(f"{shown}: not readable JSON ({error})") from error
    if not isinstance(values, dict):
        raise PipelineError(f"{shown}: expected a JSON object of metrics, got {type(values).__name__}")
    for key, kind in METRIC_KEYS.items():
        if key not in values:
            raise PipelineError(f"{shown}: missing {key!r}")
        value = values[key]
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if kind == "number":
            ok = (is_int or isinstance(value, float)) and math.isfinite(value)
            expected = "a finite number"
        elif kind == "count":
            ok, expected = is_int and value >= 0, "an integer >= 0"
        else:
            ok, expected = value is None or is_int and value >= 0, "a 0-based epoch (integer >= 0) or null"
        if not ok:
            raise PipelineError(f"{shown}: {key!r} = {value!r}: expected {expected}")
    return Record(values, shown, is_file=True)


# ---------------------------------------------------------------------------------------- roles

def task4_sweep(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Returns the runs of Task 4 (:func:`mnist_report.params.lambda_sweep`) as records
    ``{"run", "l2_lambda"}`` by increasing lambda; Task 4 compares at least two of them."""
    sweep = [{"run": run, "l2_lambda": l2_lambda} for l2_lambda, run in lambda_sweep(runs)]
    if len(sweep) < 2:
        raise PipelineError("runs: Task 4 compares softmax runs that differ in l2_lambda; "
                            f"found {len(sweep)} softmax run(s)")
    return sweep


def tasks_of_runs(roles: dict[str, str], sweep: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Returns run -> the tasks of this report that use it (``2b, 2c``), for the table of runs."""
    uses: dict[str, list[str]] = {}
    for role, tasks in (("2b", ("2b", "2c")), ("2d", ("2d", "2e")), ("2e_unshuffled", ("2e",)),
                        ("2e_shuffled", ("2e",)), ("3b", ("3b", "3c", "3d")), ("4b_top", ("4b",)),
                        ("4b_bottom", ("4b",))):
        uses.setdefault(roles[role], []).extend(tasks)
    for entry in sweep:
        uses.setdefault(entry["run"], []).extend(("4c", "4d", "4e"))
    return {run: task_ranges(tasks) for run, tasks in uses.items()}


def task_ranges(tasks: Sequence[str]) -> str:
    """Returns tasks as ranges of consecutive letters: 3b, 3c, 3d, 4b, 4c -> ``3b--3d, 4b, 4c``."""
    ordered = sorted(set(tasks))
    runs: list[list[str]] = []
    for task in ordered:
        previous = runs[-1][-1] if runs else None
        if previous and previous[:-1] == task[:-1] and ord(task[-1]) == ord(previous[-1]) + 1:
            runs[-1].append(task)
        else:
            runs.append([task])
    return ", ".join(f"{run[0]}--{run[-1]}" if len(run) > 2 else ", ".join(run) for run in runs)


# ------------------------------------------------------------------------------------ analyses

def upward_moves(values: np.ndarray) -> tuple[float, int]:
    """Returns (sum of the increases, number of increases) between consecutive ``values`` (shape (n,))."""
    steps = np.diff(np.asarray(values, dtype=np.float64))
    rises = steps[steps > 0]
    return float(rises.sum()), int(rises.size)


def validation_interval(history: dict[str, np.ndarray]) -> int | None:
    """Returns the number of SGD steps between consecutive validations (the most common gap), or None."""
    gaps = np.diff(history["step"])
    if gaps.size == 0:
        return None
    values, counts = np.unique(gaps, return_counts=True)
    return int(values[np.argmax(counts)])


def roughness(weights: np.ndarray) -> float:
    """Returns how rough the weight images of ``weights`` (785, K) are: per class, the mean absolute
    difference between horizontally or vertically neighbouring pixels of its 28x28 image divided by
    the mean absolute weight of the image, averaged over the K classes (0 for a flat image).

    Dividing by the size of the weights makes it a property of the image's shape alone, comparable
    between a strong penalty's small weights and the large weights of no penalty.
    """
    side = data.IMAGE_SIDE
    tiles = np.asarray(weights, dtype=np.float64)[: side * side].T.reshape(-1, side, side)
    across = np.abs(np.diff(tiles, axis=2)).reshape(tiles.shape[0], -1)
    down = np.abs(np.diff(tiles, axis=1)).reshape(tiles.shape[0], -1)
    neighbour = np.concatenate([across, down], axis=1).mean(axis=1)
    size = np.abs(tiles).reshape(tiles.shape[0], -1).mean(axis=1)
    per_class = np.divide(neighbour, size, out=np.zeros_like(neighbour), where=size > 0)
    return float(per_class.mean())


def recurring_spikes(history: dict[str, np.ndarray], steps_per_epoch: int, interval: int) -> dict[str, Any] | None:
    """Returns where the largest upward moves of the validation loss recur, or None when they do not.

    Without shuffling, a batch that pushes the loss up does so at the same step of every epoch, but a
    validation (every ``interval`` steps) lands on that step of the epoch only every
    ``period = lcm(steps_per_epoch, interval)`` steps. Over the validations from epoch 1 on (epoch 0
    starts from zero weights), each upward move is put at the step of the later validation, and the
    moves are grouped by that step modulo ``period``. The spikes recur when, for the group with the
    largest total rise, the loss rose at every one of its (at least two) validations and those rises
    are the largest of the run: then ``steps`` lists them, ``share`` is their part of the total rise,
    ``epoch_step`` the step of the epoch (from 0) after which they come, and ``recovers`` says whether
    the loss fell again at the validation after each of them.
    """
    if steps_per_epoch < 1 or interval < 1:
        return None
    period = math.lcm(steps_per_epoch, interval)
    mask = history["step"] >= steps_per_epoch
    steps, losses = history["step"][mask], history["val_loss"][mask]
    if steps.size < 3:
        return None
    moves = np.diff(losses)
    rises = np.where(moves > 0, moves, 0.0)
    phases = steps[1:] % period
    totals = {int(phase): float(rises[phases == phase].sum()) for phase in np.unique(phases)}
    phase = max(totals, key=lambda key: (totals[key], -key))
    at_phase = phases == phase
    count_at_phase = int(at_phase.sum())
    if count_at_phase < 2 or not np.all(rises[at_phase] > 0):
        return None
    largest = np.argsort(-rises, kind="stable")[:count_at_phase]
    if set(largest.tolist()) != set(np.flatnonzero(at_phase).tolist()):
        return None
    after = np.flatnonzero(at_phase) + 1  # the move from each spike to the next validation
    after = after[after < moves.size]
    return {"steps": [int(step) for step in steps[1:][at_phase]], "period": period,
            "recovers": bool(after.size) and bool(np.all(moves[after] < 0)),
            "epochs_between": period // steps_per_epoch,
            "epoch_step": phase % steps_per_epoch, "share": totals[phase] / float(rises.sum()),
            "first_step": int(steps[0]), "last_step": int(steps[-1])}


def shuffling_facts(unshuffled: dict[str, np.ndarray], shuffled: dict[str, np.ndarray], steps_per_epoch: int,
                    plotted: dict[str, np.ndarray]) -> dict[str, Any]:
    """Returns how much the validation loss jumps upwards with and without shuffling: the spikes of Task 2e.

    The moves are counted between consecutive validations from the first validation of epoch 1
    (step >= ``steps_per_epoch``) to the last step both runs reached: in epoch 0 both runs start
    from zero weights and the loss swings widely, and taking the same batches every epoch cannot
    matter yet. ``in_figure`` says whether the unshuffled run's validation history is the start of
    ``plotted`` (the run of Figure 1), so that the text can point to the curve it measures.
    """
    last_step = int(min(unshuffled["step"][-1], shuffled["step"][-1]))

    def window(history: dict[str, np.ndarray]) -> np.ndarray:
        return (history["step"] >= steps_per_epoch) & (history["step"] <= last_step)

    loss_unshuffled, loss_shuffled = unshuffled["val_loss"][window(unshuffled)], shuffled["val_loss"][window(shuffled)]
    first_validation = int(unshuffled["step"][window(unshuffled)][0]) if loss_unshuffled.size else last_step
    rise_unshuffled, rises_unshuffled = upward_moves(loss_unshuffled)
    rise_shuffled, rises_shuffled = upward_moves(loss_shuffled)
    interval = validation_interval(unshuffled)
    length = len(unshuffled["step"])
    in_figure = len(plotted["step"]) >= length and all(
        np.array_equal(plotted[column][:length], unshuffled[column]) for column in VALIDATION_COLUMNS)
    return {
        "first_step": steps_per_epoch, "first_validation": first_validation, "last_step": last_step,
        "steps_per_epoch": steps_per_epoch,
        "rise_unshuffled": rise_unshuffled, "rises_unshuffled": rises_unshuffled,
        "rise_shuffled": rise_shuffled, "rises_shuffled": rises_shuffled,
        "validation_interval": interval,
        "spikes": recurring_spikes(unshuffled, steps_per_epoch, interval) if interval else None,
        "in_figure": in_figure, "unshuffled_last_step": int(unshuffled["step"][-1]),
    }


def overfitting_facts(history: dict[str, np.ndarray], decimals: int) -> dict[str, Any]:
    """Returns the trends of Task 3d over the second half of the recorded validations: the gap
    between training and validation accuracy then and at the last validation, the gains of both,
    where the validation loss was lowest, and the verdict: ``early`` (the gap widens while the
    validation accuracy still improves), ``overfits`` (the gap widens and the validation accuracy
    no longer improves) or ``none`` (the gap does not widen). The position of the lowest validation
    loss is reported but does not decide: with shuffled batches it moves by noise alone.

    Gaps and gains are in percentage points, differences of the accuracies as printed with
    ``decimals`` digits (:func:`diff_pp`), so that the verdict agrees with the numbers the text shows.
    """
    middle, last = len(history["step"]) // 2, len(history["step"]) - 1
    train, val, loss = history["train_accuracy"], history["val_accuracy"], history["val_loss"]
    best = int(np.argmin(loss))
    gap_middle, gap_last = diff_pp(train[middle], val[middle], decimals), diff_pp(train[last], val[last], decimals)
    val_gain = diff_pp(val[last], val[middle], decimals)
    if gap_last > gap_middle and val_gain > 0:
        verdict = "early"  # still improving on validation data, but more slowly than on training data
    elif gap_last > gap_middle:
        verdict = "overfits"  # better on the training data, no better on validation data
    else:
        verdict = "none"
    return {"verdict": verdict,
        "middle_step": int(history["step"][middle]), "last_step": int(history["step"][last]),
        "gap_middle": gap_middle, "gap_last": gap_last,
        "train_gain": diff_pp(train[last], train[middle], decimals), "val_gain": val_gain,
        "best_val_loss_step": int(history["step"][best]), "best_val_loss": float(loss[best]),
        "last_val_loss": float(loss[last]), "best_is_last": best == last,
        "validations_after_best": last - best,
    }


def strictly_monotonic(values: Sequence[Any], falling: bool) -> bool:
    """True when every value is below (``falling``) or above the one before it."""
    return all((b < a) if falling else (b > a) for a, b in zip(values, values[1:]))


def sweep_facts(sweep: list[dict[str, Any]], decimals: int) -> dict[str, Any]:
    """Returns the comparisons Tasks 4c to 4e make across lambda (sweep entries carry their metrics
    and :func:`sweep_entry` facts). Accuracies are compared as printed with ``decimals`` digits; of
    equal ones, the smallest lambda counts as the best and as the worst."""
    accuracies = [percent_value(entry["val_accuracy"], decimals) for entry in sweep]
    train_accuracies = [percent_value(entry["train_accuracy"], decimals) for entry in sweep]
    norms = [entry["weight_norm_squared"] for entry in sweep]
    best = sweep[max(range(len(sweep)), key=lambda i: (accuracies[i], -i))]
    worst = sweep[min(range(len(sweep)), key=lambda i: (accuracies[i], i))]
    stopped = [entry for entry in sweep if entry["early_stop_epoch"] is not None]
    decaying = [entry for entry in sweep if entry["decay_steps"] is not None]
    return {
        "accuracy_decreasing": strictly_monotonic(accuracies, falling=True),
        "accuracy_increasing": strictly_monotonic(accuracies, falling=False),
        "accuracy_constant": len(set(accuracies)) == 1,
        "train_accuracy_decreasing": strictly_monotonic(train_accuracies, falling=True),
        "norm_decreasing": strictly_monotonic(norms, falling=True),
        "best": best, "best_is_unregularised": best is sweep[0],
        "worst": worst,
        "norm_ratio": (sweep[0]["weight_norm_squared"] / sweep[-1]["weight_norm_squared"]
                       if sweep[-1]["weight_norm_squared"] > 0 else None),
        "stopped_early": stopped,
        "ran_to_the_end": [entry for entry in sweep if entry["early_stop_epoch"] is None],
        "full_steps": sorted({entry["full_steps"] for entry in sweep}),
        "decaying": decaying,
        "balanced": [entry for entry in decaying if entry["steps"] > entry["decay_steps"]],
        "unbalanced": [entry for entry in decaying if entry["steps"] <= entry["decay_steps"]],
    }


def sweep_entry(run: str, settings: dict[str, Any], metrics: dict[str, Any], steps_per_epoch: int) -> dict[str, Any]:
    """Returns what Task 4 shows of one run of the sweep: its final metrics, how long it trained
    (``full_steps`` = epochs x steps per epoch, the steps without early stopping) and
    ``decay_steps`` = 1 / (2 eta lambda), the time constant in steps of the weight decay
    (1 - 2 eta lambda)^t ~ exp(-2 eta lambda t), with ``decay_periods`` = steps / decay_steps
    (both None for lambda = 0)."""
    l2_lambda, learning_rate = float(settings["l2_lambda"]), float(settings["learning_rate"])
    decay = 2 * learning_rate * l2_lambda
    entry = {key: metrics[key] for key in ("val_accuracy", "train_accuracy", "val_loss", "weight_norm_squared",
                                             "steps", "early_stop_epoch")}
    entry.update({
        "run": run, "l2_lambda": l2_lambda, "learning_rate": learning_rate,
        "early_stopping": bool(settings["early_stopping"]), "epochs": int(settings["epochs"]),
        "full_steps": int(settings["epochs"]) * steps_per_epoch,
        "decay_steps": 1 / decay if decay > 0 else None,
        "decay_periods": metrics["steps"] * decay if decay > 0 else None,
    })
    return entry


# ---------------------------------------------------------------------------------- reproduction

QUANTITY_NAMES = {"train_loss": "training loss", "val_loss": "validation loss",
                  "train_accuracy": "training accuracy", "val_accuracy": "validation accuracy",
                  "early_stop_epoch": "early-stopping epoch"}


def reproduction(metrics: dict[str, dict[str, Any]], rtol: float) -> dict[str, Any]:
    """Returns the reproduction table: every published value beside this run's, with the relative
    difference ``|this - published| / |published|`` and whether it is within ``rtol``.

    A value this run lacks (an early stop that never happened: null) disagrees. Groups follow
    :data:`mnist_report.published.PUBLISHED`.
    """
    groups, count, mismatches = [], 0, 0
    for run, published_values in PUBLISHED.items():
        if run not in metrics:
            raise PipelineError(f"runs: missing {run!r}, whose values the original report published "
                                f"(Task {TASK_OF_RUN[run]})")
        rows = []
        for key, published_text in published_values.items():
            published = int(published_text) if key == "early_stop_epoch" else float(published_text)
            value = metrics[run][key]
            if value is None:
                relative, agrees = None, False
            else:
                difference = abs(float(value) - published)
                relative = difference / abs(published) if published != 0 else difference
                agrees = relative <= rtol
            count += 1
            mismatches += not agrees
            rows.append({"quantity": QUANTITY_NAMES.get(key, key), "key": key, "published": published_text,
                         "value": value, "relative": relative, "agrees": agrees})
        groups.append({"task": TASK_OF_RUN[run], "run": run, "rows": rows})
    return {"groups": groups, "count": count, "mismatches": mismatches, "rtol": rtol}


# ------------------------------------------------------------------------------------ provenance

def _git(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "--no-optional-locks", "-C", str(root), *arguments], capture_output=True,
                          timeout=GIT_TIMEOUT_SECONDS, check=False)


def git_state(root: Path) -> dict[str, Any]:
    """Returns the git commit checked out in ``root`` and whether the working tree differs from it.

    ``commit``: the full hash, or None with ``note`` saying why (no git, not a repository, no
    commit yet). ``modified``: True, False or None (unknown); ``changes``: the first changed paths
    and ``change_count``. Changes under :data:`PIPELINE_OUTPUTS` and to ``.gitignore`` files are
    ignored: the pipeline writes them itself during ``dvc repro``. Untracked files count (a new
    source file changes the code), except those git ignores.

    The commit is the one checked out when the stage runs; DVC does not rerun the stage for a new
    commit alone, so it is the commit of the last render, and a report rendered before committing
    its own changes shows the parent commit and "modified".
    """
    state: dict[str, Any] = {"commit": None, "note": "", "modified": None, "changes": [], "change_count": 0}
    if shutil.which("git") is None:
        state["note"] = "git is not installed"
        return state
    try:
        head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
        if head.returncode != 0:
            inside = _git(root, "rev-parse", "--is-inside-work-tree")
            if inside.returncode != 0:
                state["note"] = "not a git repository"
                return state
            state["note"] = "the repository has no commit yet"
        else:
            state["commit"] = head.stdout.decode().strip()
        excludes = [f":(exclude){path}" for path in PIPELINE_OUTPUTS] + [":(exclude,glob)**/.gitignore"]
        status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=normal", "--", ".", *excludes)
    except (OSError, subprocess.TimeoutExpired) as error:
        state["note"] = f"git failed ({error})"
        return state
    if status.returncode != 0:
        state["note"] = "git status failed: " + " ".join(status.stderr.decode(errors="replace").split())
        return state
    entries = status.stdout.decode(errors="replace").split("\0")
    paths, i = [], 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename or copy is followed by its source path
            i += 1
    state["modified"] = bool(paths)
    state["changes"] = sorted(paths)[:SHOWN_CHANGES]
    state["change_count"] = len(paths)
    return state


def tool_versions() -> list[dict[str, str]]:
    """Returns the versions of the tools that made the results: Python, its packages and TeX."""
    versions = [{"tool": "Python", "version": platform.python_version()}]
    for tool, package in (("NumPy", "numpy"), ("Matplotlib", "matplotlib"), ("Jinja2", "jinja2"),
                          ("DVC", "dvc")):
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        versions.append({"tool": tool, "version": version})
    versions.append({"tool": "TeX", "version": tex_version()})
    return versions


def tex_version() -> str:
    """Returns the first line of ``pdflatex --version``, or "not installed"."""
    if shutil.which("pdflatex") is None:
        return "not installed"
    try:
        result = subprocess.run(["pdflatex", "--version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    lines = result.stdout.decode(errors="replace").splitlines()
    return lines[0].strip() if result.returncode == 0 and lines else "not installed"


def data_facts(data_dir: Path, shown_dir: str, classes: Sequence[int]) -> dict[str, Any]:
    """Returns the sha256 of the four MNIST files (and whether each is the digest mnist_report.data
    expects), the sizes of the training and validation sets, all and binary (``classes``), and the
    number of training images of each digit (``train_digit_counts``, index = digit)."""
    files, labels = [], {}
    for spec in data.MNIST_FILES:
        path = data_dir / spec.name
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
        except FileNotFoundError:
            raise PipelineError(f"{shown_dir}/{spec.name}: missing; expected the MNIST files of the download stage") from None
        except OSError as error:
            raise PipelineError(f"{shown_dir}/{spec.name}: cannot read ({error.strerror or error})") from error
        files.append({"name": spec.name, "sha256": digest.hexdigest(), "expected": digest.hexdigest() == spec.sha256})
        if spec.magic == data.LABELS_MAGIC:
            labels[spec.name] = data.parse_idx(path.read_bytes(), spec.magic, f"{shown_dir}/{spec.name}")
    train = labels["train-labels-idx1-ubyte"][: data.TRAIN_SIZE]
    validation = labels["t10k-labels-idx1-ubyte"]
    first, second = classes

    def binary_count(values: np.ndarray) -> int:
        return int(np.count_nonzero((values == first) | (values == second)))

    return {"files": files, "all_expected": all(f["expected"] for f in files),
            "train_size": int(train.size), "val_size": int(validation.size),
            "binary_train_size": binary_count(train), "binary_val_size": binary_count(validation),
            "train_digit_counts": [int(n) for n in np.bincount(train.astype(np.int64), minlength=10)]}


def steps_per_epoch_of(settings: dict[str, Any], facts: dict[str, Any]) -> int:
    """Returns the SGD steps of one epoch of a run: its training set (all images, or those of its two
    ``classes`` for the binary task) // batch size, the last partial batch being dropped."""
    counts = facts["train_digit_counts"]
    size = (sum(counts[digit] for digit in set(settings["classes"])) if settings["task"] == "binary"
            else facts["train_size"])
    return size // int(settings["batch_size"])


# --------------------------------------------------------------------------------------- context

def build_context(params: dict[str, Any], root: str | os.PathLike = ".", *,
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
    settings = report_section(params)
    runs = run_settings(params)

    metrics = {run: read_metrics(root / output_paths(run)["metrics"], str(output_paths(run)["metrics"])) for run in runs}
    roles = run_roles(params, runs)
    facts = data_facts(root / data.MNIST_DIR, data.MNIST_DIR.as_posix(), runs[roles["2b"]]["classes"])
    epoch_steps = {run: steps_per_epoch_of(run_config, facts) for run, run_config in runs.items()}
    sweep = [sweep_entry(entry["run"], runs[entry["run"]], metrics[entry["run"]], epoch_steps[entry["run"]])
             for entry in task4_sweep(runs)]
    accuracy_decimals = settings["accuracy_decimals"]

    def history(run: str) -> dict[str, np.ndarray]:
        shown = output_paths(run)["validation_history"]
        return outputs.read_history(root / shown, VALIDATION_COLUMNS, str(shown))

    def weights(run: str) -> dict[str, Any]:
        shown = output_paths(run)["weights"]
        return {"run": run, "l2_lambda": float(runs[run]["l2_lambda"]),
                "roughness": roughness(outputs.read_weights(root / shown, str(shown)))}

    top, bottom = weights(roles["4b_top"]), weights(roles["4b_bottom"])
    low, high = sorted((top, bottom), key=lambda w: w["l2_lambda"])
    graphics_path = Path(os.path.relpath(figures_dir, tex_path.parent)).as_posix().rstrip("/") + "/"
    if not re.fullmatch(r"[A-Za-z0-9./-]+", graphics_path):  # inserted unescaped: LaTeX reads it as a path
        raise PipelineError(f"{figures_dir}: the figures' path from {tex_path.parent} ({graphics_path}) "
                            "must be letters, digits, '.', '/' and '-' only")
    return {
        "title": settings["title"],
        "authors": list(settings["authors"]),
        "number_format": {"loss_decimals": settings["loss_decimals"],
                          "accuracy_decimals": settings["accuracy_decimals"]},
        "graphics_path": Tex(graphics_path),
        "runs": runs,
        "metrics": metrics,
        "roles": roles,
        "uses": tasks_of_runs(roles, sweep),
        "patience": PATIENCE,
        "validation_interval": {run: validation_interval(history(run)) for run in (roles["2b"], roles["3b"])},
        "steps_per_epoch": epoch_steps,
        "shuffling": shuffling_facts(history(roles["2e_unshuffled"]), history(roles["2e_shuffled"]),
                                     max(epoch_steps[roles["2e_unshuffled"]], epoch_steps[roles["2e_shuffled"]]),
                                     history(roles["2b"])),
        "overfitting": overfitting_facts(history(roles["3b"]), accuracy_decimals),
        "weights": {"top": top, "bottom": bottom, "low": low, "high": high},
        "sweep": sweep,
        # Settings other than lambda in which the runs of Task 4 differ: the text must say so.
        "sweep_differences": sweep_differences(runs, lambda_sweep(runs)),
        "sweep_facts": sweep_facts(sweep, accuracy_decimals),
        "reproduction": reproduction(metrics, float(settings["reproduction_rtol"])),
        "data": facts,
        "git": git_state(root),
        "versions": tool_versions(),
    }


def input_paths(params: dict[str, Any]) -> list[str]:
    """Returns the files the stage reads besides params.yaml and the code: its DVC ``deps``."""
    runs = run_settings(params)
    roles = run_roles(params, runs)
    paths = {output_paths(run)["metrics"].as_posix() for run in runs}
    paths |= {output_paths(roles[role])["validation_history"].as_posix()
              for role in ("2b", "2e_unshuffled", "2e_shuffled", "3b")}
    paths |= {output_paths(roles[role])["weights"].as_posix() for role in ("4b_top", "4b_bottom")}
    paths |= {f"{data.MNIST_DIR.as_posix()}/{spec.name}" for spec in data.MNIST_FILES}
    return sorted(paths) + [TEMPLATE_DIR.as_posix()]


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    """Stage ``report``: renders report/build/report.tex from params.yaml, the metrics and the templates."""
    params = stage_params("python -m mnist_report.report", main.__doc__, argv, input_paths)
    if params is None:
        return 0
    text = render(build_context(params, "."), TEMPLATE_DIR)
    write_text(TEX_PATH, text)
    print(f"report: wrote {TEX_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
