"""The `dvc plots show` / `dvc plots diff` page works offline: opened in headless Chromium with the
network off (tests/browser.py), every vega chart draws, with no console error, one colour per run,
whole legend names and axes fitted to the data (against the history CSVs read here); and the
template builder (mnist_report.plotting.page) checks what it inlines.

The pages are made in a scratch git repository holding the project's committed files (the metrics
histories are in git), with the offline template the set-up built (``bash bootstrap.sh setup``)."""

from __future__ import annotations

import csv
import io
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml
from browser import CHROMIUM, check_page, svg_texts
from workflow_project import REPO, Project, copy_project_files, make_environment, module_scratch

from mnist_report.common.errors import PipelineError
from mnist_report.config.figures import FIGURE_NAMES
from mnist_report.plotting import page as plots_page

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (bash bootstrap.sh test installs it)")


# ------------------------------------------------------------------ the template builder (quick)

def tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_integrity_is_npms_sha512_in_base64():
    # The registry's dist.integrity of the pinned vega-embed tarball, against the bytes npm gave.
    cached = REPO / plots_page.NPM_CACHE / "vega-embed-6.29.0.tgz"
    if not cached.is_file():
        pytest.skip(f"{cached} not fetched (bash bootstrap.sh setup)")
    assert plots_page.integrity(cached.read_bytes()) == plots_page.PACKAGES[2].integrity
    assert plots_page.integrity(b"abc").startswith("sha512-3a81oZNherrMQXNJriBBMRLm")  # SHA-512("abc"), FIPS 180-2


def test_inlined_script_cannot_end_its_element_and_keeps_no_dvc_placeholder():
    package = plots_page.Package("lib", "1.0.0", "sha512-x", "package/build/lib.min.js")
    code = plots_page.script_of(package, tarball({package.script: 'var s = "</script><b>"; var t = "</SCRIPT>";'}))
    assert "</script" not in code.lower() and code == 'var s = "<\\/script><b>"; var t = "<\\/SCRIPT>";'
    with pytest.raises(PipelineError, match=r"holds \{plot_divs\}"):
        plots_page.script_of(package, tarball({package.script: 'x = "{plot_divs}"'}))
    with pytest.raises(PipelineError, match="no package/build/lib.min.js"):
        plots_page.script_of(package, tarball({"package/other.js": ""}))


def test_a_cached_tarball_that_differs_from_the_pin_is_fetched_again_and_refused_if_npm_gives_it_again(tmp_path):
    data = tarball({"package/build/lib.min.js": "1"})
    package = plots_page.Package("lib", "1.0.0", plots_page.integrity(data), "package/build/lib.min.js")
    (tmp_path / package.tarball).write_bytes(data)
    assert plots_page.tarball_bytes(package, tmp_path, npm=None) == data  # cached and right: no npm needed
    (tmp_path / package.tarball).write_bytes(b"tampered")
    with pytest.raises(PipelineError, match="npm not found"):
        plots_page.tarball_bytes(package, tmp_path, npm=None)
    fake_npm = tmp_path / "npm"  # an npm whose pack writes the tampered tarball again
    fake_npm.write_text(f"#!/bin/sh\nprintf tampered > {tmp_path / package.tarball}\n")
    fake_npm.chmod(0o755)
    with pytest.raises(PipelineError, match=r"lib-1\.0\.0\.tgz: integrity sha512-.*expected the pinned"):
        plots_page.tarball_bytes(package, tmp_path, npm=str(fake_npm))
    assert not (tmp_path / package.tarball).exists()


def test_template_inlines_the_pinned_packages_in_load_order_and_loads_nothing():
    scripts = [(package, f"/* code of {package.name} */") for package in plots_page.PACKAGES]
    page = plots_page.page(scripts)
    assert "{plot_divs}" in page and "{scripts}" not in page and "<script src" not in page
    positions = [page.index(f"code of {name} */") for name in ("vega", "vega-lite", "vega-embed")]
    assert positions == sorted(positions)
    assert plots_page.versions_comment(plots_page.PACKAGES) in page


def test_up_to_date_only_for_a_template_of_the_pinned_versions(tmp_path):
    output = tmp_path / "offline.html"
    assert not plots_page.up_to_date(output)
    output.write_text(plots_page.page([(plots_page.Package("vega", "5.0.0", "", ""), "")]), encoding="utf-8")
    assert not plots_page.up_to_date(output)
    output.write_text(plots_page.page([(package, "") for package in plots_page.PACKAGES]), encoding="utf-8")
    assert plots_page.up_to_date(output)


def test_dvc_config_points_at_the_template_the_set_up_builds():
    import configparser
    config = configparser.ConfigParser()
    config.read(REPO / ".dvc" / "config")
    assert (REPO / ".dvc" / config["plots"]["html_template"]).resolve() == (REPO / plots_page.TEMPLATE_PATH).resolve()


# ------------------------------------------------------------------ the pages in a real browser

@pytest.fixture(scope="module")
def plots_project(request, tmp_path_factory) -> Project:
    """The project's committed files in a scratch git repository with the built offline template."""
    template = REPO / plots_page.TEMPLATE_PATH
    if not template.is_file():
        pytest.fail(f"{template} missing: `bash bootstrap.sh setup` builds it (python -m mnist_report.plots_page)",
                    pytrace=False)
    scratch = module_scratch(request, tmp_path_factory, "plots")
    project = Project(scratch / "project", make_environment(scratch))
    project.root.mkdir()
    copy_project_files(project.root)
    (project.root / plots_page.TEMPLATE_PATH).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(template, project.root / plots_page.TEMPLATE_PATH)
    project.git("init", "-q", "-b", "main")
    project.commit_all("the project")
    return project


def column(path: Path, name: str) -> list[float]:
    with open(path, newline="", encoding="utf-8") as file:
        return [float(row[name]) for row in csv.DictReader(file)]


def expected_charts(root: Path) -> dict[str, tuple[list[str], list[float]]]:
    """Title -> (the runs it draws, every y value it draws), from dvc.yaml and the history CSVs."""
    definitions = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    runs = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["runs"]
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


def test_the_figures_plots_are_the_pngs_and_the_pdfs_no_plot():
    # DVC cannot show a PDF: a folder of plots holding one makes `dvc plots show` report a failure.
    figures = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]["figures"]
    assert figures["plots"] == [{"report/figures": {"cache": False}}] and figures["outs"] == ["report/build/figures"]


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

