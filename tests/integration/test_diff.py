"""``python -m mnist_report.diff``: the report's changes between two revisions or experiments.

The first tests pin the pieces on small hand-written LaTeX (how places are counted, how a changed
figure is marked, what dvc.lock records). The rest run the command as a user would, in the
one-epoch copy of the project (tests/support/workflows.py): after a parameter change and
``dvc repro`` (the ``changed`` fixture), against an experiment of the queued sweep (``swept``), with OLD
equal to NEW, and with revisions it must refuse.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.scratch_project import REPO, ScratchProject
from support.workflows import NEEDS_PIPELINE_TOOLS, SWEEP, console_blocks

from mnist_report.compare.markup import (
    count_places,
)
from mnist_report.compare.revisions import REPORT_TEX
from support.diff_marks import MARK, body, needs_latexdiff


def needs_pipeline(test):
    """The marks of a test that runs the pipeline and the diff in the one-epoch project."""
    for mark in (*NEEDS_PIPELINE_TOOLS, needs_latexdiff):
        test = mark(test)
    return test


LINE = re.compile(r"^diff: wrote (?P<path>\S+) \((?P<old>.+) -> (?P<new>.+)\): (?P<places>\d+) places? changed"
                  r"(?:, (?P<figures>\d+) of them figures?)?$")


# ----------------------------------------------------------------------------- the pieces


# ------------------------------------------------------------------------- as a user runs it

def run_diff(project: ScratchProject, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return project.run(sys.executable, "-m", "mnist_report.diff", *args, check=check)


def parse_line(result: subprocess.CompletedProcess) -> re.Match:
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"one line expected:\n{result.stdout}"
    match = LINE.match(lines[0])
    assert match, lines[0]
    return match


def sections(tex: str) -> dict[str, str]:
    """The document body of ``tex`` cut at its headings (lines starting with a sectioning command)."""
    parts = re.split(r"(?m)^(?=\\(?:task|section|subsection|appendixsection)\b)", body(tex))
    return {part.splitlines()[0]: part for part in parts[1:]}


def pdf_text(path: Path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def committed_figure(project: ScratchProject, rev: str, name: str) -> bytes:
    return subprocess.run(["git", "-C", str(project.root), "show", f"{rev}:report/figures/{name}"],
                          capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def parameter_diff(changed, tmp_path_factory):
    """``python -m mnist_report.diff`` (HEAD against the workspace) after the parameter change."""
    tex = tmp_path_factory.mktemp("diff") / "diff.tex"
    result = run_diff(changed.project, "--tex", str(tex))
    return result, tex.read_text(encoding="utf-8")


@needs_pipeline
def test_diff_after_a_parameter_change_shows_old_and_new_values(changed, parameter_diff):
    result, diff_tex = parameter_diff
    project = changed.project
    line = parse_line(result)
    assert line["path"] == "report/build/diff.pdf"
    assert re.fullmatch(r"HEAD \([0-9a-f]{7}\)", line["old"]) and line["new"] == "workspace"
    pdf = project.root / "report/build/diff.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in (project.root / "report/build").iterdir()) == [
        "diff.pdf", "figures", "report.pdf", "report.tex"]

    decimals = project.params()["report"]["loss_decimals"]
    old_loss = f"{changed.old_metrics['train_loss']:.{decimals}f}"
    new_loss = f"{project.json('metrics/binary.json')['train_loss']:.{decimals}f}"
    assert old_loss != new_loss
    marked = body(diff_tex)
    assert re.search(rf"\\DIFdel(?:FL)?\{{[^}}]*{re.escape(old_loss)}", marked), f"{old_loss} not struck out"
    assert re.search(rf"\\DIFadd(?:FL)?\{{[^}}]*{re.escape(new_loss)}", marked), f"{new_loss} not inserted"
    # the learning rate in the table of runs (a longtable, so not a float: FL marks or none)
    assert re.search(r"\\DIFdel(?:FL)?\{0\.05 ?\}\s*\\DIFdelend(?:FL)?\s*\\DIFaddbegin(?:FL)?\s*\\DIFadd(?:FL)?\{0\.06 ?\}", marked)
    text = pdf_text(pdf)
    if text is not None:  # what a reader sees: both values in the PDF's text
        assert old_loss in text and new_loss in text

    # A section whose source is the same on both sides carries no mark; one that changed does.
    old_sections, new_sections = sections(changed.old_tex), sections(project.read(REPORT_TEX))
    untouched = [heading for heading, text in new_sections.items() if old_sections.get(heading) == text]
    touched = [heading for heading in new_sections if heading not in untouched]
    assert untouched and touched
    diff_sections = sections(diff_tex)
    for heading in untouched:
        assert not MARK.search(diff_sections[heading]), f"{heading} did not change but is marked"
    assert any(MARK.search(diff_sections.get(heading, "")) for heading in touched)
    assert int(line["places"]) >= len([h for h in touched if MARK.search(diff_sections.get(h, ""))])


def readme_grep() -> tuple[str, str]:
    """The pattern of the shown ``grep '<pattern>' diff.tex | head -1`` (the README's loop; any console
    block of the README or docs/) and the line it shows."""
    for _, block in console_blocks():
        found = re.search(r"^\$ grep '([^']+)' diff\.tex \| head -1\n(.*)$", block, flags=re.M)
        if found:
            return found.group(1), found.group(2)
    raise AssertionError("neither the README nor docs/ shows a grep of diff.tex")


@needs_pipeline
def test_the_readme_grep_finds_the_marked_sentence(changed, parameter_diff):
    # In the one-epoch project the README's output comes from, and in the report of the default
    # 50 epochs (this checkout's, when built): the pattern matches the sentence whose numbers moved.
    pattern, shown = readme_grep()
    _, diff_tex = parameter_diff
    first = next((line for line in diff_tex.splitlines() if pattern in line), None)
    assert first is not None, f"grep '{pattern}' finds nothing in the diff"
    assert "\\DIFdelbegin" in first and "\\DIFaddbegin" in first, first
    assert re.sub(r"\d+\.\d+", "#", first) == re.sub(r"\d+\.\d+", "#", shown), first  # the README's line, numbers aside
    built = REPO / REPORT_TEX
    if built.exists():
        assert pattern in built.read_text(encoding="utf-8"), f"{built}: no line with {pattern!r}"


@needs_pipeline
def test_diff_marks_exactly_the_figures_whose_image_changed(changed, parameter_diff):
    result, diff_tex = parameter_diff
    project = changed.project
    # The report names each figure without extension: pdflatex takes its PDF (report/build/figures),
    # the diff, which has each side's committed figures, its PNG (report/figures).
    shown = {name + ".png" for name in
             re.findall(r"\\includegraphics\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}", project.read(REPORT_TEX))}
    differ = {name for name in shown
              if (project.root / "report/figures" / name).read_bytes() != committed_figure(project, "HEAD", name)}
    assert "2b_loss.png" in differ, "the binary run's loss curve changed with its learning rate"
    assert differ != shown, "some figures do not show the binary run"
    pairs = dict(re.findall(r"\\DIFfigurepair\{([^}]*)\}\{([^}]*)\}", diff_tex))
    assert {name + ".png" for name in pairs.values()} == differ and set(pairs) == {f"../figures-old/{n}" for n in differ}
    assert diff_tex.count("\\DIFfigurechanged{}") == len(differ)
    for name in shown - differ:
        assert re.search(rf"\\includegraphics\[[^\]]*\]\{{{re.escape(name.removesuffix('.png'))}\}}", diff_tex), name
    assert int(parse_line(result)["figures"]) == len(differ)
    assert int(parse_line(result)["places"]) == len(differ) + count_places(diff_tex)


@needs_pipeline
def test_old_equal_to_new_gives_no_marks(changed, scratch):
    for args in (("HEAD", "HEAD"), ("workspace", "workspace")):
        tex, pdf = scratch / "same.tex", scratch / "same.pdf"
        line = parse_line(run_diff(changed.project, *args, "-o", str(pdf), "--tex", str(tex)))
        assert line["places"] == "0" and line["figures"] is None, args
        marked = tex.read_text(encoding="utf-8")
        assert not MARK.search(body(marked)) and "\\DIFfigure" not in body(marked), args
        assert pdf.read_bytes().startswith(b"%PDF")


@needs_pipeline
def test_unknown_revision_is_one_line_and_exit_1(changed, scratch):
    before = sorted(p.name for p in (changed.project.root / "report/build").iterdir())
    result = run_diff(changed.project, "no-such-revision", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: no-such-revision: unknown revision"), result.stderr
    result = run_diff(changed.project, "HEAD", "no-such-experiment", check=False)
    assert result.returncode == 1 and "no-such-experiment: unknown revision" in result.stderr
    assert sorted(p.name for p in (changed.project.root / "report/build").iterdir()) == before


@needs_pipeline
def test_revisions_without_the_pipeline_or_without_a_copy_are_refused(baseline, scratch):
    project = baseline.copy(scratch / "project", data=False)  # no DVC cache: HEAD's report.tex has no copy
    empty_tree = project.git("hash-object", "-t", "tree", "/dev/null").stdout.strip()
    bare = project.git("commit-tree", empty_tree, "-m", "nothing").stdout.strip()
    result = run_diff(project, bare, "HEAD", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == f"error: {bare[:7]}: a revision without the pipeline: its dvc.lock records no {REPORT_TEX}"

    head = project.git("rev-parse", "HEAD").stdout.strip()
    result = run_diff(project, "HEAD", "HEAD", check=False)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert f"HEAD ({head[:7]}): DVC has no copy of its {REPORT_TEX}" in result.stderr
    assert f"git checkout {head[:7]} && dvc repro report" in result.stderr
    assert not (project.root / "report/build/diff.pdf").exists()


@needs_pipeline
def test_diff_against_an_experiment_equals_the_diff_against_its_applied_workspace(swept, scratch):
    # An experiment of the queued sweep (tests/conftest.py, ``swept``), applied to the workspace.
    name = next(name for name, learning_rate in SWEEP.items() if learning_rate == 0.04)
    project = swept.project.copy(scratch / "project")
    project.dvc("exp", "apply", name)
    by_name = run_diff(project, "HEAD", name, "-o", str(scratch / "exp.pdf"), "--tex", str(scratch / "exp.tex"))
    line = parse_line(by_name)
    assert re.fullmatch(rf"{re.escape(name)} \([0-9a-f]{{7}}\)", line["new"]), line["new"]
    assert int(line["places"]) > 0 and int(line["figures"]) > 0
    exp_tex = (scratch / "exp.tex").read_text(encoding="utf-8")
    assert re.search(r"\\DIFdel(?:FL)?\{0\.05 ?\}\s*\\DIFdelend(?:FL)?\s*\\DIFaddbegin(?:FL)?\s*\\DIFadd(?:FL)?\{0\.04 ?\}", exp_tex)
    # `dvc exp apply` put the experiment in the workspace: the same diff, but for the label
    ws = run_diff(project, "HEAD", "-o", str(scratch / "ws.pdf"), "--tex", str(scratch / "ws.tex"))
    ws_line = parse_line(ws)
    assert (ws_line["places"], ws_line["figures"]) == (line["places"], line["figures"])
    ws_tex = (scratch / "ws.tex").read_text(encoding="utf-8")
    assert ws_tex.replace("after: workspace", "after: X") == exp_tex.replace(f"after: {line['new']}", "after: X")
    # and back: the experiment as OLD
    back = parse_line(run_diff(project, name, "HEAD", "-o", str(scratch / "back.pdf")))
    assert back["places"] == line["places"]
