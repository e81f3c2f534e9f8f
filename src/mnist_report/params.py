"""The schema of ``params.yaml``: every section's keys, types and allowed values, in one place.

Every stage starts with :func:`load_checked`, so that a bad value stops any stage before it writes
anything, with one line naming the key path, the value and what was expected. Sections: ``data``
(download), ``defaults`` and ``runs`` (training), ``roles`` (which run each task shows),
``figures`` and ``report``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from mnist_report.data import TRAIN_SIZE  # the largest training set a run can have
from mnist_report.errors import PipelineError

PARAMS_FILE = Path("params.yaml")

#: The settings of one run, with the type each must have.
RUN_KEYS: dict[str, type | tuple[type, ...]] = {
    "task": str,
    "classes": list,
    "learning_rate": (int, float),
    "epochs": int,
    "batch_size": int,
    "shuffle": bool,
    "early_stopping": bool,
    "l2_lambda": (int, float),
    "seed": int,
}
TASKS = ("binary", "softmax")
SECTIONS = ("data", "defaults", "runs", "roles", "figures", "report")


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """Returns the parsed ``params.yaml`` as a dict."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PipelineError(f"{path}: cannot read ({error.strerror or error})") from error
    try:
        params = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PipelineError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from error
    if not isinstance(params, dict):
        raise PipelineError(f"{path}: expected a mapping of sections, got {type(params).__name__}")
    return params


def _check_run(name: str, settings: dict[str, Any], own: dict[str, Any]) -> None:
    """Raises PipelineError for a setting of the wrong type or value, naming where it was written:
    ``runs.<name>.<key>``, or ``defaults.<key>`` (for run <name>) when the run inherits it."""

    def refuse(key: str, expected: str) -> None:
        where = f"runs.{name}.{key}" if key in own else f"defaults.{key} (in run {name})"
        raise PipelineError(f"{where} = {settings[key]!r}: expected {expected}")

    for key, kind in RUN_KEYS.items():
        value = settings[key]
        # bool is an int in Python; a run setting is never meant to be both.
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            refuse(key, f"a value of type {names}")
    if settings["task"] not in TASKS:
        refuse("task", "one of " + ", ".join(TASKS))
    classes = settings["classes"]
    if (len(classes) != 2 or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 9 for c in classes)
            or classes[0] == classes[1]):
        refuse("classes", "two different digits from 0 to 9")
    if not math.isfinite(settings["learning_rate"]) or settings["learning_rate"] <= 0:
        refuse("learning_rate", "a finite number > 0")
    if settings["epochs"] < 1:
        refuse("epochs", "an integer >= 1")
    if not 1 <= settings["batch_size"] <= TRAIN_SIZE:
        refuse("batch_size", f"an integer from 1 to the {TRAIN_SIZE} training images")
    if not math.isfinite(settings["l2_lambda"]) or settings["l2_lambda"] < 0:
        refuse("l2_lambda", "a finite number >= 0")
    if settings["seed"] < 0:
        refuse("seed", "an integer >= 0")


def run_settings(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Returns run name -> its complete settings (``defaults`` overlaid with the run's own keys).

    Raises PipelineError naming the key path for an unknown key, a missing section, or a value of
    the wrong type or out of range.
    """
    defaults = params.get("defaults")
    runs = params.get("runs")
    if not isinstance(defaults, dict):
        raise PipelineError(f"defaults = {defaults!r}: expected a mapping of run settings")
    if not isinstance(runs, dict) or not runs:
        raise PipelineError(f"runs = {runs!r}: expected a mapping of run name to settings")
    for key in defaults:
        if key not in RUN_KEYS:
            raise PipelineError(f"defaults.{key}: unknown setting; expected one of {', '.join(RUN_KEYS)}")
    missing = [key for key in RUN_KEYS if key not in defaults]
    if missing:
        raise PipelineError(f"defaults: missing {', '.join(missing)}")
    resolved = {}
    for name, own in runs.items():
        if own is None:
            own = {}
        if not isinstance(own, dict):
            raise PipelineError(f"runs.{name} = {own!r}: expected a mapping of settings")
        for key in own:
            if key not in RUN_KEYS:
                raise PipelineError(f"runs.{name}.{key}: unknown setting; expected one of {', '.join(RUN_KEYS)}")
        settings = {**defaults, **own}
        _check_run(str(name), settings, own)
        resolved[str(name)] = settings
    return resolved


#: The report's roles: role -> what its run must be for the text and figures of that task to hold.
ROLE_REQUIREMENTS: dict[str, dict[str, Any]] = {
    "2b": {"task": "binary"},                                              # Tasks 2b, 2c
    "2d": {"task": "binary", "early_stopping": True},                      # Task 2d
    "2e_unshuffled": {"task": "binary", "shuffle": False, "early_stopping": True},
    "2e_shuffled": {"task": "binary", "shuffle": True, "early_stopping": True},
    "3b": {"task": "softmax"},                                             # Tasks 3b-3d
    "4b_top": {"task": "softmax"},                                         # Task 4b, top row
    "4b_bottom": {"task": "softmax"},                                      # Task 4b, bottom row
}


def run_roles(params: dict[str, Any], runs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Returns role -> run name from the ``roles`` section, the one place that says which run each
    task of the report (and its figure) uses.

    Raises PipelineError naming ``roles.<role>``, the value and what was expected for a missing or
    unknown role, a run that does not exist, or a run whose settings the task cannot describe.
    """
    roles = params.get("roles")
    if not isinstance(roles, dict):
        raise PipelineError(f"roles = {roles!r}: expected a mapping of {', '.join(ROLE_REQUIREMENTS)} to run names")
    for role in roles:
        if role not in ROLE_REQUIREMENTS:
            raise PipelineError(f"roles.{role}: unknown role; expected one of {', '.join(ROLE_REQUIREMENTS)}")
    for role, required in ROLE_REQUIREMENTS.items():
        if role not in roles:
            raise PipelineError(f"roles: missing {role}")
        run = roles[role]
        fits = [name for name, settings in runs.items() if required.items() <= settings.items()]
        if run not in fits:
            wanted = ", ".join(f"{key} = {value}" for key, value in required.items())
            raise PipelineError(f"roles.{role} = {run!r}: expected a run of params runs with {wanted} "
                                f"({', '.join(fits) or 'there is none'})")
    return {role: roles[role] for role in ROLE_REQUIREMENTS}


def lambda_sweep(runs: dict[str, dict[str, Any]]) -> list[tuple[float, str]]:
    """Returns (l2_lambda, run) for every softmax run, by increasing l2_lambda (then name): the runs
    of Task 4 (figures 4c and 4e, tables and prose).

    Every softmax run takes part, so that adding one adds a curve and a point; where the runs differ
    in more than lambda, :func:`sweep_differences` says so and the report states it.
    """
    return sorted((float(settings["l2_lambda"]), name) for name, settings in runs.items()
                  if settings["task"] == "softmax")


def sweep_differences(runs: dict[str, dict[str, Any]], sweep: list[tuple[float, str]]) -> dict[str, dict[str, Any]]:
    """Returns setting -> {run: value} for each setting other than l2_lambda in which the sweep's runs
    differ (empty when they differ in lambda alone, as in the original)."""
    keys = [key for key in RUN_KEYS if key != "l2_lambda"]
    return {key: {run: runs[run][key] for _, run in sweep} for key in keys
            if len({repr(runs[run][key]) for _, run in sweep}) > 1}



# --- data ------------------------------------------------------------------------------------------

def data_section(params: dict[str, Any]) -> tuple[list[str], float]:
    """Returns (sources, timeout in seconds) from the ``data`` section."""
    data = params.get("data")
    if not isinstance(data, dict):
        raise PipelineError(f"data = {data!r}: expected a mapping with sources and timeout_seconds")
    for key in data:
        if key not in ("sources", "timeout_seconds"):
            raise PipelineError(f"data.{key}: unknown key; expected sources or timeout_seconds")
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        raise PipelineError(f"data.sources = {sources!r}: expected a non-empty list of URLs or 'pypi:<requirement>'")
    timeout = data.get("timeout_seconds")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
        raise PipelineError(f"data.timeout_seconds = {timeout!r}: expected a number of seconds in (0, 600]")
    return sources, float(timeout)


# --- figures ---------------------------------------------------------------------------------------

_STEP_FIGURE = ("y_label", "y_limits", "legend")
#: Figure name (its file is ``report/figures/<name>.png``) -> the keys of ``figures.<name>``.
FIGURE_KEYS = {
    "2b_loss": _STEP_FIGURE, "2b_accuracy": _STEP_FIGURE,
    "2e_loss": _STEP_FIGURE, "2e_accuracy": _STEP_FIGURE,
    "3b_loss": _STEP_FIGURE, "3c_accuracy": _STEP_FIGURE,
    "4b_weights": ("size_inches", "row_label"),
    "4c_val_accuracy": _STEP_FIGURE,
    "4e_weight_norm": ("x_label", "y_label", "y_scale", "legend"),
}
FIGURE_NAMES = tuple(FIGURE_KEYS)
_GENERAL_FIGURE_KEYS = ("size_inches", "dpi", "font_size", "loss_block_steps", "steps_label")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any, low: int, high: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)


def _is_labels(count: int) -> Callable[[Any], bool]:
    return lambda value: (isinstance(value, list) and len(value) == count
                          and all(isinstance(v, str) for v in value))


#: key -> (test of its value, what is expected). Labels are ``str.format`` templates (see params.yaml).
_FIGURE_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "size_inches": (lambda v: _is_pair(v) and min(v) > 0, "[width, height] in inches, both > 0"),
    "dpi": (lambda v: _is_int(v, 1), "an integer > 0"),
    "font_size": (lambda v: _is_number(v) and v > 0, "a number of points > 0"),
    "loss_block_steps": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "steps_label": (lambda v: isinstance(v, str), "a string"),
    "x_label": (lambda v: isinstance(v, str), "a string"),
    "y_label": (lambda v: isinstance(v, str), "a string"),
    "row_label": (lambda v: isinstance(v, str), "a string"),
    "y_limits": (lambda v: v is None or _is_pair(v) and v[0] < v[1],
                 "null (automatic) or [low, high] with low < high"),
    "y_scale": (lambda v: v in ("linear", "log"), "linear or log"),
    "legend": (_is_labels(2), "a list of two labels"),
}
#: 4c has one curve per lambda run: its legend is one template with {l2_lambda} (and {run}).
_FIGURE_CHECKS_OF = {"4c_val_accuracy": {**_FIGURE_CHECKS, "legend": (
    lambda v: isinstance(v, str), "one label template such as 'lambda = {l2_lambda:g}'")}}


def _check_section(section: Any, path: str, keys: Sequence[str], checks: dict) -> dict[str, Any]:
    """Returns ``section`` once it is a mapping holding exactly ``keys``, each passing its check."""
    if not isinstance(section, dict):
        raise PipelineError(f"{path} = {section!r}: expected a mapping with keys {', '.join(keys)}")
    for key in section:
        if key not in keys:
            raise PipelineError(f"{path}.{key}: unknown key; expected one of {', '.join(keys)}")
    for key in keys:
        if key not in section:
            raise PipelineError(f"{path}: missing {key}")
        test, expected = checks[key]
        if not test(section[key]):
            raise PipelineError(f"{path}.{key} = {section[key]!r}: expected {expected}")
    return section


def figures_section(params: dict[str, Any]) -> dict[str, Any]:
    """Returns the checked ``figures`` section."""
    anything = (lambda v: True, "")  # checked below, as a section
    figures = _check_section(params.get("figures"), "figures", _GENERAL_FIGURE_KEYS + FIGURE_NAMES,
                             {**_FIGURE_CHECKS, **dict.fromkeys(FIGURE_NAMES, anything)})
    for name, keys in FIGURE_KEYS.items():
        _check_section(figures[name], f"figures.{name}", keys, _FIGURE_CHECKS_OF.get(name, _FIGURE_CHECKS))
    return figures


# --- report ----------------------------------------------------------------------------------------

_REPORT_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "title": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string"),
    "authors": (lambda v: isinstance(v, list) and v != [] and all(isinstance(a, str) and a.strip() for a in v),
                "a non-empty list of non-empty strings"),
    "reproduction_rtol": (lambda v: _is_number(v) and v >= 0,
                          "a finite number >= 0 (relative difference allowed against the published values)"),
    "loss_decimals": (lambda v: _is_int(v, 1, 17), "an integer from 1 to 17"),
    "accuracy_decimals": (lambda v: _is_int(v, 0, 15), "an integer from 0 to 15 (decimals of a percentage)"),
}


def report_section(params: dict[str, Any]) -> dict[str, Any]:
    """Returns the checked ``report`` section."""
    return _check_section(params.get("report"), "report", tuple(_REPORT_CHECKS), _REPORT_CHECKS)


# --- the whole file --------------------------------------------------------------------------------

def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """Returns ``params`` once every section passes its checks; raises PipelineError naming the first
    key path that does not, its value and what was expected."""
    for section in params:
        if section not in SECTIONS:
            raise PipelineError(f"{section}: unknown section of params.yaml; expected {', '.join(SECTIONS)}")
    data_section(params)
    runs = run_settings(params)
    run_roles(params, runs)
    if not lambda_sweep(runs):
        raise PipelineError("runs: no softmax run; Task 4 (figures 4c, 4e) compares the softmax runs")
    figures_section(params)
    report_section(params)
    return params


def load_checked(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """Returns ``params.yaml`` parsed and checked: what every stage reads before doing anything."""
    return check_params(load_params(path))


def stage_params(prog: str, description: str, argv: Sequence[str] | None,
                 input_paths: Callable[[dict[str, Any]], Sequence[Any]]) -> dict[str, Any] | None:
    """Parses a reading stage's command line and returns the checked ``params.yaml``; with
    ``--list-deps`` prints the files the stage reads (``input_paths(params)``, its DVC deps besides
    the code), one a line, and returns None."""
    import argparse  # only the stages' command lines need it

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--list-deps", action="store_true",
                        help="print the files the stage reads (its DVC deps besides the code), one a line, and exit")
    arguments = parser.parse_args(argv)
    params = load_checked(PARAMS_FILE)
    if arguments.list_deps:
        print("\n".join(str(path) for path in input_paths(params)))
        return None
    return params
