"""The `dvc plots show` / `dvc plots diff` page works offline: opened in headless Chromium with the
network off (tests/support/browser.py), every vega chart draws, with no console error, one colour per run,
whole legend names and axes fitted to the data (against the history CSVs read here). The template builder
(mnist_report.plotting.page) on its own: tests/unit/plotting/test_page.py.

The pages are made in a scratch git repository holding the project's committed files (the metrics
histories are in git), with the offline template the set-up built (``bash bootstrap.sh setup``)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from support.browser import CHROMIUM, check_page, svg_texts
from support.scratch_project import REPO, ScratchProject
from support.workflows import module_scratch

from mnist_report.config.figures import FIGURE_NAMES
from mnist_report.plotting import page as plots_page
from mnist_report.config.schema import load_params, parse_yaml

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (bash bootstrap.sh test installs it)")



# ------------------------------------------------------------------ the pages in a real browser

@pytest.fixture(scope="module")
def plots_project(request, tmp_path_factory) -> ScratchProject:
    """The project's committed files in a scratch git repository with the built offline template."""
    template = REPO / plots_page.TEMPLATE_PATH
    if not template.is_file():
        pytest.fail(f"{template} missing: `bash bootstrap.sh setup` builds it (python -m mnist_report.plots_page)",
                    pytrace=False)
    scratch = module_scratch(request, tmp_path_factory, "plots")
    project = ScratchProject.of_checkout(scratch / "project", scratch=scratch)
    (project.root / plots_page.TEMPLATE_PATH).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(template, project.root / plots_page.TEMPLATE_PATH)
    project.init_git("main")
    project.commit_all("the project")
    return project


def column(path: Path, name: str) -> list[float]:
    with open(path, newline="", encoding="utf-8") as file:
        return [float(row[name]) for row in csv.DictReader(file)]


def expected_charts(root: Path) -> dict[str, tuple[list[str], list[float]]]:
    """Title -> (the runs it draws, every y value it draws), from dvc.yaml and the history CSVs."""
    definitions = parse_yaml((root / "dvc.yaml").read_text(encoding="utf-8"))
    runs = load_params(root / "params.yaml")["runs"]
    charts = {}
    for entry in definitions["plots"]:
        ((title, spec),) = entry.items()
        files = spec["y"]
        charts[title] = (sorted(Path(file).parent.name for file in files),
                         [value for file, field in files.items() for value in column(root / file, field)])
    for run in runs:
        history = root / "metrics" / "history" / run
        charts[f"Training loss (of each batch), run {run}"] = ([run], column(history / "train.csv", "train_loss"))
        charts[f"Validation loss, run {run}"] = ([run], column(history / "validation.csv", "val_loss"))
    return charts


def check_charts(report: dict, page: Path, expected: dict, revisions: list[str]) -> None:
    assert report["problems"] == []
    assert len(report["charts"]) == page.read_text(encoding="utf-8").count("vegaEmbed('#") == len(expected)
    drawn = {chart["title"]: chart for chart in report["charts"]}
    assert sorted(drawn) == sorted(expected)
    for title, (runs, values) in expected.items():
        chart = drawn[title]
        assert "failed" not in chart, (title, chart["failed"])
        assert chart["inked"] > 1000, f"{title}: canvas nearly blank ({chart['inked']} inked pixels)"
        assert chart["color"] == runs, f"{title}: colours {chart['color']}, expected one per run {runs}"
        assert chart["y"] == pytest.approx([min(values), max(values)], rel=1e-12), f"{title}: y axis {chart['y']}"
        texts = svg_texts(chart["svg"])
        for name in runs + revisions:
            assert name in texts, f"{title}: legend lacks the whole name {name!r} ({texts})"
        assert not any("…" in text for text in texts), f"{title}: a cut label in {texts}"


@pytest.mark.slow
@needs_chromium
def test_plots_show_draws_every_chart_offline(plots_project):
    project = plots_project
    shown = project.dvc("plots", "show", "-o", "shown")
    assert "failed" not in shown.stdout + shown.stderr  # DVC names a file it cannot show (a PDF, say)
    page = project.root / "shown" / "index.html"
    check_charts(check_page(page), page, expected_charts(project.root), ["workspace"])
    images = sorted(path.name for path in (project.root / "shown" / "static").iterdir())
    assert images == sorted(f"workspace_report_figures_{name}.png" for name in FIGURE_NAMES)


@pytest.mark.slow
@needs_chromium
def test_plots_diff_draws_each_revision_offline(plots_project, tmp_path):
    project = plots_project.copy(tmp_path / "project")
    history = project.root / "metrics" / "history" / "binary" / "validation.csv"
    text = history.read_text(encoding="utf-8").replace("\n0,", "\n0,9", 1)  # step 0's val_loss grows a leading 9
    history.write_text(text, encoding="utf-8")
    project.dvc("plots", "diff", "HEAD", "-o", "diffed")
    page = project.root / "diffed" / "index.html"
    report = check_page(page)
    expected = expected_charts(project.root)  # the workspace's values; HEAD's lie within them
    assert max(expected["Validation loss, run binary"][1]) > 90
    check_charts(report, page, expected, ["HEAD", "workspace"])


@pytest.mark.slow
@needs_chromium
def test_the_checker_sees_dvcs_own_page_fail_offline(plots_project, tmp_path):
    # The page DVC makes without a template loads the libraries from a CDN: offline, nothing draws.
    from dvc_render.html import PAGE_HTML
    cdn = tmp_path / "cdn.html"
    cdn.write_text(PAGE_HTML, encoding="utf-8")
    plots_project.dvc("plots", "show", "--html-template", str(cdn), "-o", str(tmp_path / "cdn"))
    report = check_page(tmp_path / "cdn" / "index.html")
    assert report["charts"] == []
    assert any("vegaEmbed" in problem for problem in report["problems"]), report["problems"]
