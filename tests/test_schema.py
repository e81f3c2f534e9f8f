"""The params check function by function (schema.py, texts.py and the helpers of params.py): each
line and value written out by hand, so that a changed comparison, key or word fails a test.

The end-to-end refusals (every stage, the real params.yaml) are in ``test_params.py``; here the
parts are called directly, with models built in the test where the part builds models (mutmut runs
each test after the modules are imported, so a part that only runs at import is checked here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import yaml
from pydantic import StrictFloat, StrictInt

from mnist_report import params as params_module
from mnist_report.errors import PipelineError
from mnist_report.params import Run, StepFigure, check_params, lambda_sweep
from mnist_report.schema import Expect, Section, refuse_unless, validate
from mnist_report.texts import check_label

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "a non-empty string of printable ASCII, Latin letters (Latin-1, Latin Extended-A) and typographic punctuation"


def default_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def refusal(raw: dict, **context) -> str:
    with pytest.raises(PipelineError) as error:
        check_params(raw, **context)
    return str(error.value)


# --- params.py helpers ------------------------------------------------------------------------------

def test_a_run_read_as_a_mapping_refuses_an_unknown_setting_by_its_name():
    run = check_params(default_params()).runs["softmax"]
    assert run["l2_lambda"] == 0.0 and run["task"] == "softmax"
    with pytest.raises(KeyError) as error:
        run["lambda"]
    assert error.value.args == ("lambda",)


def test_lambda_sweep_is_the_softmax_runs_by_lambda_then_name_as_floats():
    runs = {"b": {"task": "binary", "l2_lambda": 0.5}, "z": {"task": "softmax", "l2_lambda": 0.1},
            "a": {"task": "softmax", "l2_lambda": 0.1}, "m": {"task": "softmax", "l2_lambda": 0}}
    sweep = lambda_sweep(runs)
    assert sweep == [(0.0, "m"), (0.1, "a"), (0.1, "z")]
    assert type(sweep[0][0]) is float
    assert lambda_sweep({"b": {"task": "binary", "l2_lambda": 0.0}}) == []


def test_a_figure_mapping_is_read_under_its_alias_and_refused_naming_its_keys():
    class Holder(Section):
        fig: params_module._figure(StepFigure, "9z_made_up")

    figure = {"y_label": "Loss", "y_limits": None, "legend": ["a", "b"]}
    assert validate(Holder, {"9z_made_up": figure}).fig.y_label == "Loss"
    with pytest.raises(PipelineError, match=r"^9z_made_up = 3: expected a mapping with keys y_label, y_limits, "
                                            r"legend$"):
        validate(Holder, {"9z_made_up": 3})


# --- schema.refuse_unless --------------------------------------------------------------------------

class Positive(Section):
    value: Annotated[StrictInt, refuse_unless(lambda v: v > 0), Expect("a number > 0")]


def test_refuse_unless_passes_what_its_test_accepts_and_refuses_the_rest_in_the_fields_words():
    assert validate(Positive, {"value": 3}).value == 3
    with pytest.raises(PipelineError, match=r"^value = 0: expected a number > 0$"):
        validate(Positive, {"value": 0})
    # The check runs after the type: a string never reaches the test (whose > would raise TypeError).
    with pytest.raises(PipelineError, match=r"^value = 'x': expected a number > 0 \(a value of type int\)$"):
        validate(Positive, {"value": "x"})


# --- texts of the report ---------------------------------------------------------------------------

@pytest.mark.parametrize(("title", "line"), [
    (5, f"report.title = 5: expected {PREFIX} (a value of type str)"),
    ("  ", f"report.title = '  ': expected {PREFIX}"),
    ("", f"report.title = '': expected {PREFIX}"),
    ("\u03a9mega", f"report.title = '\u03a9mega': expected {PREFIX} (the report's LaTeX cannot typeset "
                   "'\u03a9', U+03A9)"),
])
def test_a_title_that_is_not_a_typesettable_text_is_refused_in_one_full_line(title, line):
    raw = default_params()
    raw["report"]["title"] = title
    assert refusal(raw) == line


# --- figure labels ---------------------------------------------------------------------------------

TAIL = "expected fields among {block_steps} with a short format spec, and literal braces doubled"


@pytest.mark.parametrize(("label", "field"), [
    ("a {{b}} {nope}", "{nope}"),                                # after a literal brace
    ("{{ {block_steps:100}", "{block_steps:100}"),              # a width of three digits
    ("{block_steps:{block_steps}}", "{block_steps:{block_steps}}"),  # a nested field in the spec
])
def test_a_label_template_names_the_first_field_it_cannot_use(label, field):
    with pytest.raises(PipelineError) as error:
        check_label(label, "figures.x.legend", {"block_steps": 10}, False)
    assert str(error.value) == f"figures.x.legend = {label!r}: cannot fill it in (field {field}); {TAIL}"


def test_a_label_template_lists_every_field_it_may_use():
    with pytest.raises(PipelineError) as error:
        check_label("{lambda}", "figures.4c_val_accuracy.legend", {"l2_lambda": 0.1, "run": "softmax"}, False)
    assert str(error.value) == ("figures.4c_val_accuracy.legend = '{lambda}': cannot fill it in (field {lambda}); "
                                "expected fields among {l2_lambda}, {run} with a short format spec, "
                                "and literal braces doubled")


@pytest.mark.parametrize("label", ["{{literal}} {block_steps:>99}", "{block_steps}", "no field", "{block_steps:g}",
                                   "two\nlines of {block_steps}"])
def test_a_label_template_with_known_fields_and_short_specs_passes(label):
    check_label(label, "figures.x.legend", {"block_steps": 10}, False)


def test_a_per_run_label_is_checked_with_every_run_it_will_be_drawn_for():
    # 4c's legend as the figures stage fills it: softmax_lambda_0_1 in mathematics is a double subscript.
    raw = default_params()
    raw["figures"]["4c_val_accuracy"]["legend"] = "$\\lambda$ = {l2_lambda:g} ${run}$"
    check_params(raw)  # the mathematics is parsed only in the figures stage's check
    assert refusal(raw, mathtext=True) == (
        "figures.4c_val_accuracy.legend = '$\\\\lambda$ = {l2_lambda:g} ${run}$': matplotlib cannot draw its "
        "mathematics (ParseFatalException: Double subscript, found 'a'  (at char 13), (line:1, col:14)); "
        "expected mathtext between $...$ (write \\$ for a dollar sign)")
    # With a fill character, lambda = 0 gives \alpha0 and every other lambda an unknown command.
    raw = default_params()
    raw["figures"]["4b_weights"]["row_label"] = "$\\alph{l2_lambda:a>2g}$"
    assert refusal(raw, mathtext=True).startswith(
        "figures.4b_weights.row_label = '$\\\\alph{l2_lambda:a>2g}$': matplotlib cannot draw its mathematics (")
    for name in raw["runs"]:
        if name.startswith("softmax_lambda"):
            raw["runs"][name]["l2_lambda"] = 0.0
    check_params(raw, mathtext=True)  # lambda = 0 alone: it draws


def test_a_role_given_a_run_without_the_settings_it_needs_names_them_and_the_runs_that_have_them():
    raw = default_params()
    raw["roles"]["2d"] = "binary"
    assert refusal(raw) == ("roles.2d = 'binary': expected a run of params runs with task = binary, "
                            "early_stopping = True (binary_early_stopping, binary_shuffled)")


def test_a_role_no_run_can_serve_says_there_is_none():
    raw = default_params()
    for name, run in raw["runs"].items():
        if run.get("task") == "binary":
            run["early_stopping"] = False
    raw["roles"]["2d"] = "binary"
    assert refusal(raw) == ("roles.2d = 'binary': expected a run of params runs with task = binary, "
                            "early_stopping = True (there is none)")


def test_a_stages_help_names_the_stage_says_what_it_does_and_what_list_deps_prints(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")  # argparse wraps at the terminal's width
    with pytest.raises(SystemExit) as exit_:
        params_module.stage_params("python -m a_stage", "Draws things.", ["--help"], lambda params: [])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == (
        "usage: python -m a_stage [-h] [--list-deps]\n\nDraws things.\n\noptions:\n"
        "  -h, --help   show this help message and exit\n"
        "  --list-deps  print the files the stage reads (its DVC deps besides the code), one a line, and exit\n")
