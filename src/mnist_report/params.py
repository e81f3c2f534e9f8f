"""Reads ``params.yaml`` and resolves each run's settings from ``defaults`` and its own entry."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

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


def _check_run(name: str, settings: dict[str, Any]) -> None:
    """Raises PipelineError naming ``runs.<name>.<key>`` for a setting of the wrong type or value."""

    def refuse(key: str, expected: str) -> None:
        raise PipelineError(f"runs.{name}.{key} = {settings[key]!r}: expected {expected}")

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
    if settings["batch_size"] < 1:
        refuse("batch_size", "an integer >= 1")
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
        _check_run(str(name), settings)
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
