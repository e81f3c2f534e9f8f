"""``python -m mnist_report.check``: our one line for what DVC reads before any stage runs (a run
name with '.', a run key YAML reads as a number, YAML aliases that expand to millions of values), and
the figures stage's bounds, at once; ``params.yaml: ok`` for the project's file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mnist_report import check
from mnist_report.config.schema import shown_value
from support.paths import REPO

ROOT = REPO
BASE = (ROOT / "params.yaml").read_text()
SOFTMAX_LINE = "  softmax: {}             # tasks 3b-3d; lambda = 0 in task 4\n"
#: Nine levels of aliases, each nine of the one before: 9**9 (387 million) strings once expanded.
BOMB = "[" + ", ".join(["&a0 [x, x, x, x, x, x, x, x, x]"] + [
    f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]) + "]"


def run_check(tmp_path: Path, text: str, capsys) -> tuple[int, str, float]:
    """Runs the check on ``text`` as params.yaml, in this process: (exit status, what it printed, seconds)."""
    (tmp_path / "params.yaml").write_text(text)
    capsys.readouterr()
    started = time.monotonic()
    status = check.main([str(tmp_path / "params.yaml")])
    seconds = time.monotonic() - started
    printed = capsys.readouterr()
    return status, printed.err + printed.out, seconds


def test_the_projects_params_pass(capsys):
    assert check.main([str(ROOT / "params.yaml")]) == 0
    assert capsys.readouterr().out == f"{ROOT / 'params.yaml'}: ok (8 runs)\n"


@pytest.mark.parametrize("text, line", [
    pytest.param(BASE.replace(SOFTMAX_LINE, SOFTMAX_LINE + "  a.b: {}\n"),
                 "error: runs.a.b: not a valid run name; expected 1 to 100 letters, digits, _ or - (no '.',",
                 id="a-dot-dvc-splits"),
    pytest.param(BASE.replace(SOFTMAX_LINE, SOFTMAX_LINE + "  123: {}\n"),
                 "error: runs.123: not a valid run name; a run name must be text, and YAML reads 123 as an integer; "
                 "expected it quoted ('123':) or a name that starts with a letter", id="an-integer-key-dvc-drops"),
    pytest.param(BASE.replace(SOFTMAX_LINE, SOFTMAX_LINE + "  true: {}\n"),
                 "error: runs.True: not a valid run name; a run name must be text, and YAML reads true as a boolean",
                 id="a-boolean-key"),
    pytest.param(BASE.replace("  classes: [2, 3]         # binary task only", f"  classes: {BOMB}"),
                 "error: defaults.classes (in run binary) = [['x', 'x', ", id="an-alias-bomb-dvc-expands"),
    pytest.param(BASE.replace("  size_inches: [5.0, 3.8]", "  size_inches: [0.01, 0.01]"),
                 "error: figures.size_inches = [0.01, 0.01]: figure 2b_loss prints at", id="a-figure-too-small"),
])
def test_what_dvc_reads_first_gets_our_one_line_at_once(tmp_path, capsys, text, line):
    assert text != BASE
    status, output, seconds = run_check(tmp_path, text, capsys)
    assert status == 1 and output.startswith(line) and output.count("\n") == 1, output
    assert len(output) < 2000 and seconds < 10
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]


def test_a_refused_value_is_shown_shortened_past_three_levels_six_items_and_300_characters():
    assert shown_value([1.5, "a", {"k": None}]) == "[1.5, 'a', {'k': None}]"
    assert shown_value(list(range(7))) == "[0, 1, 2, 3, 4, 5, ...]"
    assert shown_value([[[["deep"]]]]) == "[[[[...]]]]"
    assert shown_value("x" * 190) == repr("x" * 190)
    assert "..." in shown_value("x" * 300) and len(shown_value("x" * 300)) <= 205
    assert len(shown_value([["y" * 150] * 6] * 6)) == 300 and shown_value([["y" * 150] * 6] * 6).endswith("...")
