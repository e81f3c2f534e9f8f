"""The templates hold prose and mathematics: no arithmetic, no computed variables, no cryptic names.

Every decision the prose depends on is a named fact computed in Python (``mnist_report.facts_*``);
a template only chooses a sentence by its name (``\\BLOCK{if shuffling.rise_size == "smaller"}``).
These tests read the templates' syntax trees, so that a new ``\\BLOCK{set gap = a - b}`` fails.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import jinja2.nodes as nodes
import pytest

from mnist_report.reporting import templates

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "report" / "templates"
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
