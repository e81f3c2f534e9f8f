"""The one registry of the report's figures (:data:`FIGURES`): for each, the model of its settings in
``params.yaml`` (``figures.<name>``), the runs it shows and the outputs of theirs it reads, the width
at which the report prints it, the fields its label templates are filled with, and the template
that places it. Everything else about a figure is read from here:

- the ``figures`` section's model (:class:`Figures`, one field per entry) and its label check
  (:func:`check_labels`);
- the files each figure reads (:func:`figure_inputs`): the figures stage's DVC deps, and the
  report's captions and appendix of figure sources;
- its print width (the report's ``figure`` macro, and the legibility check of the figures stage);
- its drawing: :mod:`mnist_report.plotting.recipes` has one recipe per entry.

Adding a figure is an entry here, its settings in params.yaml, its recipe and its place in the
template the entry names (``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Protocol

from pydantic import Field, StrictFloat, StrictInt, StrictStr, create_model

from mnist_report.common.outputs import output_paths
from mnist_report.config.runs import Run, lambda_sweep
from mnist_report.config.schema import Expect, Section, refuse_unless
from mnist_report.config.texts import check_label

# --- the settings of a figure ----------------------------------------------------------------------

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

    legend: Annotated[StrictStr, Expect("one label template such as 'lambda = {l2_lambda:g}'")]  # type: ignore[assignment]


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


# --- the registry ----------------------------------------------------------------------------------

#: A figure's ``shows`` that is no list of roles: every softmax run, ordered by lambda (:func:`lambda_sweep`).
SWEEP: Final = "sweep"
#: The width at which most figures print, as a fraction of the text width.
PRINT_WIDTH = 0.66
#: The fields of a legend template of a figure against the step (and of 4e): ``{block_steps}``.
BLOCK_FIELDS: dict[str, tuple[str, ...]] = {"legend": ("block_steps",)}


@dataclass(frozen=True)
class FigureEntry:
    """One figure of the report. Its files are ``report/figures/<name>.png`` and
    ``report/build/figures/<name>.pdf``; its settings are ``figures.<name>`` of params.yaml."""

    name: str
    #: The model of ``figures.<name>``.
    settings: type[Section]
    #: The roles whose runs it shows, in order, or :data:`SWEEP`.
    shows: tuple[str, ...] | Literal["sweep"]
    #: The outputs of each run's train stage it reads (keys of :func:`~mnist_report.common.outputs.output_paths`).
    reads: tuple[str, ...]
    #: The template (``report/templates/``) that places it, with the ``figure`` macro.
    template: str
    #: The fraction of the text width at which it prints.
    print_width: float = PRINT_WIDTH
    #: Label key (a field of ``settings``) -> the fields its template is filled with; a label not
    #: listed here is plain text.
    label_fields: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(BLOCK_FIELDS))
    #: Whether it is drawn at its own ``size_inches`` (else at ``figures.size_inches``).
    own_size: bool = False


_BOTH = ("train_history", "validation_history")
_RUN_FIELDS = ("l2_lambda", "run")

#: The report's figures, in the order of params.yaml (and of the report).
FIGURES: tuple[FigureEntry, ...] = (
    FigureEntry("2b_loss", StepFigure, ("2b",), _BOTH, "task2.tex.j2"),
    FigureEntry("2b_accuracy", StepFigure, ("2b",), ("validation_history",), "task2.tex.j2"),
    FigureEntry("2e_loss", StepFigure, ("2e_unshuffled", "2e_shuffled"), ("train_history",), "task2.tex.j2"),
    FigureEntry("2e_accuracy", StepFigure, ("2e_unshuffled", "2e_shuffled"), ("validation_history",), "task2.tex.j2"),
    FigureEntry("3b_loss", StepFigure, ("3b",), _BOTH, "task3.tex.j2"),
    FigureEntry("3c_accuracy", StepFigure, ("3b",), ("validation_history",), "task3.tex.j2"),
    # The weight images span the text width; their row label names the run and its lambda.
    FigureEntry("4b_weights", WeightsFigure, ("4b_top", "4b_bottom"), ("weights",), "task4.tex.j2",
                print_width=1.0, label_fields={"row_label": _RUN_FIELDS}, own_size=True),
    FigureEntry("4c_val_accuracy", SweepFigure, SWEEP, ("validation_history",), "task4.tex.j2",
                label_fields={"legend": _RUN_FIELDS}),
    FigureEntry("4e_weight_norm", NormFigure, SWEEP, ("metrics",), "task4.tex.j2"),
)

#: Figure name -> its entry.
REGISTRY: dict[str, FigureEntry] = {entry.name: entry for entry in FIGURES}
#: Figure name (its file is ``report/figures/<name>.png``), in the order of params.yaml.
FIGURE_NAMES: tuple[str, ...] = tuple(REGISTRY)


def print_width(name: str) -> float:
    """Returns the fraction of the text width at which figure ``name`` prints."""
    return REGISTRY[name].print_width


# --- the figures section ---------------------------------------------------------------------------

class _FiguresBase(Section):
    """What every figure shares; :class:`Figures` adds one mapping per entry of :data:`FIGURES`."""

    size_inches: Size
    dpi: Annotated[StrictInt, Field(ge=1), Expect("an integer > 0")]
    font_size: Annotated[StrictFloat, Field(gt=0, allow_inf_nan=False), Expect("a number of points > 0")]
    loss_block_steps: Annotated[StrictInt, Field(ge=1), Expect("an integer >= 1")]
    steps_label: Label

    def figure(self, name: str) -> Any:
        """Returns the settings of figure ``name`` (a key of :data:`REGISTRY`), of its entry's model."""
        return getattr(self, f"fig_{name}")

    def size_of(self, name: str) -> tuple[float, float]:
        """Returns the size (inches) figure ``name`` is drawn at: its own, or the shared one."""
        return self.figure(name).size_inches if REGISTRY[name].own_size else self.size_inches

    def size_key(self, name: str) -> str:
        """Returns the params key of that size."""
        return f"figures.{name}.size_inches" if REGISTRY[name].own_size else "figures.size_inches"


def figure_field(kind: type[Section], name: str) -> Any:
    """Returns the annotation of the field of figure ``name`` (a mapping of model ``kind``, under the
    key ``name``) in :class:`Figures`."""
    return Annotated[kind, Field(alias=name), Expect(f"a mapping with keys {', '.join(kind.keys())}")]


#: ``figures``: what every figure shares, then one mapping per figure (``fig_<name>``, key ``<name>``).
if TYPE_CHECKING:  # the type checker sees what every figure shares; a figure's own is figure(name)
    Figures = _FiguresBase
else:
    Figures = create_model("Figures", __base__=_FiguresBase, __module__=__name__,
                           **{f"fig_{entry.name}": (figure_field(entry.settings, entry.name), ...)
                              for entry in FIGURES})
    Figures.__doc__ = "``figures``: what every figure shares, then one mapping per entry of :data:`FIGURES`."


# --- labels ----------------------------------------------------------------------------------------

def check_labels(figures: _FiguresBase, sweep: Sequence[tuple[float, str]], mathtext: bool) -> None:
    """Raises PipelineError naming the first label of ``figures`` (the checked ``figures`` section) that
    does not draw (:func:`~mnist_report.config.texts.check_label`); a template with the fields
    ``l2_lambda`` and ``run`` is filled with each (l2_lambda, run) of ``sweep`` (every softmax run: those
    4b and 4c draw), as the figures stage fills them, so that a run's name in mathematics
    (``softmax_lambda_0_1``: a double subscript) is met here, not there."""
    check_label(figures.steps_label, "figures.steps_label", None, mathtext)
    for entry in FIGURES:
        settings = figures.figure(entry.name)
        for key in settings.keys():
            value = getattr(settings, key)
            is_label = key in entry.label_fields or key.endswith("_label")
            if not is_label:
                continue
            names = entry.label_fields.get(key)
            texts = value if isinstance(value, tuple) else (value,)
            for l2_lambda, run in sweep if names and "run" in names else sweep[:1]:
                values = {"block_steps": figures.loss_block_steps, "l2_lambda": l2_lambda, "run": run}
                fields = {name: values[name] for name in names} if names is not None else None
                for i, text in enumerate(texts):
                    where = f"figures.{entry.name}.{key}" + (f"[{i}]" if isinstance(value, tuple) else "")
                    check_label(text, where, fields, mathtext)


# --- the files a figure reads ----------------------------------------------------------------------

class RunsAndRoles(Protocol):
    """What :func:`figure_inputs` reads of the checked params (a :class:`~mnist_report.config.params.Params`)."""

    @property
    def runs(self) -> Mapping[str, Run]: ...

    @property
    def roles(self) -> Mapping[str, str]: ...


def shown_runs(entry: FigureEntry, runs: Mapping[str, Run], roles: Mapping[str, str]) -> list[str]:
    """Returns the runs figure ``entry`` shows, in the order it shows them."""
    if entry.shows == SWEEP:
        return [run for _, run in lambda_sweep(runs)]
    return [roles[role] for role in entry.shows]


def figure_inputs(params: RunsAndRoles) -> dict[str, dict[str, list[Path]]]:
    """Returns figure name (in the order of FIGURE_NAMES) -> run -> the outputs of ``train@<run>`` the
    figure is drawn from (paths relative to the repository), the runs in the order the figure shows them.

    The one statement of which files each figure reads: the figures stage's deps and the report's
    captions and appendix (which runs each figure shows; each file's MD5) take it from here.
    """
    return {entry.name: {run: [output_paths(run)[kind] for kind in entry.reads]
                         for run in shown_runs(entry, params.runs, params.roles)}
            for entry in FIGURES}


def input_paths(params: RunsAndRoles) -> list[Path]:
    """Returns every file of :func:`figure_inputs`, sorted: the figures stage's DVC deps."""
    return sorted({path for by_run in figure_inputs(params).values()
                   for paths in by_run.values() for path in paths})
