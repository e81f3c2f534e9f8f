"""dvc.yaml's DAG is sound: every stage's deps list every project module its command imports
(directly, or through other modules, found from the code with ``ast``) and every file it reads
(its ``--list-deps``), so that editing any of them makes ``dvc status`` call the stage changed.

The imports are read from the source, not from ``sys.modules`` after an import, so that a module
imported inside a function (lazily) counts too: it runs when the stage does.
"""

from __future__ import annotations

import ast
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = "mnist_report"


def module_file(module: str) -> Path | None:
    """Returns the source file of project module ``module`` (a package's ``__init__.py``), or None
    when it is not one of the project's."""
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        return None
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, module: str) -> set[str]:
    """Returns the names of every module the source of ``module`` (at ``path``) imports, anywhere in
    it: ``import a.b`` gives a and a.b; ``from a import b`` gives a, and a.b when that is a module;
    relative imports are resolved against ``module``'s package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module
            names = [origin] + [f"{origin}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            # importing a.b.c runs a/__init__, a.b/__init__ and a.b.c
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


def project_imports(module: str) -> set[Path]:
    """Returns the source files of every project module that running ``python -m <module>`` imports,
    the module itself included, followed transitively."""
    seen: set[str] = set()
    pending = [module] + [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
    files: set[Path] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        if path is None:
            continue
        files.add(path)
        pending.extend(imported_modules(path, name) - seen)
    return files


def stages() -> dict[str, dict]:
    """Returns stage name -> its definition (a foreach stage: its ``do``)."""
    defined = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {name: stage.get("do", stage) for name, stage in defined.items()}


def stage_module(stage: dict) -> str:
    words = shlex.split(stage["cmd"])
    assert words[:2] == ["python", "-m"], f"expected `python -m <module>`, got {stage['cmd']!r}"
    return words[2]


def covered(path: str, deps: list[str]) -> bool:
    """True when ``path`` is a dep or lies inside a directory dep."""
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("name", stages())
def test_stage_deps_list_every_project_module_its_command_imports(name):
    stage = stages()[name]
    needed = {path.relative_to(ROOT).as_posix() for path in project_imports(stage_module(stage))}
    missing = sorted(path for path in needed if not covered(path, stage["deps"]))
    assert not missing, f"stage {name} imports {missing} without declaring them in dvc.yaml's deps"
    # ...and no more: a module it does not import would rerun it for nothing.
    declared = {dep for dep in stage["deps"] if dep.startswith("src/")}
    assert declared <= needed, f"stage {name} declares {sorted(declared - needed)}, which it does not import"


def test_the_import_walk_follows_modules_through_other_modules(tmp_path, monkeypatch):
    # A module reached only through another one (and one imported inside a function) still counts.
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from mnist_report import b\nimport json\n")
    (package / "b.py").write_text("def f():\n    from .c import thing\n")
    (package / "c.py").write_text("thing = 1\n")
    (package / "unused.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    assert {path.name for path in project_imports(f"{PACKAGE}.a")} == {"__init__.py", "a.py", "b.py", "c.py"}


@pytest.mark.parametrize("name", [name for name, stage in stages().items()
                                  if "--list-deps" in subprocess.run(
                                      [sys.executable, "-m", stage_module(stage), "--help"], cwd=ROOT,
                                      capture_output=True, text=True).stdout])
def test_stage_deps_cover_every_file_it_reads(name):
    stage = stages()[name]
    listed = subprocess.run([sys.executable, "-m", stage_module(stage), "--list-deps"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    read = listed.stdout.split()
    assert read, "the stage reads something"
    missing = [path for path in read if not covered(path, stage["deps"])]
    assert not missing, f"stage {name} reads {missing} without declaring them in dvc.yaml"


def test_every_stage_that_reads_params_yaml_says_which_sections():
    # The params check reads the whole file, but a stage's outputs depend on the sections it declares.
    for name, stage in stages().items():
        if name != "pdf":
            assert stage.get("params"), f"stage {name} declares no params"
