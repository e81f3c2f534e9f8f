"""reporting/context.py's small pieces, against values written out by hand: a figure's LaTeX label, what
``report.provenance`` prints, and the ``\\graphicspath`` of the figures' folders seen from report.tex.
(The whole context, rendered: tests/unit/test_report.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_report.common.errors import PipelineError
from mnist_report.reporting.context import figure_label, graphics_path, provenance_facts


def test_a_figures_label_is_fig_and_its_name_with_dashes():
    assert figure_label("2b_loss") == "fig:2b-loss"
    assert figure_label("4c_val_accuracy") == "fig:4c-val-accuracy"


def test_full_provenance_prints_trace_lines_and_digest_tables_and_summary_neither():
    assert provenance_facts("full") == {"trace_lines": True, "digest_tables": True}
    assert provenance_facts("summary") == {"trace_lines": False, "digest_tables": False}


def test_the_graphics_path_lists_each_figures_folder_relative_to_the_tex_in_order():
    tex = Path("report/build/report.tex")
    assert graphics_path(tex, Path("report/build/figures"), Path("report/figures")) == "{figures/}{../figures/}"
    assert graphics_path(Path("report.tex"), Path("report/figures")) == "{report/figures/}"


def test_a_figures_folder_latex_would_not_read_as_a_path_is_refused_naming_it():
    with pytest.raises(PipelineError) as refusal:
        graphics_path(Path("report/build/report.tex"), Path("report/my figures"))
    assert str(refusal.value) == ("report/my figures: the figures' path from report/build (../my figures/) "
                                  "must be letters, digits, '.', '/' and '-' only")
