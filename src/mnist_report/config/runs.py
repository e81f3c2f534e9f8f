"""``defaults`` and ``runs`` of params.yaml: the settings of a run, checked (:class:`Run`), run names,
the roles' runs, and the softmax runs of Task 4 ordered by lambda (:func:`lambda_sweep`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, model_validator

from mnist_report.common.errors import PipelineError
from mnist_report.config.roles import ROLES
from mnist_report.config.schema import Expect, Section, refuse_unless, shown, shown_value
from mnist_report.mnist.data import TRAIN_SIZE  # the largest training set a run can have

# --- runs ------------------------------------------------------------------------------------------

Digit = Annotated[StrictInt, Field(ge=0, le=9)]
#: The seeds np.random.RandomState (the shuffling generator of core/sgd.py) accepts: 0 <= seed < 2**32.
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


def resolve_runs(raw: Any) -> Any:
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
        return resolve_runs(raw)

    @classmethod
    def as_read(cls, raw: Any) -> Any:
        """``raw`` with each run overlaid on ``defaults`` (when it has ``runs``): what the fields read."""
        return resolve_runs(raw) if isinstance(raw, dict) and "runs" in raw else raw


def lambda_sweep(runs: Mapping[str, Run]) -> list[tuple[float, str]]:
    """Returns (l2_lambda, run) for every softmax run, by increasing l2_lambda (then name): the runs
    of Task 4 (figures 4c and 4e, tables and prose).

    Every softmax run takes part, so that adding one adds a curve and a point; where the runs differ
    in more than lambda, :func:`sweep_differences` says so and the report states it.
    """
    return sorted((float(settings.l2_lambda), name) for name, settings in runs.items() if settings.task == "softmax")


def sweep_differences(runs: dict[str, Run], sweep: list[tuple[float, str]]) -> dict[str, dict[str, Any]]:
    """Returns setting -> {run: value} for each setting other than l2_lambda in which the sweep's runs
    differ (empty when they differ in lambda alone, as in the original)."""
    keys = [key for key in RUN_KEYS if key != "l2_lambda"]
    return {key: {run: getattr(runs[run], key) for _, run in sweep} for key in keys
            if len({repr(getattr(runs[run], key)) for _, run in sweep}) > 1}


def check_role_names(roles: Any) -> None:
    """Raises PipelineError naming ``roles`` or ``roles.<role>`` unless ``roles`` maps exactly the roles
    of :data:`mnist_report.config.roles.ROLES` (to anything: :func:`check_roles` checks the runs)."""
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
    of :data:`mnist_report.config.roles.ROLES` names a run with the settings its task needs. ``roles`` has
    every role and no other (:func:`check_role_names`, which ``Params`` runs before its fields)."""
    for role, served in ROLES.items():
        run = roles[role]
        fits = [name for name, settings in runs.items()
                if all(getattr(settings, key) == value for key, value in served.requires.items())]
        if run not in fits:
            wanted = ", ".join(f"{key} = {value}" for key, value in served.requires.items())
            raise PipelineError(f"roles.{role} = {run!r}: expected a run of params runs with {wanted} "
                                f"({', '.join(fits) or 'there is none'})")
