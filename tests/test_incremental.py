"""The figures stage redraws only the figures whose recipe changed, and its PNGs are byte for byte
those of a full redraw without any cache; the report stage's compiled templates give the text of a
fresh compilation and are compiled again when the template or the environment changes (the PDF's kept
auxiliary files: tests/test_pdf.py; the whole loop through `dvc repro`, figures, report.tex and PDF
against a clean build: benchmarks/loops.py, which CI runs)."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

import jinja2
import numpy as np
import pytest
import yaml
from test_figures import PARAMS_YAML, TRAIN_STEPS, make_run, params, root  # noqa: F401  (the synthetic runs and their params)
from test_report import TEMPLATES, make_repo

from mnist_report import figures
from mnist_report.config.figures import FIGURE_NAMES
from mnist_report.config.params import check_params
from mnist_report.plotting import cache as figure_cache
from mnist_report.plotting import drawings as plots
from mnist_report.plotting import recipes
from mnist_report.plotting.render import DRAWING_CODE, draw_figures
from mnist_report.reporting import context, latex, templates


def draw_all(params, root, out_dir=None, **options):
    """Draws every figure of ``params`` (checked here) under ``root``; returns the paths written."""
    return draw_figures(check_params(params, mathtext=True), root, out_dir, **options)[0]


def pngs(folder: Path) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in sorted(folder.glob("*.png"))}


def pdfs(folder: Path) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in sorted(folder.glob("*.pdf"))}


def incremental_equals_clean(params: dict, root: Path, cache: Path, tmp_path: Path, tag: str) -> list[str]:
    """Draws with the cache into root/report/figures and without it into a new folder; asserts the
    two sets of PNGs, and of PDFs, are the same bytes and returns the names the cached draw redrew."""
    written, drawn = draw_figures(check_params(params, mathtext=True), root, cache_dir=cache)
    clean = draw_all(params, root, tmp_path / f"clean-{tag}")
    assert [path.stem for path in written] == [name for name in FIGURE_NAMES for _ in ("pdf", "png")]
    assert pngs(root / figures.FIGURES_DIR) == pngs(tmp_path / f"clean-{tag}")
    assert pdfs(root / figures.FIGURE_PDFS_DIR) == pdfs(tmp_path / f"clean-{tag}")
    assert len(clean) == 2 * len(FIGURE_NAMES)
    return drawn


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


@pytest.fixture(scope="module")
def drawn_once(tmp_path_factory) -> tuple[dict, Path, Path]:
    """(params, root, cache): the synthetic runs drawn once with a cache, shared by the module's
    tests that only read them (each copies the cache)."""
    folder = tmp_path_factory.mktemp("drawn-once")
    for i, (run, steps) in enumerate(TRAIN_STEPS.items()):
        make_run(folder, run, steps, offset=i / 100)
    project = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    the_params = {"data": project["data"], "report": project["report"], **yaml.safe_load(PARAMS_YAML)}
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
    (root / "params.yaml").write_text(yaml.safe_dump(the_params))
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
