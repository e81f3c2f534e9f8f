"""plotting/page.py, the builder of the offline template of `dvc plots show` / `dvc plots diff`: the pinned packages inlined in load order with npm's integrity checked, nothing loaded from the network, and the template the set-up builds named in .dvc/config and dvc.yaml."""

from __future__ import annotations

import io
import tarfile
import pytest
from support.scratch_project import REPO
from mnist_report.common.errors import PipelineError
from mnist_report.plotting import page as plots_page
from mnist_report.config.schema import parse_yaml


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


def test_the_figures_plots_are_the_pngs_and_the_pdfs_no_plot():
    # DVC cannot show a PDF: a folder of plots holding one makes `dvc plots show` report a failure.
    figures = parse_yaml((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]["figures"]
    assert figures["plots"] == [{"report/figures": {"cache": False}}] and figures["outs"] == ["report/build/figures"]
