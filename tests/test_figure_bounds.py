"""The figures' size, dpi and font size, at and past every bound, through the figures stage: one line
naming the key, or figures that draw in bounded memory and print legibly (layout.print_scale gives the
size at which the report prints each figure)."""

from __future__ import annotations

import pytest
import yaml
from test_figures import params, root  # noqa: F401  (fixtures)

from mnist_report import figures
from mnist_report.config import layout
from mnist_report.config.figures import PRINT_WIDTH, print_width
from mnist_report.plotting import recipes
from mnist_report.plotting.render import MAX_SIDE_PIXELS, PRINTED_TYPE_PT

#: The print width of the figures that share figures.size_inches: 0.66 of the 160-mm text width.
PRINT_INCHES = PRINT_WIDTH * layout.TEXT_WIDTH_MM / 25.4


def test_a_figure_prints_at_its_width_or_smaller_when_it_would_be_too_tall():
    assert layout.print_scale(print_width("2b_loss"), (5.0, 3.8)) == pytest.approx(PRINT_INCHES / 5.0)
    assert layout.print_scale(print_width("4b_weights"), (6.4, 1.6)) == pytest.approx(160 / 25.4 / 6.4)
    # 5 x 10 inches: 0.42 of the 247-mm text height is 4.08 inches, so it prints at 0.408 of its size.
    assert layout.print_scale(print_width("2b_loss"), (5.0, 10.0)) == pytest.approx(0.42 * 247 / 25.4 / 10.0)


def run_stage(params: dict, root, monkeypatch, capsys) -> tuple[int, str]:
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    status = figures.main([])
    return status, capsys.readouterr().err


# Type printed at exactly the bounds, with the 12-pt font: width = 12 * PRINT_INCHES / printed size.
LARGEST = 12 * PRINT_INCHES / PRINTED_TYPE_PT[0]
SMALLEST = 12 * PRINT_INCHES / PRINTED_TYPE_PT[1]


@pytest.mark.parametrize("edit, complaint", [
    pytest.param({"size_inches": [0.01, 0.01]}, "figures.size_inches = [0.01, 0.01]: figure 2b_loss prints at",
                 id="2x2-pixel-figures"),
    pytest.param({"size_inches": [SMALLEST * 0.99, SMALLEST * 0.99 * 0.76]}, "expected the type to print at 5 to 20 pt",
                 id="type-just-too-large-in-print"),
    pytest.param({"size_inches": [LARGEST * 1.01, LARGEST * 1.01 * 0.76], "dpi": 100},
                 "expected the type to print at 5 to 20 pt", id="type-just-too-small-in-print"),
    pytest.param({"size_inches": [1000, 1000], "dpi": 200}, "figures.dpi = 200 with figures.size_inches = [1000, 1000]: figure "
                 "2b_loss would be 200000 pixels on a side; expected at most 4000", id="1000-inches"),
    pytest.param({"dpi": 10000}, "figures.dpi = 10000 with figures.size_inches = [5, 3.8]: figure 2b_loss would be "
                 "50000 pixels", id="dpi-10000"),
    pytest.param({"dpi": int(MAX_SIDE_PIXELS / 6.4) + 1}, "figure 4b_weights would be 4006 pixels on a side", id="dpi-one-past"),
    pytest.param({"dpi": 50}, "would print at 60 pixels per inch; expected at least 72",
                 id="dpi-too-low"),
])
def test_a_size_or_dpi_past_its_bound_is_one_line_naming_the_key(params, root, monkeypatch, capsys, edit, complaint):
    params["figures"].update(edit)
    status, err = run_stage(params, root, monkeypatch, capsys)
    assert status == 1 and err.count("\n") == 1 and err.startswith("error: figures.") and complaint in err, err
    assert not (root / "report/figures").exists()


def test_the_4b_figures_own_size_is_checked_under_its_own_key(params, root, monkeypatch, capsys):
    params["figures"].update({"dpi": 200})
    params["figures"]["4b_weights"]["size_inches"] = [0.5, 0.1]
    status, err = run_stage(params, root, monkeypatch, capsys)
    assert status == 1 and err.startswith("error: figures.4b_weights.size_inches = [0.5, 0.1]: figure 4b_weights")


@pytest.mark.slow  # draws the nine figures at the bounds
@pytest.mark.parametrize("edit", [
    # 4b_weights is the widest figure (6.4 inches): 625 dpi makes it 4000 pixels wide.
    pytest.param({"dpi": int(MAX_SIDE_PIXELS / 6.4)}, id="dpi-at-the-pixel-bound"),
    pytest.param({"dpi": 72, "size_inches": [LARGEST, LARGEST * 0.76]}, id="widest-at-the-print-bound"),
    pytest.param({"size_inches": [SMALLEST * 1.0001, SMALLEST * 0.76], "dpi": 300}, id="narrowest"),
])
def test_values_at_the_bounds_draw(params, root, monkeypatch, capsys, edit):
    params["figures"].update(edit)
    status, err = run_stage(params, root, monkeypatch, capsys)
    assert status == 0, err
    assert len(list((root / "report/figures").glob("*.png"))) == len(recipes.FIGURE_NAMES)
