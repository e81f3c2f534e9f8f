"""config/layout.py: the size at which the report prints each figure (layout.print_scale), worked out
from the text's width and height by hand. (The figures' size, dpi and font size at and past every
bound, through the figures stage: tests/unit/test_figures.py, tests/integration/test_figures.py.)"""

from __future__ import annotations

import pytest

from mnist_report.config import layout
from mnist_report.config.figures import PRINT_WIDTH, print_width

#: The print width of the figures that share figures.size_inches: 0.66 of the 160-mm text width.
PRINT_INCHES = PRINT_WIDTH * layout.TEXT_WIDTH_MM / 25.4


def test_a_figure_prints_at_its_width_or_smaller_when_it_would_be_too_tall():
    assert layout.print_scale(print_width("2b_loss"), (5.0, 3.8)) == pytest.approx(PRINT_INCHES / 5.0)
    assert layout.print_scale(print_width("4b_weights"), (6.4, 1.6)) == pytest.approx(160 / 25.4 / 6.4)
    # 5 x 10 inches: 0.42 of the 247-mm text height is 4.08 inches, so it prints at 0.408 of its size.
    assert layout.print_scale(print_width("2b_loss"), (5.0, 10.0)) == pytest.approx(0.42 * 247 / 25.4 / 10.0)
