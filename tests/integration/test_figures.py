"""The figures stage drawing every figure to files (seconds each): at the bounds of its size and dpi, byte for byte again, as vectors, from the stage's own params.yaml; and redrawing only what a change concerns."""

from __future__ import annotations

import pytest
from mnist_report import figures
from mnist_report.plotting import recipes
from mnist_report.plotting.render import MAX_SIDE_PIXELS
from support.figure_runs import draw_all, incremental_equals_clean, make_run, params, root  # noqa: F401  (fixtures)
import json
import re
import matplotlib.image
import numpy as np
from mnist_report.config.figures import FIGURE_NAMES, input_paths
from mnist_report.config.params import check_params
from support.figure_runs import LARGEST, SMALLEST, run_stage
from support.yaml_files import yaml_text


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


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_draw_all_writes_every_figure_as_a_pdf_and_a_png_that_is_not_blank(params, root):
    written = draw_all(params, root)
    assert [path.name for path in written] == [f"{name}.{kind}" for name in FIGURE_NAMES for kind in ("pdf", "png")]
    assert {path.parent for path in written[::2]} == {root / "report/build/figures"}
    for path in written[1::2]:
        assert path.parent == root / "report/figures"
        pixels = matplotlib.image.imread(path)
        assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 1, path.name
    assert matplotlib.image.imread(written[1]).shape[:2] == (int(3.8 * 72), int(5.0 * 72))  # 273.6 pixels: 273


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_the_pdfs_are_vectors_in_computer_modern_with_no_date(params, root):
    # The report includes the PDFs: text in the body's typeface (Computer Modern, from which Latin
    # Modern is drawn), embedded as TrueType; curves as paths; nothing that changes run to run.
    written = {path.name: path.read_bytes() for path in draw_all(params, root)}
    for name in FIGURE_NAMES:
        data = written[f"{name}.pdf"]
        assert data.startswith(b"%PDF-")
        fonts = set(re.findall(rb"/BaseFont /(?:[A-Z]{6}\+)?([A-Za-z0-9-]+)", data))
        assert fonts and fonts <= {b"Cmr10", b"Cmmi10", b"Cmsy10", b"Cmex10"}, (name, fonts)
        assert b"/FontFile2" in data, name  # TrueType embedded, not type 3 outlines
        assert b"/CreationDate" not in data and b"/Producer" not in data and b"/ModDate" not in data, name
        # A vector drawing: no raster image, except 4b's weights, which are images (a digit's 28 x 28 each).
        images = data.count(b"/Subtype /Image")
        assert (images > 0) if name == "4b_weights" else (images == 0), (name, images)


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_same_inputs_give_the_same_bytes(params, root, tmp_path):
    first = draw_all(params, root, tmp_path / "first")
    second = draw_all(params, root, tmp_path / "second")
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
        assert b"matplotlib" not in a.read_bytes()  # no version stamp that would change the bytes


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_main_draws_from_params_yaml_in_the_working_directory(params, root, monkeypatch, capsys):
    (root / "params.yaml").write_text(yaml_text(params))
    monkeypatch.chdir(root)
    assert figures.main([]) == 0
    assert sorted(path.name for path in (root / "report/figures").iterdir()) == sorted(f"{n}.png" for n in FIGURE_NAMES)
    assert sorted(path.name for path in (root / "report/build/figures").iterdir()) == sorted(
        f"{name}.pdf" for name in FIGURE_NAMES)
    assert figures.main(["--list-deps"]) == 0
    listed = capsys.readouterr().out.splitlines()[-len(input_paths(check_params(params, mathtext=True))):]
    assert listed == [str(path) for path in input_paths(check_params(params, mathtext=True))]


@pytest.mark.slow  # draws every figure (seconds): out of the quick subset
def test_draw_all_writes_into_the_folder_it_is_given_and_keeps_each_png_in_the_cache(params, root):
    written = draw_all(params, root, root / "elsewhere", cache_dir=root / "cache")
    assert written == [root / "elsewhere" / f"{name}.{kind}" for name in FIGURE_NAMES for kind in ("pdf", "png")]
    assert not (root / "report").exists()
    cached = sorted(root.joinpath("cache").iterdir())
    assert sorted(path.name.split("-")[0] + path.suffix for path in cached) == sorted(path.name for path in written)
    by_name = {path.name.split("-")[0] + path.suffix: path.read_bytes() for path in cached}
    assert all(by_name[path.name] == path.read_bytes() for path in written)


@pytest.mark.slow
def test_a_change_redraws_exactly_the_figures_it_shows_and_gives_a_clean_builds_bytes(params, root, tmp_path):
    cache = tmp_path / "cache"
    assert incremental_equals_clean(params, root, cache, tmp_path, "first") == list(FIGURE_NAMES)
    assert incremental_equals_clean(params, root, cache, tmp_path, "again") == []

    # binary (role 2b) retrained: its two figures, nothing else.
    make_run(root, "binary", 53, offset=0.005)
    assert incremental_equals_clean(params, root, cache, tmp_path, "binary") == ["2b_loss", "2b_accuracy"]

    # softmax (3b, 4b top, lambda 0 of 4c and 4e) retrained.
    make_run(root, "softmax", 44, offset=0.002)
    assert incremental_equals_clean(params, root, cache, tmp_path, "softmax") == [
        "3b_loss", "3c_accuracy", "4b_weights", "4c_val_accuracy", "4e_weight_norm"]

    # Only the weights of softmax_lambda_1 (4b's bottom row): 4e reads its metrics, not its weights.
    np.save(root / "models/softmax_lambda_1.npy", np.load(root / "models/softmax_lambda_1.npy") * 0.5)
    assert incremental_equals_clean(params, root, cache, tmp_path, "weights") == ["4b_weights"]

    # Only its metric weight_norm_squared: 4e alone.
    metrics = json.loads((root / "metrics/softmax_lambda_1.json").read_text())
    (root / "metrics/softmax_lambda_1.json").write_text(json.dumps({**metrics, "weight_norm_squared": 3.25}))
    assert incremental_equals_clean(params, root, cache, tmp_path, "norm") == ["4e_weight_norm"]
