"""The tests mirror the package: each module ``src/mnist_report/<layer>/<module>.py`` has its tests in
``tests/unit/<layer>/test_<module>.py``, the slow tests that run dvc, pdflatex or whole scratch projects
are in ``tests/integration/``, and what the tests share lives in the package ``tests/support/``: no
test module (nor a support module) imports a test module, so that each file can move, split or run
alone. The slow marks are checked in tests/integration/test_suite_layout.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from support.paths import REPO

TESTS = REPO / "tests"
PACKAGE = REPO / "src" / "mnist_report"


def layer_modules() -> list[Path]:
    """The modules of the package's layers, relative to the package (``core/sgd.py``)."""
    return sorted(path.relative_to(PACKAGE) for path in PACKAGE.glob("*/*.py") if path.name != "__init__.py")


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, at the top or inside a function, as written (``support.paths``)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_every_module_of_a_layer_has_its_test_file_and_every_test_file_its_module():
    expected = {Path("tests/unit") / module.parent / f"test_{module.name}" for module in layer_modules()}
    present = {path.relative_to(REPO) for path in (TESTS / "unit").glob("*/test_*.py")}
    assert sorted(map(str, expected - present)) == [], "modules without a test file"
    assert sorted(map(str, present - expected)) == [], "test files of no module"


def test_the_top_level_tests_are_those_of_a_stage_entry_module_or_of_the_project_itself():
    entries = {path.stem for path in PACKAGE.glob("*.py") if path.name != "__init__.py"}
    about_the_project = {"dag", "docs", "project_files", "suite_layout", "suite_limits"}
    tests = {path.stem.removeprefix("test_") for path in (TESTS / "unit").glob("test_*.py")}
    assert sorted(tests - entries - about_the_project) == []


def test_no_test_module_lies_outside_unit_and_integration_and_every_helper_is_in_support():
    stray = [str(path.relative_to(REPO)) for path in TESTS.rglob("*.py")
             if "__pycache__" not in path.parts and path.parent != TESTS / "support"
             and not path.name.startswith("test_") and path != TESTS / "conftest.py"]
    assert stray == [], "helpers belong in tests/support/"
    outside = [str(path.relative_to(REPO)) for path in TESTS.rglob("test_*.py")
               if path.relative_to(TESTS).parts[0] not in ("unit", "integration")]
    assert outside == []


def test_no_test_or_support_module_imports_a_test_module():
    test_modules = {path.stem for path in TESTS.rglob("test_*.py")} | {"conftest"}
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if "__pycache__" in path.parts or path == TESTS / "conftest.py":
            continue
        for name in imported_modules(path):
            if set(name.split(".")) & test_modules:
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert offenders == []


def test_the_import_check_finds_an_import_of_a_test_module(tmp_path):
    # The check above must be able to fail: an import of a test module, at the top or in a function.
    module = tmp_path / "test_example.py"
    module.write_text("import os\nfrom test_report import make_repo\n\ndef test_x():\n    import test_figures\n")
    assert imported_modules(module) == ["os", "test_report", "test_report.make_repo", "test_figures"]


def scheduled_units() -> list[str]:
    """The units of work tests/conftest.py names (its ``FIRST`` and ``RUN_APART``), read from its text."""
    units = []
    for node in ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [ast.unparse(target) for target in node.targets] in (["FIRST"], ["RUN_APART"]):
            units += ast.literal_eval(node.value)
    return units


def test_the_units_the_scheduler_names_are_tests_that_exist():
    # conftest.py hands these units out first: a renamed file or test would silently lose its place.
    units = scheduled_units()
    assert len(units) > 10
    for unit in units:
        path, _, test = unit.partition("::")
        assert (REPO / path).is_file(), unit
        if test:
            assert re.search(rf"^def {re.escape(test)}\(", (REPO / path).read_text(encoding="utf-8"), re.M), unit


def test_no_test_or_benchmark_uses_pyyaml():
    # params.yaml, dvc.yaml and dvc.lock are read as DVC reads them (ruamel.yaml), never with PyYAML.
    users = [str(path.relative_to(REPO)) for folder in (TESTS, REPO / "benchmarks") for path in sorted(folder.rglob("*.py"))
             if "__pycache__" not in path.parts and "yaml" in {name.split(".")[0] for name in imported_modules(path)}]
    assert users == []
