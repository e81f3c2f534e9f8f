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

from mnist_report import figures, report
from mnist_report.config.params import check_params
from support.paths import REPO
from mnist_report.config.schema import load_params, parse_yaml

ROOT = REPO
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
    defined = parse_yaml((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
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


# --- the layers ------------------------------------------------------------------------------------

#: The package's folders, lowest first: a module may import its own layer's modules and those of
#: lower layers, never a higher one's nor a sibling's (plotting and reporting are siblings). The
#: entry points (``python -m mnist_report.<stage>``, the package's top-level modules) may import
#: every layer, and no other entry point.
LAYERS: tuple[tuple[str, ...], ...] = (("common",), ("core",), ("mnist",), ("config",), ("plotting", "reporting"),
                                       ("compare",))
ENTRY = "entry point"


def layer_of(module: str) -> str:
    """Returns the layer (folder) of project module ``module``, or ENTRY for a top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (SRC / PACKAGE / parts[1]).is_dir()) else ENTRY


def rank(layer: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if layer in names) if layer != ENTRY else len(LAYERS)


def project_modules(src: Path) -> dict[str, Path]:
    """Returns module name -> source file of every module of the package under ``src``."""
    modules = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(src: Path) -> dict[str, set[str]]:
    """Returns module -> the project modules it imports anywhere in its source (under TYPE_CHECKING and
    inside functions too), packages' ``__init__`` left out (they import nothing)."""
    modules = project_modules(src)
    return {name: {other for other in imported_modules(path, name) if other in modules and other != name
                   and modules[other].name != "__init__.py"}
            for name, path in modules.items() if path.name != "__init__.py"}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Returns one cycle (a list of modules, the first repeated last) per strongly connected group
    of more than one module, or of a module importing itself."""
    found, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in sorted(graph.get(module, ())):
            if state.get(other) == "open":
                found.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Returns ``a imports b`` for every import against the layers."""
    wrong = []
    for module, imported in sorted(graph.items()):
        mine = layer_of(module)
        for other in sorted(imported):
            theirs = layer_of(other)
            if theirs == mine and mine != ENTRY:
                continue
            if theirs == ENTRY or rank(theirs) >= rank(mine):
                wrong.append(f"{module} ({mine}) imports {other} ({theirs})")
    return wrong


def test_no_module_imports_against_the_layers_nor_in_a_cycle():
    graph = import_graph(SRC)
    assert {layer_of(module) for module in graph} == {name for names in LAYERS for name in names} | {ENTRY}
    assert not cycles(graph), f"import cycles: {cycles(graph)}"
    assert not layer_violations(graph), "\n".join(layer_violations(graph))


def test_every_module_lives_in_a_layer_folder_and_every_entry_point_is_a_stage_or_command():
    top = sorted(path.stem for path in (SRC / PACKAGE).glob("*.py") if path.name != "__init__.py")
    commands = {stage_module(stage).split(".")[1] for stage in stages().values()} | {"check", "diff", "plots_page"}
    assert set(top) == commands, f"top-level modules that are no entry point: {sorted(set(top) - commands)}"
    for folder in {name for names in LAYERS for name in names}:
        assert (SRC / PACKAGE / folder / "__init__.py").read_text().strip(), f"{folder}/__init__.py says what the layer is"


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {path.parent for path in (tmp_path / PACKAGE).rglob("*.py")} | {tmp_path / PACKAGE}:
        (folder / "__init__.py").touch()
    return tmp_path


def test_the_layer_check_finds_a_cycle_even_under_type_checking(tmp_path, monkeypatch):
    src = _package(tmp_path, {
        "config/a.py": "from mnist_report.config import b\n",
        "config/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mnist_report.config.a import x\n",
        "core/c.py": "def f():\n    from mnist_report.core import d\n",
        "core/d.py": "import json\n",
    })
    monkeypatch.setattr(sys.modules[__name__], "SRC", src)
    graph = import_graph(src)
    assert cycles(graph) == [["mnist_report.config.a", "mnist_report.config.b", "mnist_report.config.a"]]
    assert not layer_violations(graph)


def test_the_layer_check_finds_an_import_upwards_sideways_or_of_an_entry_point(tmp_path, monkeypatch):
    src = _package(tmp_path, {
        "core/m.py": "from mnist_report.config.params import Params\n",  # up
        "plotting/p.py": "from mnist_report.reporting import latex\n",  # sideways
        "reporting/latex.py": "from mnist_report.core import m\n",  # down: fine
        "config/params.py": "from mnist_report import train\n",  # an entry point
        "train.py": "from mnist_report.core import m\nfrom mnist_report import figures\n",  # another entry point
        "figures.py": "",
    })
    monkeypatch.setattr(sys.modules[__name__], "SRC", src)
    assert layer_violations(import_graph(src)) == [
        "mnist_report.config.params (config) imports mnist_report.train (entry point)",
        "mnist_report.core.m (core) imports mnist_report.config.params (config)",
        "mnist_report.plotting.p (plotting) imports mnist_report.reporting.latex (reporting)",
        "mnist_report.train (entry point) imports mnist_report.figures (entry point)",
    ]


# ------------------------------------------------------- no stage reads a file that is not one of its deps

def stage(name):
    """Stage ``name`` as dvc.yaml defines it (a foreach stage: with its ``foreach`` and ``do``)."""
    return parse_yaml((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"][name]


@pytest.mark.parametrize(("name", "module"), [("figures", figures), ("report", report)])
def test_every_file_the_stages_input_paths_name_is_one_of_its_deps(name, module):
    params = load_params(ROOT / "params.yaml")
    deps = stage(name)["deps"]
    read = [str(path) for path in module.input_paths(check_params(params))]
    assert read, "the stage reads something"
    missing = [path for path in read if not covered(path, deps)]
    assert not missing, f"stage {name} reads {missing} without declaring them in dvc.yaml"
    source = Path(sys.modules[module.__name__].__file__).relative_to(ROOT / "src").as_posix()
    assert f"src/{source}" in deps


def test_every_run_is_a_train_stage_with_its_own_params():
    train = stage("train")
    assert train["foreach"] == "${runs}"
    assert "runs.${key}" in train["do"]["params"] and "defaults" in train["do"]["params"]


def test_the_train_command_names_no_run():
    stage = parse_yaml((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]["train"]["do"]
    assert "${" not in stage["cmd"], "no text of params.yaml may reach the shell that runs the command"
