"""The files of a project others reuse: the license, the citation file and the lint and type checks
that pyproject.toml configures (CI runs the same two commands, .ci/run)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from support.paths import tool
from support.paths import REPO
from mnist_report.config.schema import load_params, parse_yaml

ROOT = REPO
VENV_BIN = Path(sys.executable).parent


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_the_mit_text_pyproject_declares():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) ")
    assert "Permission is hereby granted, free of charge" in text and 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    project = pyproject()["project"]
    assert (project["license"], project["license-files"]) == ("MIT", ["LICENSE"])


def test_citation_file_agrees_with_pyproject_license_and_the_report_it_reproduces():
    citation = parse_yaml((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= citation.keys()  # the keys CFF 1.2.0 requires
    assert citation["version"] == pyproject()["project"]["version"]
    assert citation["license"] == pyproject()["project"]["license"]
    # The original report's authors, as the title page prints them (params.yaml, report.authors).
    authors = load_params(ROOT / "params.yaml")["report"]["authors"]
    (original,) = citation["references"]
    assert [f"{a['given-names']} {a['family-names']}" for a in original["authors"]] == authors


def test_ruff_finds_nothing():
    result = subprocess.run([tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_yaml_is_read_as_dvc_reads_it_and_pyyaml_is_no_dependency():
    """params.yaml and dvc.lock mean to a stage what they mean to DVC: read with ruamel.yaml (YAML
    1.2, config.schema.parse_yaml), never with PyYAML (YAML 1.1 reads ``5e-2`` as a string)."""
    requirements = [requirement.split(">")[0].split("=")[0].lower() for requirement in pyproject()["project"]["dependencies"]]
    assert "ruamel.yaml" in requirements and "pyyaml" not in requirements
    importers = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name == "yaml" or name.startswith("yaml.") for name in names):
                importers.append(path.relative_to(ROOT).as_posix())
    assert importers == []
