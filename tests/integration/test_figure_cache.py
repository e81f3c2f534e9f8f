"""The figures stage's cache through whole draws of the nine figures (plotting.render.draw_figures):
a params change redraws exactly the figures it concerns, a damaged entry is redrawn, and the stage
copies what it can and says how many it drew. Slow: each test draws figures."""

from __future__ import annotations


import copy
import hashlib
import shutil
from pathlib import Path

import pytest

from mnist_report import figures
from mnist_report.config.figures import FIGURE_NAMES
from mnist_report.config.params import check_params
from mnist_report.plotting.render import draw_figures
from support.figure_runs import PARAMS_YAML, TRAIN_STEPS, make_run, params, pngs, root  # noqa: F401  (fixtures)
from support.paths import REPO
from mnist_report.config.schema import load_params, parse_yaml
from support.yaml_files import yaml_text

pytestmark = pytest.mark.slow


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
