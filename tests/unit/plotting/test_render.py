"""plotting/render.py: the figures stage redraws only the figures whose recipe changed, a damaged
cache entry is redrawn, and the digest covers the drawing code and every argument (the PNGs byte for
byte those of a full redraw: tests/integration/test_figures.py; the report stage's compiled
templates: tests/unit/reporting/test_templates.py; the PDF's kept auxiliary files:
tests/integration/test_pdf.py; the whole loop through `dvc repro`, figures, report.tex and PDF
against a clean build: benchmarks/loops.py, which CI runs)."""

from __future__ import annotations

import copy
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnist_report import figures
from mnist_report.config.figures import FIGURE_NAMES
from mnist_report.config.params import check_params
from mnist_report.plotting import cache as figure_cache
from mnist_report.plotting import drawings as plots
from mnist_report.plotting import recipes
from mnist_report.plotting.render import DRAWING_CODE, draw_figures
from support.figure_runs import PARAMS_YAML, TRAIN_STEPS, make_run, params, pngs, root  # noqa: F401  (fixtures)
from support.paths import REPO
from mnist_report.config.schema import load_params, parse_yaml
from support.yaml_files import yaml_text


@pytest.fixture(scope="module")
def drawn_once(tmp_path_factory) -> tuple[dict, Path, Path]:
    """(params, root, cache): the synthetic runs drawn once with a cache, shared by the module's
    tests that only read them (each copies the cache)."""
    folder = tmp_path_factory.mktemp("drawn-once")
    for i, (run, steps) in enumerate(TRAIN_STEPS.items()):
        make_run(folder, run, steps, offset=i / 100)
    project = load_params(REPO / "params.yaml")
    the_params = {"data": project["data"], "report": project["report"], **parse_yaml(PARAMS_YAML)}
    draw_figures(check_params(the_params, mathtext=True), folder, folder / "out", cache_dir=folder / "cache")
    return the_params, folder, folder / "cache"


@pytest.mark.parametrize("edit, redrawn", [
    (lambda p: p["figures"]["2e_loss"].update(y_label="Loss without and with shuffling"), ["2e_loss"]),
    (lambda p: p["figures"]["2b_accuracy"].update(y_limits=[0.9, 1.0]), ["2b_accuracy"]),
    (lambda p: p["roles"].update({"2b": "binary_shuffled"}), ["2b_loss", "2b_accuracy"]),
    (lambda p: p["runs"]["softmax_lambda_1"].update(l2_lambda=2.0), ["4b_weights", "4c_val_accuracy", "4e_weight_norm"]),
    (lambda p: p["runs"]["binary"].update(learning_rate=0.5), []),  # the stage reads the run's outputs, not how they came about
    (lambda p: p["figures"].update(dpi=73), list(FIGURE_NAMES)),
    (lambda p: p["figures"].update(loss_block_steps=5), ["2b_loss", "2e_loss", "3b_loss"]),
], ids=["a-label", "y-limits", "a-role", "a-lambda", "a-learning-rate", "dpi", "block-steps"])
def test_a_params_change_redraws_the_figures_it_concerns(drawn_once, tmp_path, edit, redrawn):
    the_params, folder, cache = drawn_once
    shutil.copytree(cache, tmp_path / "cache")
    changed = copy.deepcopy(the_params)
    edit(changed)
    assert draw_figures(check_params(changed, mathtext=True), folder, tmp_path / "out", cache_dir=tmp_path / "cache")[1] == redrawn


def test_a_damaged_cache_entry_is_redrawn_not_used(drawn_once, tmp_path):
    the_params, folder, cache = drawn_once
    shutil.copytree(cache, tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("3b_loss-*.png")
    entry.write_bytes(entry.read_bytes()[:-10] + b"0123456789")
    assert draw_figures(check_params(the_params, mathtext=True), folder, tmp_path / "out", cache_dir=tmp_path / "cache")[1] == ["3b_loss"]
    assert pngs(tmp_path / "out") == pngs(folder / "out")  # the full draw of drawn_once
    assert len(list((tmp_path / "cache").glob("*.png"))) == len(FIGURE_NAMES)  # the damaged one replaced


def test_the_digest_covers_the_drawing_code_and_every_argument(params, root, tmp_path, monkeypatch):
    by_name = recipes.figure_recipes(check_params(params, mathtext=True), root)
    recipe = by_name["2b_loss"]
    digest = figure_cache.recipe_digest(recipe, 40, 12, DRAWING_CODE)
    assert figure_cache.recipe_digest(recipe, 40, 12, DRAWING_CODE) == digest
    assert figure_cache.recipe_digest(recipe, 41, 12, DRAWING_CODE) != digest
    # One value of one curve, moved by one unit in the last place.
    curves = copy.deepcopy(recipe.arguments["curves"])
    values = curves[1].values.copy()
    values[3] = np.nextafter(values[3], np.inf)
    curves[1] = plots.Curve(curves[1].label, curves[1].steps, values, curves[1].block_steps, curves[1].linestyle)
    nudged = recipes.Recipe(recipe.draw, {**recipe.arguments, "curves": curves})
    assert figure_cache.recipe_digest(nudged, 40, 12, DRAWING_CODE) != digest
    # The same numbers as another dtype are another drawing's input, and so another digest.
    as_float32 = recipes.Recipe(recipe.draw, {**recipe.arguments, "y_limits": np.asarray([0, 0.2], np.float32)})
    as_float64 = recipes.Recipe(recipe.draw, {**recipe.arguments, "y_limits": np.asarray([0, 0.2], np.float64)})
    assert figure_cache.recipe_digest(as_float32, 40, 12, DRAWING_CODE) != figure_cache.recipe_digest(as_float64, 40, 12, DRAWING_CODE)
    # The drawing code is part of the digest: an edit to any drawing function changes it.
    source = Path(plots.__file__).read_text(encoding="utf-8")
    assert "ax.grid(alpha=0.3)" in source
    edited = tmp_path / "plots.py"
    edited.write_text(source.replace("ax.grid(alpha=0.3)", "ax.grid(alpha=0.4)"), encoding="utf-8")
    assert figure_cache.recipe_digest(recipe, 40, 12, (edited, *DRAWING_CODE[1:])) != digest
    assert figure_cache.recipe_digest(recipe, 40, 12, DRAWING_CODE) == digest
    with pytest.raises(TypeError, match="cannot digest a object"):
        figure_cache.recipe_digest(recipes.Recipe(recipe.draw, {"x": object()}), 40, 12, DRAWING_CODE)


def test_the_stage_uses_the_cache_and_says_how_many_it_drew(drawn_once, tmp_path, monkeypatch, capsys):
    the_params, folder, cache = drawn_once
    shutil.copytree(folder, tmp_path / "project", ignore=shutil.ignore_patterns("cache", "out"))
    root = tmp_path / "project"
    (root / "params.yaml").write_text(yaml_text(the_params))
    shutil.copytree(cache, root / ".cache/figures", ignore=shutil.ignore_patterns("4c_val_accuracy-*"))
    monkeypatch.chdir(root)
    assert figures.main([]) == 0
    assert capsys.readouterr().out == "figures: wrote 9 figures, PDFs to report/build/figures/ and PNGs to report/figures/ (1 drawn, 8 unchanged from .cache/figures/)\n"
    assert pngs(root / "report/figures") == pngs(folder / "out")  # the full draw of drawn_once
    for path in (root / "report/figures").iterdir():  # DVC deletes the stage's outputs before it runs
        path.unlink()
    assert figures.main([]) == 0
    assert capsys.readouterr().out == "figures: wrote 9 figures, PDFs to report/build/figures/ and PNGs to report/figures/ (0 drawn, 9 unchanged from .cache/figures/)\n"
    assert pngs(root / "report/figures") == pngs(folder / "out")
    assert {hashlib.sha256(data).hexdigest() for data in pngs(folder / "out").values()} == {
        path.stem.rsplit("-", 1)[1] for path in (root / ".cache/figures").glob("*.png")}


# ------------------------------------------------------------------ the report's compiled templates
