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
