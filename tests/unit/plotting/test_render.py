"""plotting/render.py: the figures stage redraws only the figures whose recipe changed, a damaged
cache entry is redrawn, and the digest covers the drawing code and every argument (the PNGs byte for
byte those of a full redraw: tests/integration/test_figures.py; the report stage's compiled
templates: tests/unit/reporting/test_templates.py; the PDF's kept auxiliary files:
tests/integration/test_pdf.py; the whole loop through `dvc repro`, figures, report.tex and PDF
against a clean build: benchmarks/loops.py, which CI runs)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from mnist_report.config.params import check_params
from mnist_report.plotting import cache as figure_cache
from mnist_report.plotting import drawings as plots
from mnist_report.plotting import recipes
from mnist_report.plotting.render import DRAWING_CODE
from support.figure_runs import PARAMS_YAML, TRAIN_STEPS, make_run, params, pngs, root  # noqa: F401  (fixtures)








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




# ------------------------------------------------------------------ the report's compiled templates
