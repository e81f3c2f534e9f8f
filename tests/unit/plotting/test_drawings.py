"""plotting/drawings.py, the figures drawn from data a test writes by hand: block means and their band, the y limits drawn, the legend's place and columns, the tiles and colour bars of 4b, the points and lines of 4e, the PNG and PDF bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
import numpy as np
import pytest
from mnist_report.plotting import drawings as plots
from mnist_report.plotting.drawings import block_mean_std
from matplotlib import rc_context  # noqa: E402  (kept with the tests below, so that merges stay clean)
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402


def test_block_mean_std_by_hand_drops_the_partial_block_and_plots_at_the_middle_step():
    steps = np.arange(100, 125)  # 25 recorded steps: two blocks of 10, five left over
    values = np.array([1.0, 3.0] * 5 + list(range(10)) + [50.0] * 5)
    block_step, mean, std = block_mean_std(steps, values, 10)
    np.testing.assert_array_equal(block_step, [105, 115])  # index 5 of each block
    # Block 1: five 1s and five 3s: mean 2, every deviation 1. Block 2: 0..9: mean 4.5,
    # variance (sum of (k - 4.5)^2) / 10 = 82.5 / 10.
    np.testing.assert_allclose(mean, [2.0, 4.5])
    np.testing.assert_allclose(std, [1.0, (82.5 / 10) ** 0.5])


@pytest.mark.parametrize("values, extent, expected", [
    ([0.5, 0.5, 5.0, 5.0], (0.5, 5.0), (0.0, 1.0)),           # half inside: the zoom is kept
    ([0.5, 5.0, 5.0, 5.0], (0.5, 5.0), (0.0, 5.0 + 0.25)),    # most outside, above: the top widens
    ([-1.0, -1.0, 3.0, 0.5], (-1.0, 3.0), (-1.2, 3.2)),       # both sides: 5 % of 4 each
])
def test_y_limits_to_draw_by_hand(values, extent, expected):
    shown = plots.y_limits_to_draw((0.0, 1.0), [np.array([0.5] * 4), np.array(values)], extent)
    assert shown == pytest.approx(expected)


def test_4e_by_hand_points_for_positive_lambdas_and_a_dashed_c1_line_for_each_unpenalised_run():
    with plots.figure_style(12):
        figure = plots.weight_norm_figure(
            [0.0, 0.0, 0.001, 0.01], [9.0, 8.0, 4.0, 1.0], x_label="lambda", y_label="norm", y_scale="log",
            legend=["lambda > 0", "lambda = 0"], size_inches=[4.0, 3.0])
        ax = figure.axes[0]
        assert tuple(figure.get_size_inches()) == (4.0, 3.0)
        assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
        points, *unpenalised = ax.get_lines()
        assert (points.get_marker(), points.get_linestyle()) == ("o", "-")
        for line, norm in zip(unpenalised, [9.0, 8.0], strict=True):
            np.testing.assert_array_equal(line.get_ydata(), [norm, norm])
            assert line.get_linestyle() == "--" and to_hex(line.get_color()) == to_hex("C1")  # one colour: one meaning
        low, high = ax.get_xlim()
        assert low < 0.001 and 0.01 < high < 1.0  # the lines' room is made in y only: x stays the lambdas'
        assert ax.get_ylim()[0] < 1.0 and 9.0 < ax.get_ylim()[1]
        assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale()) == ("lambda", "norm", "log")
        assert [line.get_alpha() for line in ax.xaxis.get_gridlines()] == [0.3] * len(ax.xaxis.get_gridlines())
        assert ax.xaxis.get_gridlines() and all(line.get_visible() for line in ax.yaxis.get_gridlines())


def test_render_png_gives_png_bytes_whatever_the_default_format():
    figure = Figure(figsize=(1, 1))
    with rc_context({"savefig.format": "svg"}):
        data = plots.render_png(figure, 10)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and b"Software" not in data


def test_4b_with_one_row_at_its_size_and_constrained():
    weights = np.arange(785 * 10, dtype=float).reshape(785, 10) - 3000
    figure = plots.weights_figure([("only", weights)], size_inches=[6.0, 1.0])
    assert tuple(figure.get_size_inches()) == (6.0, 1.0)
    assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
    tiles = [ax for ax in figure.axes if ax.get_images()]
    assert len(tiles) == 10 and tiles[0].get_ylabel() == "only"
    np.testing.assert_array_equal(tiles[3].get_images()[0].get_array(), weights[:784, 3].reshape(28, 28))
    image = tiles[3].get_images()[0]
    # One scale per row, symmetric about 0 up to the largest |pixel weight|: 783 * 10 + 9 - 3000 = 4839 (the
    # bias row, up to 4849, left out).
    assert image.get_clim() == (-4839.0, 4839.0) and image.get_cmap().name == "RdBu_r"
    assert image.get_interpolation() == "nearest"
    zero = plots.weights_figure([("zero", np.zeros((785, 10)))], size_inches=[6.0, 1.0])
    assert zero.axes[0].get_images()[0].get_clim() == (-1.0, 1.0)  # all zero: a scale of +-1, not of 0


@pytest.mark.parametrize("values, expected", [
    ([0.0, 0.0, 5.0], (0.0, 1.0)),     # points on a limit are inside it
    ([1.0, 1.0, 5.0], (0.0, 1.0)),
    ([-4.0, -4.0, 0.5], (-4.25, 1.0)),  # widened below only: 5 % of 5 there, the top stays
])
def test_y_limits_to_draw_at_the_limits_by_hand(values, expected):
    assert plots.y_limits_to_draw((0.0, 1.0), [np.array(values)], (min(values), max(values))) == expected


def test_block_means_are_taken_in_double_precision():
    # In float32, 1 + 2**-30 rounds to 1; the mean of the block is 0.5 + 2**-31.
    _, mean, _ = block_mean_std(np.arange(2), np.array([1.0, 2.0 ** -30], dtype=np.float32), 2)
    assert mean.tolist() == [0.5 + 2.0 ** -31]


@pytest.mark.parametrize("label, columns", [("short", 2), ("a label too long to sit beside another", 1)])
def test_the_legend_sits_above_the_axes_frameless_in_as_many_columns_as_fit(label, columns):
    curves = [plots.Curve(f"{label} {k}", np.arange(3), np.arange(3.0) + k) for k in range(2)]
    with plots.figure_style(12):
        figure = plots.steps_figure(curves, x_label="step", y_label="loss", y_limits=None, size_inches=[5.0, 3.8])
        FigureCanvasAgg(figure).draw()
        (legend,) = figure.legends
        assert legend._ncols == columns and not legend.get_frame_on()
        box, axes = legend.get_window_extent(), figure.axes[0].get_window_extent()
        assert box.y0 >= axes.y1 and box.width <= figure.bbox.width  # above the axes, within the figure
        assert abs((box.x0 + box.x1) / 2 - figure.bbox.width / 2) < 0.05 * figure.bbox.width  # centred


def test_a_block_averaged_curves_legend_key_shows_its_band_and_the_next_key_the_next_line():
    curves = [plots.Curve("block", np.arange(20), np.arange(20.0), 5), plots.Curve("raw", np.arange(20), np.arange(20.0))]
    with plots.figure_style(12):
        figure = plots.steps_figure(curves, x_label="step", y_label="loss", y_limits=None, size_inches=[5.0, 3.8])
    band_key, line_key = figure.legends[0].legend_handles
    # The key of (band, line) starts with the band's patch, in the first colour at the band's alpha.
    assert band_key.__class__.__name__ == "Rectangle" and to_hex(band_key.get_facecolor()) == "#1f77b4"
    assert band_key.get_facecolor()[3] == 0.25
    assert to_hex(line_key.get_color()) == "#ff7f0e"  # the second curve's line, not the first one's band


def test_a_legend_exactly_as_wide_as_the_figure_keeps_its_columns_and_one_pixel_less_does_not():
    curves = [plots.Curve(f"label {k}", np.arange(3), np.arange(3.0) + k) for k in range(2)]
    with plots.figure_style(12):
        def legend_of(width):
            figure = plots.steps_figure(curves, x_label="s", y_label="l", y_limits=None, size_inches=[width, 3.8])
            (legend,) = figure.legends
            return figure, legend, legend.get_window_extent(FigureCanvasAgg(figure).get_renderer()).width

        figure, legend, width = legend_of(5.0)
        assert legend._ncols == 2
        figure, legend, exact = legend_of(width / figure.dpi)
        assert figure.bbox.width == width == exact and legend._ncols == 2  # the boundary: it fits
        figure, legend, _ = legend_of(np.nextafter(width / figure.dpi, 0))
        assert figure.bbox.width < width and legend._ncols == 1


def test_each_rows_colour_bar_is_six_times_as_tall_as_wide_with_small_tick_labels():
    weights = np.arange(785 * 10, dtype=float).reshape(785, 10) - 3000
    with plots.figure_style(12):
        figure = plots.weights_figure([("a", weights), ("b", weights / 2)], size_inches=[6.4, 1.6])
        FigureCanvasAgg(figure).draw()
    bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 2
    # Each bar shows its row's scale: +-4839 (the largest |pixel weight|, 783 * 10 + 9 - 3000), then half.
    assert [bar.get_ylim() for bar in bars] == [(-4839.0, 4839.0), (-2419.5, 2419.5)]
    for bar in bars:
        assert bar.get_box_aspect() == 6.0
        sizes = [label.get_fontsize() for label in bar.get_yticklabels()]
        assert sizes and sizes == pytest.approx([12 * 0.833] * len(sizes))  # "small": 0.833 of the font size


def test_steps_figure_by_hand_its_size_layout_band_styles_limits_and_grid(capsys):
    curves = [plots.Curve("train", np.arange(10), np.r_[1.0, 3.0].repeat(5), 5, linestyle="--"),
              plots.Curve("val", np.array([0, 4, 8]), np.array([0.5, 1.5, 2.5]), linestyle=":")]
    with plots.figure_style(12):
        figure = plots.steps_figure(curves, x_label="steps", y_label="loss", y_limits=[0.0, 5.0],
                                    size_inches=[4.0, 3.0], name="2b_loss")
        FigureCanvasAgg(figure).draw()
    assert tuple(figure.get_size_inches()) == (4.0, 3.0)
    assert isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)
    ax = figure.axes[0]
    (mean_line, val_line) = ax.get_lines()
    assert mean_line.get_linestyle() == "--" and val_line.get_linestyle() == ":"
    # Blocks of 5 values, [1] * 5 and [3] * 5: their means, at their middle steps 2 and 7.
    np.testing.assert_array_equal(mean_line.get_xdata(), [2, 7])
    np.testing.assert_array_equal(mean_line.get_ydata(), [1.0, 3.0])
    (band,) = ax.collections
    assert to_hex(band.get_facecolor()[0]) == to_hex(mean_line.get_color()) and band.get_facecolor()[0][3] == 0.25
    assert list(band.get_linewidth()) == [0.0]
    assert ax.get_xlabel() == "steps" and ax.get_ylabel() == "loss"
    assert ax.get_xlim()[0] == 0 and ax.get_ylim() == (0.0, 5.0)
    gridlines = ax.xaxis.get_gridlines() + ax.yaxis.get_gridlines()
    assert gridlines and all(line.get_visible() and line.get_alpha() == 0.3 for line in gridlines)
    assert capsys.readouterr().out == ""  # the data lies within y_limits: nothing said


def test_steps_figure_without_limits_scales_to_the_data_and_with_hiding_limits_names_the_figure(capsys):
    curves = [plots.Curve("val", np.array([1, 4, 8]), np.array([10.0, 20.0, 30.0]))]
    with plots.figure_style(12):
        free = plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=None, size_inches=[4.0, 3.0])
        low, high = free.axes[0].get_ylim()
        assert low <= 10.0 and high >= 30.0 and free.axes[0].get_xlim()[0] == 0
        plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=[0, 1], size_inches=[4.0, 3.0])
        plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=[0, 1], size_inches=[4.0, 3.0], name="3b_loss")
    # 10..30 against [0, 1]: widened to [0, 30 + 5 % of 30] = [0, 31.5].
    said = "most of a curve lies outside y_limits [0, 1] (data from 10 to 30); drawn with y from 0 to 31.5 instead"
    assert capsys.readouterr().out.splitlines() == [f"figures: loss: {said}", f"figures: 3b_loss: {said}"]


def test_4b_digit_titles_sit_3_points_above_in_the_text_size_and_row_labels_read_level_at_the_left():
    weights = np.arange(785 * 10, dtype=float).reshape(785, 10) - 3000
    with plots.figure_style(12):
        figure = plots.weights_figure([("row a", weights), ("row b", -weights)], size_inches=[6.4, 1.6])
        FigureCanvasAgg(figure).draw()
    tiles = [ax for ax in figure.axes if ax.get_images()]
    for ax in tiles[:10]:
        title = ax.title
        assert title.get_fontsize() == 12.0  # "medium": the figures' font size
        assert tuple(ax.titleOffsetTrans.transform((0, 0))) == pytest.approx((0, 3 / 72 * figure.dpi))  # 3 points
    for ax in (tiles[0], tiles[10]):
        label = ax.yaxis.label
        assert label.get_rotation() == 0 and label.get_horizontalalignment() == "right"
        assert label.get_verticalalignment() == "center"


def test_a_curve_of_blocks_of_two_is_averaged_with_a_band_in_its_own_lines_colour():
    raw = plots.Curve("raw", np.arange(4), np.arange(4.0))
    pairs = plots.Curve("pairs", np.arange(4), np.array([1.0, 3.0, 5.0, 9.0]), 2)
    with plots.figure_style(12):
        figure = plots.steps_figure([raw, pairs], x_label="s", y_label="l", y_limits=None, size_inches=[4.0, 3.0])
    ax = figure.axes[0]
    np.testing.assert_array_equal(ax.get_lines()[1].get_xdata(), [1, 3])  # the middle step of each pair
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [2.0, 7.0])
    (band,) = ax.collections  # one band, for the averaged curve only: +-1 and +-2 around the means
    assert band.get_paths()[0].vertices[:, 1].min() == 1.0 and band.get_paths()[0].vertices[:, 1].max() == 9.0
    # The second line is C1; a band left to matplotlib's colour cycle would take C0, the first patch colour.
    assert to_hex(band.get_facecolor()[0]) == to_hex(ax.get_lines()[1].get_color()) == "#ff7f0e"


def test_4b_colour_bars_span_their_row_close_to_its_last_tile_inside_the_figure():
    weights = np.arange(785 * 10, dtype=float).reshape(785, 10) - 3000
    with plots.figure_style(12):
        figure = plots.weights_figure([("a", weights), ("b", weights / 2)], size_inches=[6.4, 1.6])
        FigureCanvasAgg(figure).draw()
    tiles = [ax for ax in figure.axes if ax.get_images() and ax.get_label() != "<colorbar>"]
    bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
    for row, bar in enumerate(bars):
        box, first, last = bar.get_position(), tiles[row * 10].get_position(), tiles[row * 10 + 9].get_position()
        assert box.y0 <= first.y0 and box.y1 >= first.y1  # as tall as the row at least (not one tile's slice)
        assert last.x1 < box.x0 < last.x1 + first.width / 4 and box.x1 <= 1  # just right of the row, in view


def test_limits_are_widened_to_the_top_of_a_band_when_it_is_the_highest_point_drawn(capsys):
    # Blocks of [0, 10]: mean 5, std 5, a band from 0 to 10 that all of [100, 101] misses.
    curves = [plots.Curve("train", np.arange(4), np.array([0.0, 10.0, 0.0, 10.0]), 2)]
    with plots.figure_style(12):
        figure = plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=[100, 101], size_inches=[4.0, 3.0])
    # [min(100, 0), max(101, 10)] = [0, 101], widened below only by 5 % of 101.
    assert figure.axes[0].get_ylim() == pytest.approx((-5.05, 101))
    assert capsys.readouterr().out == ("figures: loss: most of a curve lies outside y_limits [100, 101] (data from 0 "
                                       "to 10); drawn with y from -5.05 to 101 instead\n")


def test_the_widened_limits_line_is_out_at_once_even_if_the_stage_dies_right_after(capsys):
    # DVC reads the stage's output through a pipe, where print buffers: a stage killed later (os._exit
    # here) must not lose the line. The same drawing in-process, for the line itself.
    curves = [plots.Curve("c", np.array([0, 1, 2]), np.array([10.0, 20.0, 30.0]))]
    plots.steps_figure(curves, x_label="s", y_label="loss", y_limits=[0, 1], size_inches=[4.0, 3.0])
    line = capsys.readouterr().out
    assert line.startswith("figures: loss: most of a curve lies outside y_limits [0, 1]")
    code = ("import os, numpy as np; from mnist_report.plotting import drawings; drawings.steps_figure([drawings.Curve('c', "
            "np.array([0, 1, 2]), np.array([10.0, 20.0, 30.0]))], x_label='s', y_label='loss', y_limits=[0, 1], "
            "size_inches=[4.0, 3.0]); os._exit(0)")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}  # as a user runs it
    env["PYTHONPATH"] = str(Path(plots.__file__).parents[2])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out == line
