"""The templates (report/templates/*.tex.j2, through reporting/templates.py) hold prose and mathematics:
no arithmetic, no computed variables, no cryptic names; and their compiled form is kept, renders the
text of a fresh compilation and is compiled again when the template or the environment changes.

Every decision the prose depends on is a named fact computed in Python (``mnist_report.reporting.facts_*``);
a template only chooses a sentence by its name (``\\BLOCK{if shuffling.rise_size == "smaller"}``).
These tests read the templates' syntax trees, so that a new ``\\BLOCK{set gap = a - b}`` fails.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
from enum import StrEnum
from pathlib import Path

import jinja2
import jinja2.nodes as nodes
import pytest

import mnist_report.reporting
from mnist_report.config.figures import FIGURES
from mnist_report.config.params import check_params
from mnist_report.reporting import context, latex, templates
from support.paths import REPO
from support.report_project import TEMPLATES, make_repo

TEMPLATE_DIR = REPO / "report" / "templates"
TEMPLATE_FILES = sorted(path.name for path in TEMPLATE_DIR.glob("*.j2"))
ENVIRONMENT = templates.make_environment(TEMPLATE_DIR, {"loss_decimals": 4, "accuracy_decimals": 2})
ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow, nodes.Neg,
              nodes.Pos, nodes.Concat)


def tree(name: str) -> nodes.Template:
    return ENVIRONMENT.parse((TEMPLATE_DIR / name).read_text(encoding="utf-8"), name)


def lookup_only(node: nodes.Node) -> bool:
    """True for a name, or attributes and constant items of one (``task2.binary``, ``figures["2b"]``)."""
    if isinstance(node, nodes.Name):
        return True
    if isinstance(node, nodes.Getattr):
        return lookup_only(node.node)
    if isinstance(node, nodes.Getitem):
        return isinstance(node.arg, nodes.Const) and lookup_only(node.node)
    return False


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_no_arithmetic_in_a_template(name):
    found = [f"line {node.lineno}: {type(node).__name__}" for node in tree(name).find_all(ARITHMETIC)]
    assert not found, f"{name} computes: {found}; compute the fact in Python and name it"


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_a_set_only_names_a_fact_of_the_context(name):
    for assign in tree(name).find_all(nodes.Assign):
        target = assign.target
        assert isinstance(target, nodes.Name) and len(target.name) > 3, (
            f"{name}:{assign.lineno}: set {target!r}: one name, longer than three letters")
        assert lookup_only(assign.node), f"{name}:{assign.lineno}: set {target.name} computes; name the fact in Python"


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_comparisons_only_choose_by_the_name_of_a_fact(name):
    for compare in tree(name).find_all(nodes.Compare):
        operands = [operand.expr for operand in compare.ops]
        assert [operand.op for operand in compare.ops] == ["eq"] and all(
            isinstance(operand, nodes.Const) and isinstance(operand.value, str) for operand in operands), (
            f"{name}:{compare.lineno}: a comparison of values; make it a fact with a name (x == \"name\" only)")
    tests = [test.name for test in tree(name).find_all(nodes.Test)]
    assert not tests, f"{name}: tests {tests} (is none...); give the fact a name that says it"


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_no_raw_tex_filter(name):
    filters = {node.name for node in tree(name).find_all(nodes.Filter)}
    assert "tex" not in filters  # filters and macros return LaTeX; no |tex
    assert filters <= set(ENVIRONMENT.filters), filters - set(ENVIRONMENT.filters)


def test_the_checks_catch_what_they_forbid():
    bad = ENVIRONMENT.parse(r"\BLOCK{set d = a.x - b.x}\BLOCK{if a.x > b.x}x\BLOCK{endif}\BLOCK{if a is none}y\BLOCK{endif}")
    assert list(bad.find_all(ARITHMETIC)) and not lookup_only(next(bad.find_all(nodes.Assign)).node)
    assert next(bad.find_all(nodes.Compare)).ops[0].op == "gt" and list(bad.find_all(nodes.Test))
    with pytest.raises(jinja2.TemplateSyntaxError):
        ENVIRONMENT.parse(r"\BLOCK{if}")


def fresh_render(context: dict, template_dir: Path, bytecode_dir: Path | None) -> str:
    """Renders as a new process of the stage would: no environment kept from an earlier render."""
    templates._environment.cache_clear()
    return templates.render(context, template_dir, bytecode_dir=bytecode_dir)


@pytest.fixture
def report_context(tmp_path) -> dict:
    root = tmp_path / "repo"
    root.mkdir()
    return context.build_context(check_params(make_repo(root)), root)


def test_compiled_templates_are_kept_and_render_the_text_of_a_fresh_compilation(report_context, tmp_path, monkeypatch):
    cache = tmp_path / "jinja"
    clean = fresh_render(report_context, TEMPLATES, None)
    assert fresh_render(report_context, TEMPLATES, cache) == clean
    assert len(list(cache.glob("*.jinja"))) == len(list(TEMPLATES.glob("*.j2")))
    # A new process compiles nothing: every template comes from the cache, with the same text.
    monkeypatch.setattr(jinja2.Environment, "compile", lambda *args, **kwargs: pytest.fail("compiled again"))
    assert fresh_render(report_context, TEMPLATES, cache) == clean


def test_an_edited_template_is_compiled_again(report_context, tmp_path):
    folder = shutil.copytree(TEMPLATES, tmp_path / "templates")
    cache = tmp_path / "jinja"
    fresh_render(report_context, folder, cache)
    text = (folder / "report.tex.j2").read_text()
    assert "\\end{document}" in text
    (folder / "report.tex.j2").write_text(text.replace("\\end{document}", "Edited.\n\\end{document}"))
    edited = fresh_render(report_context, folder, cache)
    assert "Edited.\n\\end{document}" in edited
    assert edited == fresh_render(report_context, folder, None)


def test_another_environment_compiles_again_under_another_key(report_context, tmp_path, monkeypatch):
    cache = tmp_path / "jinja"
    fresh_render(report_context, TEMPLATES, cache)
    kept = set(cache.glob("*.jinja"))
    # The environment's settings are templates.py's source: an edit there is another environment.
    source = Path(templates.__file__).read_text(encoding="utf-8")
    edited = tmp_path / "templates.py"
    edited.write_text(source.replace("trim_blocks=True", "trim_blocks=False"), encoding="utf-8")
    number_format = report_context["number_format"]
    digest = templates.environment_digest(number_format)
    monkeypatch.setattr(templates, "__file__", str(edited))
    assert templates.environment_digest(number_format) != digest
    compiled = []
    real_compile = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile", lambda self, *a, **k: compiled.append(1) or real_compile(self, *a, **k))
    fresh_render(report_context, TEMPLATES, cache)
    assert len(compiled) == len(kept)
    assert kept < set(cache.glob("*.jinja")) and len(set(cache.glob("*.jinja")) - kept) == len(kept)
    monkeypatch.setattr(jinja2, "__version__", "0.0-other")
    assert templates.environment_digest(number_format) != digest


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],  # cut short: marshal fails
    # Jinja2's magic whole, then no pickle of a checksum: Jinja2 lets pickle's error through
    lambda data: jinja2.bccache.bc_magic + b"\x80\x02garbage",
], ids=["truncated", "garbled-checksum"])
def test_a_damaged_compiled_template_is_compiled_again(report_context, tmp_path, damage):
    cache = tmp_path / "jinja"
    clean = fresh_render(report_context, TEMPLATES, cache)
    for path in cache.glob("*.jinja"):
        path.write_bytes(damage(path.read_bytes()))
    assert fresh_render(report_context, TEMPLATES, cache) == clean


@pytest.mark.parametrize("changed", ["number_format", "latex.py"])
def test_a_constant_folded_at_compile_time_follows_the_number_format_and_the_filters(tmp_path, monkeypatch, changed):
    """Jinja2 applies a filter to a constant when it compiles (the text is in the kept code): a new
    number format, or new filter code, must compile again, not print the old text."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "constant.tex.j2").write_text("\\VAR{0.123456|loss}\n")
    cache = tmp_path / "jinja"

    def rendered(loss_decimals: int) -> str:
        templates._environment.cache_clear()
        context = {"number_format": {"loss_decimals": loss_decimals, "accuracy_decimals": 2}}
        return templates.render(context, folder, "constant.tex.j2", bytecode_dir=cache)

    assert rendered(4) == "0.1235\n"
    if changed == "number_format":
        assert rendered(2) == "0.12\n"
    else:  # the same number format, other filter code: latex.fixed rounds to one decimal fewer
        source = Path(latex.__file__).read_text(encoding="utf-8")
        edited = tmp_path / "latex.py"
        edited.write_text(source + "\n# edited\n", encoding="utf-8")
        monkeypatch.setattr(latex, "__file__", str(edited))
        monkeypatch.setattr(latex, "fixed", lambda value, decimals: f"{value:.{decimals - 1}f}")
        assert rendered(4) == "0.123\n"


# --- the literals a template compares, against the values of their facts -------------------------

def fact_values() -> dict[str, set[str]]:
    """Fact name -> its possible values: every ``StrEnum`` of the reporting layer, under its class name
    in snake case (``RiseCount`` holds the values of ``rise_count``)."""
    found: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(mnist_report.reporting.__path__):
        module = importlib.import_module(f"mnist_report.reporting.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, StrEnum) and value.__module__ == module.__name__:
                name = re.sub(r"(?<!^)(?=[A-Z])", "_", value.__name__).lower()
                assert name not in found, f"two enums name the fact {name}"
                found[name] = {member.value for member in value}
    return found


def caller_values(trees: dict[str, nodes.Template]) -> dict[str, set[str]]:
    """Argument of a ``call(...)`` block -> the literals the macro it calls passes to ``caller`` at
    that position (``\\BLOCK{call(part) figure(...)}``: ``part`` is ``short`` or ``long``)."""
    macros = {macro.name: macro for tree in trees.values() for macro in tree.find_all(nodes.Macro)}
    found: dict[str, set[str]] = {}
    for tree in trees.values():
        for block in tree.find_all(nodes.CallBlock):
            macro = macros[block.call.node.name]
            calls = [call for call in macro.find_all(nodes.Call)
                     if isinstance(call.node, nodes.Name) and call.node.name == "caller"]
            for position, argument in enumerate(block.args):
                found.setdefault(argument.name, set()).update(
                    call.args[position].value for call in calls if isinstance(call.args[position], nodes.Const))
    return found


def fact_name(node: nodes.Node, tree: nodes.Template) -> str:
    """The fact an operand names: its last attribute (``shuffling.rise_count``: ``rise_count``), or for
    a name ``set`` from a fact, that fact's."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    assert isinstance(node, nodes.Name), node
    for assign in tree.find_all(nodes.Assign):
        if assign.target.name == node.name and isinstance(assign.node, nodes.Getattr):
            return assign.node.attr
    return node.name


def compared_literals(trees: dict[str, nodes.Template]) -> list[tuple[str, int, str, str]]:
    """(template, line, fact, literal) of every ``fact == "literal"`` in the templates."""
    return [(name, compare.lineno, fact_name(compare.expr, tree), operand.expr.value)
            for name, tree in trees.items() for compare in tree.find_all(nodes.Compare)
            for operand in compare.ops if isinstance(operand.expr, nodes.Const)]


def misspelt(trees: dict[str, nodes.Template]) -> list[str]:
    values = fact_values() | caller_values(trees)
    return [f"{name}:{line}: {fact} == {literal!r}: " + (
                f"{fact} is one of {', '.join(sorted(values[fact]))}" if fact in values
                else f"no StrEnum gives the values of {fact}")
            for name, line, fact, literal in compared_literals(trees) if literal not in values.get(fact, ())]


def test_every_literal_a_template_compares_is_a_value_of_its_fact():
    trees = {name: tree(name) for name in TEMPLATE_FILES}
    assert len(compared_literals(trees)) >= 33  # the templates choose their sentences so today
    assert misspelt(trees) == []


def test_a_misspelt_value_or_a_fact_without_an_enum_is_found():
    macro = tree("macros.tex.j2")
    trees = {"macros.tex.j2": macro, "t": ENVIRONMENT.parse(
        r'\BLOCK{set how = run.ending}\BLOCK{if how == "stoped_early"}a\BLOCK{elif run.ending == "stopped_early"}b'
        r'\BLOCK{elif run.mood == "happy"}c\BLOCK{endif}'
        r'\BLOCK{call(part) figure(figures.x)}\BLOCK{if part == "shrot"}d\BLOCK{endif}\BLOCK{endcall}')}
    assert misspelt(trees) == [
        "t:1: ending == 'stoped_early': ending is one of never_triggered, no_early_stopping, stopped_early",
        "t:1: mood == 'happy': no StrEnum gives the values of mood",
        "t:1: part == 'shrot': part is one of long, short",
    ]


def figure_calls(trees: dict[str, nodes.Template]) -> list[tuple[str, nodes.Call]]:
    """(template, call) of every call of the ``figure`` macro in the templates."""
    return [(name, call) for name, tree in trees.items() for call in tree.find_all(nodes.Call)
            if isinstance(call.node, nodes.Name) and call.node.name == "figure"]


def test_each_figure_of_the_registry_is_placed_once_in_the_template_its_entry_names():
    calls = figure_calls({name: tree(name) for name in TEMPLATE_FILES})
    placed = [(name, call.args[0].arg.value) for name, call in calls
              if isinstance(call.args[0], nodes.Getitem) and isinstance(call.args[0].arg, nodes.Const)]
    assert sorted(placed) == sorted((entry.template, entry.name) for entry in FIGURES)
    assert len(calls) == len(placed)  # every figure a template places, it names by a constant
