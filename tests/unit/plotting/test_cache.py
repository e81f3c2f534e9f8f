"""The figures stage's cache (figure_cache.py) as units, without drawing: the digest tells apart any
two recipes that differ (a collision would copy a wrong PNG), and an entry is used only when its
name, digest and bytes all match. tests/unit/plotting/test_render.py checks the cache through the stage."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools

import numpy as np
import pytest

from mnist_report.config.params import check_params
from mnist_report.plotting import cache as figure_cache
from mnist_report.plotting import recipes, render
from mnist_report.plotting.drawings import Curve, steps_figure, weights_figure
from mnist_report.plotting.recipes import Recipe
from mnist_report.plotting.render import DRAWING_CODE
from support.figure_runs import TRAIN_STEPS, make_run, params, root  # noqa: F401  (fixtures)


def fed(value) -> str:
    hasher = hashlib.sha256()
    figure_cache._feed(hasher, value)
    return hasher.hexdigest()


@dataclasses.dataclass(frozen=True)
class Other:
    label: str
    steps: np.ndarray
    values: np.ndarray
    block_steps: int = 1
    linestyle: str = "-"


STEPS = np.arange(3)
#: Values that a careless encoding would confuse: each pair differs in type, sign, length, nesting,
#: order of keys and values, dtype or shape with the same bytes, or the class of a dataclass.
VALUES = [
    None, False, True, 0, 1, -1, 0.0, -0.0, 1.0, 0.5, "", "N;", "0", "1", "ab", "a", "é",
    [], [None], [[]], [0], [1], [0, 1], [1, 0], [[0], 1], [0, [1]], (2,),
    {}, {"a": 1}, {"b": 1}, {"a": 2}, {"a": "1"}, {"a": 1, "b": 2}, {"a": 2, "b": 1},
    np.arange(6, dtype=np.int64), np.arange(6, dtype=np.int64).reshape(2, 3),
    np.arange(6, dtype=np.int64).reshape(3, 2), np.arange(6, dtype=np.float64), np.zeros(0),
    np.arange(6, dtype=np.int64)[::2],  # not contiguous: its own values, not the buffer's
    np.asarray([0, 2, 4, 1, 3, 5], dtype=np.int64),
    Curve("a", STEPS, STEPS * 1.0), Curve("b", STEPS, STEPS * 1.0), Curve("a", STEPS, STEPS * 2.0),
    Curve("a", STEPS, STEPS * 1.0, 2), Other("a", STEPS, STEPS * 1.0),
]


def test_any_two_different_values_feed_different_digests():
    digests = [fed(value) for value in VALUES]
    for (i, a), (j, b) in itertools.combinations(enumerate(digests), 2):
        assert a != b, (VALUES[i], VALUES[j])


def test_equal_values_feed_the_same_digest_whatever_their_layout_or_key_order():
    assert fed({"a": 1, "b": [2.5, None]}) == fed({"b": [2.5, None], "a": 1})
    assert fed(np.arange(6)[::2]) == fed(np.asarray([0, 2, 4]))
    assert fed(np.int64(3)) == fed(3) and fed(np.float32(0.5)) == fed(0.5)
    assert fed(Curve("a", STEPS, STEPS * 1.0)) == fed(Curve("a", STEPS.copy(), STEPS * 1.0))


def test_a_value_of_an_unknown_type_is_refused_not_guessed():
    with pytest.raises(TypeError, match="^cannot digest a object in a figure recipe$"):
        fed([1, object()])
    with pytest.raises(TypeError, match="^cannot digest a type in a figure recipe$"):
        fed(Curve)  # a dataclass itself, not one of its values


def test_the_recipe_digest_covers_the_drawing_its_arguments_the_dpi_and_the_font_size():
    recipe = Recipe(steps_figure, {"x_label": "a", "curves": [Curve("a", STEPS, STEPS * 1.0)]})
    digest = figure_cache.recipe_digest(recipe, 40, 12, DRAWING_CODE)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert figure_cache.recipe_digest(Recipe(steps_figure, dict(recipe.arguments)), 40, 12, DRAWING_CODE) == digest
    assert figure_cache.recipe_digest(Recipe(weights_figure, recipe.arguments), 40, 12, DRAWING_CODE) != digest
    assert figure_cache.recipe_digest(Recipe(steps_figure, {**recipe.arguments, "x_label": "b"}), 40, 12, DRAWING_CODE) != digest
    assert figure_cache.recipe_digest(recipe, 41, 12, DRAWING_CODE) != digest
    assert figure_cache.recipe_digest(recipe, 40, 12.5, DRAWING_CODE) != digest


def test_a_stored_png_is_found_by_its_name_and_digest_only(tmp_path):
    figure_cache.store_png(tmp_path, "2b_loss", "d1", b"png one")
    assert [p.name for p in tmp_path.iterdir()] == [f"2b_loss-d1-{hashlib.sha256(b'png one').hexdigest()}.png"]
    assert figure_cache.cached_png(tmp_path, "2b_loss", "d1") == b"png one"
    assert figure_cache.cached_png(tmp_path, "2b_loss", "d2") is None
    assert figure_cache.cached_png(tmp_path, "2b_accuracy", "d1") is None
    assert figure_cache.cached_png(tmp_path / "absent", "2b_loss", "d1") is None


def test_a_damaged_entry_is_not_used_and_an_intact_one_beside_it_is(tmp_path):
    data = b"png bytes"
    damaged = tmp_path / f"2b_loss-d1-{hashlib.sha256(b'other bytes').hexdigest()}.png"
    damaged.write_bytes(data)
    assert figure_cache.cached_png(tmp_path, "2b_loss", "d1") is None
    (tmp_path / f"2b_loss-d1-{hashlib.sha256(data).hexdigest()}.png").write_bytes(data)
    assert figure_cache.cached_png(tmp_path, "2b_loss", "d1") == data


def test_an_unreadable_entry_is_skipped(tmp_path):
    (tmp_path / "2b_loss-d1-0.png").mkdir()  # a directory: reading it raises OSError
    assert figure_cache.cached_png(tmp_path, "2b_loss", "d1") is None


def test_storing_a_png_replaces_that_figures_entries_and_keeps_the_others(tmp_path):
    figure_cache.store_png(tmp_path, "2b_loss", "d1", b"old")
    figure_cache.store_png(tmp_path, "2b_accuracy", "d1", b"kept")
    figure_cache.store_png(tmp_path, "2b_loss", "d2", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        f"2b_accuracy-d1-{hashlib.sha256(b'kept').hexdigest()}.png",
        f"2b_loss-d2-{hashlib.sha256(b'new').hexdigest()}.png"])
    assert figure_cache.cached_png(tmp_path, "2b_loss", "d2") == b"new"
    figure_cache.store_png(tmp_path, "2b_loss", "d2", b"new")  # the same entry again: kept, not removed
    assert figure_cache.cached_png(tmp_path, "2b_loss", "d2") == b"new"


def test_a_cache_that_cannot_be_written_costs_a_redraw_not_an_error(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_bytes(b"")
    figure_cache.store_png(blocked, "2b_loss", "d1", b"png")  # no error
    assert blocked.read_bytes() == b""


class Listing:
    """A cache folder whose ``glob`` lists ``entries`` in this order (a real folder's order is the file
    system's), as another run of the stage may leave it: entries that vanished, or cannot be read."""

    def __init__(self, folder, entries):
        self.folder, self.entries = folder, entries

    def glob(self, pattern):
        return list(self.entries)

    def __truediv__(self, name):
        return self.folder / name


def test_an_unreadable_entry_listed_first_does_not_hide_an_intact_one(tmp_path):
    data = b"png bytes"
    unreadable = tmp_path / "2b_loss-d1-0.png"
    unreadable.mkdir()
    intact = tmp_path / f"2b_loss-d1-{hashlib.sha256(data).hexdigest()}.png"
    intact.write_bytes(data)
    assert figure_cache.cached_png(Listing(tmp_path, [unreadable, intact]), "2b_loss", "d1") == data


def test_an_old_entry_removed_meanwhile_by_another_run_does_not_stop_the_store(tmp_path):
    gone = tmp_path / "2b_loss-d0-0.png"  # listed, then removed before this run removes it
    figure_cache.store_png(Listing(tmp_path, [gone]), "2b_loss", "d1", b"png")
    assert figure_cache.cached_png(tmp_path, "2b_loss", "d1") == b"png"


# --- the stage's use of the cache (draw_figures), drawing stubbed ---------------------------------
# Which figures the stage redraws, and that it copies what a redraw would give, with each drawing
# replaced by its recipe's digest at dpi 0: no matplotlib. The real bytes: tests/unit/plotting/test_render.py.



@pytest.fixture
def stubbed(monkeypatch):
    from mnist_report.plotting import drawings as plots

    monkeypatch.setattr(recipes.Recipe, "figure", lambda recipe: recipe)
    monkeypatch.setattr(plots, "render_png", lambda recipe, dpi: f"{dpi}:".encode()
                        + figure_cache.recipe_digest(recipe, 0, 0.0, DRAWING_CODE).encode())
    monkeypatch.setattr(plots, "render_pdf", lambda recipe: b"pdf:" + figure_cache.recipe_digest(recipe, 0, 0.0, DRAWING_CODE).encode())


def both(folder, names):
    """The files the stage writes for each figure, in its order: the PDF, then the PNG."""
    return [folder / f"{name}.{kind}" for name in names for kind in ("pdf", "png")]


def test_the_stage_draws_what_the_cache_lacks_and_copies_the_rest(params, root, stubbed):
    cache, out = root / "cache", root / "out"
    written, drawn = render.draw_figures(check_params(params, mathtext=True), root, out, cache_dir=cache)
    assert drawn == list(recipes.FIGURE_NAMES) and written == both(out, recipes.FIGURE_NAMES)
    first = {path.name: path.read_bytes() for path in written}
    assert sorted(p.name.split("-")[0] + p.suffix for p in cache.iterdir()) == sorted(
        name + kind for name in recipes.FIGURE_NAMES for kind in (".pdf", ".png"))
    assert render.draw_figures(check_params(params, mathtext=True), root, root / "again", cache_dir=cache)[1] == []
    assert {path.name: path.read_bytes() for path in (root / "again").iterdir()} == first
    # A run's new history: the figures that show it are redrawn, the others copied.
    make_run(root, "binary_shuffled", TRAIN_STEPS["binary_shuffled"], offset=0.5)
    assert render.draw_figures(check_params(params, mathtext=True), root, out, cache_dir=cache)[1] == ["2e_loss", "2e_accuracy"]
    # dpi and font size are part of every figure's digest.
    params["figures"]["dpi"] += 1
    assert render.draw_figures(check_params(params, mathtext=True), root, out, cache_dir=cache)[1] == list(recipes.FIGURE_NAMES)
    params["figures"]["font_size"] += 1
    assert render.draw_figures(check_params(params, mathtext=True), root, out, cache_dir=cache)[1] == list(recipes.FIGURE_NAMES)
    assert render.draw_figures(check_params(params, mathtext=True), root, out, cache_dir=cache)[1] == []


def test_without_a_cache_every_figure_is_drawn_and_nothing_kept(params, root, stubbed):
    written, drawn = render.draw_figures(check_params(params, mathtext=True), root)
    assert drawn == list(recipes.FIGURE_NAMES)
    assert written == [root / folder / f"{n}.{kind}" for n in recipes.FIGURE_NAMES
                       for folder, kind in (("report/build/figures", "pdf"), ("report/figures", "png"))]
    assert not (root / ".cache").exists()
