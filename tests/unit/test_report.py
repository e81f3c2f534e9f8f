"""The report stage: report.tex rendered from the metrics, histories and settings, every number,
word and refusal of its text.

Each test builds a small synthetic project in a temporary directory (support.report_project: params,
metrics, histories, weights, tiny MNIST-format files and placeholder figures); none needs TeX. The
report compiled: tests/integration/test_report.py; the pdf stage: tests/unit/test_pdf.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from mnist_report import report
from mnist_report.common.errors import PipelineError
from mnist_report.config.params import check_params
from mnist_report.reporting import facts_task3, templates
from mnist_report.reporting.published import PUBLISHED
from support.report_project import NASTY, PARAMS, TASK_HEADINGS, TEMPLATES, make_repo, needs_tex, render_repo, repo, rewrite_metric, section, unbroken, write_history  # noqa: F401  (fixtures)
from support.report_project import FIGURE_NAMES


# --------------------------------------------------------------------------------------- render

def test_render_inserts_the_metrics_and_settings(repo):
    root, params = repo
    tex = unbroken(render_repo(root, params))
    assert "0.0651" in tex and "0.0652" in tex  # binary losses, 4 decimals
    assert r"92.25\,\%" in tex and r"91.57\,\%" in tex  # softmax accuracies in percent
    assert "epoch 33" in tex and "epoch 16" in tex
    assert r"\texttt{binary\_early\_stopping}" in tex
    assert "0.98" in tex  # 1 - 2 * eta * lambda for lambda = 1
    for heading in TASK_HEADINGS:
        assert f"\\task{{{heading[5:]}}}" in tex
    assert "VAR{" not in tex and "BLOCK{" not in tex


def test_same_inputs_render_the_same_tex(repo):
    root, params = repo
    assert render_repo(root, params) == render_repo(root, params)


def test_title_and_authors_are_escaped_for_latex(repo):
    root, params = repo
    params["report"]["title"] = NASTY
    params["report"]["authors"] = ["Ann_Lee & Bo", "50% ~Cy^"]
    tex = render_repo(root, params)
    escaped = r"R\&D 100\% \$5 \#1 a\_b \{c\} \textasciitilde{}d \textasciicircum{}e \textbackslash{}f"
    assert f"\\title{{{escaped}}}" in tex
    assert r"\author{Ann\_Lee \& Bo \and 50\% \textasciitilde{}Cy\textasciicircum{}}" in tex


def test_headings_with_mathematics_give_bookmarks_a_text_form(repo):
    root, params = repo
    tex = render_repo(root, params)
    headings = [line for line in tex.splitlines() if line.startswith(("\\task{", "\\appendixsection{"))]
    assert len(headings) == len(TASK_HEADINGS) + 2
    for heading in headings:
        assert "$" not in heading.replace("\\texorpdfstring{$\\lambda$}{λ}", ""), heading
    assert r"\task{4c}{Validation accuracy for each \texorpdfstring{$\lambda$}{λ}}" in tex
    # The bookmark's anchor is inside the heading, before its text.
    assert r"\newcommand{\task}[2]{\taskbarrier\section*{\phantomsection Task #1: #2}" in tex


def test_wording_of_the_fixed_phrases(repo):
    root, params = repo
    tex = " ".join(render_repo(root, params).split())
    for phrase in ("regenerated from scratch", "Appendix~A compares the values the original report printed with",
                   "with respect to which we differentiate", "The five runs of Table~\\ref{tab:sweep}",
                   "$X$, $y$ and $N$ are those of the batch ($N$ the batch size)",
                   "where $X$, $Y$ and $N$ are those of the batch ($N$ the batch size)",
                   "& Rel.\\ difference & Status \\\\", "\\label{tab:data}"):
        assert phrase in tex, phrase
    for phrase in ("from nothing", "beside", "differentiate by", "times smaller", "[H]", "beats none"):
        assert phrase not in tex, phrase


def test_missing_metric_fails_naming_the_file_and_key(repo):
    root, params = repo
    path = root / "metrics/softmax.json"
    values = json.loads(path.read_text())
    del values["val_loss"]
    path.write_text(json.dumps(values))
    with pytest.raises(PipelineError, match=r"^metrics/softmax\.json: missing 'val_loss'; expected a finite number, as its train stage "
                       r"writes it \(`dvc repro` rewrites the file\)$"):
        report.build_context(check_params(params), root)


def test_missing_schedule_key_fails_naming_the_schedule_file(repo):
    # The schedule the report states comes from the run's schedule file, not its metrics.
    root, params = repo
    path = root / "metrics/history/binary_early_stopping/schedule.json"
    path.write_text(json.dumps({"steps_per_epoch": 31, "validation_interval": 6}))
    with pytest.raises(PipelineError, match=r"^metrics/history/binary_early_stopping/schedule\.json: missing "
                       r"'early_stopping_patience'; expected an integer >= 1"):
        report.build_context(check_params(params), root)


def test_the_patience_the_text_states_is_the_schedule_files(repo):
    root, params = repo
    path = root / "metrics/history/binary_early_stopping/schedule.json"
    path.write_text(json.dumps({"steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": 7}))
    assert report.build_context(check_params(params), root)["setup"]["patience"] == 7


def test_undefined_name_in_the_template_fails_naming_it(repo):
    root, params = repo
    context = report.build_context(check_params(params), root)
    del context["task3"]["softmax"]["val_loss"]
    with pytest.raises(PipelineError, match=r"template variable task3\.softmax\.val_loss is undefined \(template .*macros\.tex\.j2:\d+ from task3\.tex\.j2:\d+\)"):
        templates.render(context, TEMPLATES)
    context = report.build_context(check_params(params), root)
    del context["task3"]
    with pytest.raises(PipelineError, match="template variable 'task3' is undefined"):
        templates.render(context, TEMPLATES)


def test_a_number_without_a_filter_is_refused(tmp_path):
    (tmp_path / "t.tex.j2").write_text(r"loss \VAR{value}" + "\n")
    with pytest.raises(PipelineError, match=r"inserts float 0\.5 .*filter.*t\.tex\.j2:1"):
        templates.render({"value": 0.5}, tmp_path, "t.tex.j2")
    (tmp_path / "u.tex.j2").write_text(r"\VAR{value|loss} \VAR{value|acc} \VAR{count} \VAR{1e-5|num}" + "\n")
    assert templates.render({"value": 0.5, "count": 3}, tmp_path, "u.tex.j2") == (
        "0.5000 50.00\\,\\% 3 \\ensuremath{10^{-5}}\n")


def test_report_params_are_checked(repo):
    root, params = repo
    params["report"]["authors"] = []
    with pytest.raises(PipelineError, match=r"^report\.authors = \[\]: expected a non-empty list"):
        report.build_context(check_params(params), root)


def test_missing_history_names_the_file(repo):
    root, params = repo
    (root / "metrics/history/softmax/validation.csv").unlink()
    with pytest.raises(PipelineError, match=r"^metrics/history/softmax/validation\.csv: missing"):
        report.build_context(check_params(params), root)


# ------------------------------------------------------------------------------ reproduction

def test_reproduction_agrees_when_the_values_are_the_published_ones(repo):
    root, params = repo
    context = report.build_context(check_params(params), root)
    assert context["reproduction"]["count"] == 10
    assert context["reproduction"]["mismatches"] == 0
    tex = templates.render(context, TEMPLATES)
    assert r"All 10 values agree to within a relative difference of \ensuremath{10^{-10}}" in tex
    assert r"\mismatch \\" not in tex[tex.index(r"\appendixsection{A}"):tex.index(r"\appendixsection{B}")]


def test_reproduction_flags_a_value_changed_on_purpose(repo):
    root, params = repo
    published = float(PUBLISHED["binary"]["val_loss"])
    rewrite_metric(root, "binary", val_loss=published * (1 + 1e-6))
    rewrite_metric(root, "binary_shuffled", early_stop_epoch=None)
    context = report.build_context(check_params(params), root)
    rows = {(group["run"], row["key"]): row for group in context["reproduction"]["groups"] for row in group["rows"]}
    assert not rows["binary", "val_loss"]["agrees"]
    assert rows["binary", "val_loss"]["relative"] == pytest.approx(1e-6, rel=1e-6)
    assert not rows["binary_shuffled", "early_stop_epoch"]["agrees"]
    assert rows["binary", "train_loss"]["agrees"]
    tex = templates.render(context, TEMPLATES)
    assert r"\textbf{2 of the 10 values disagree}" in tex
    table = tex[tex.index(r"\appendixsection{A}"):tex.index(r"\appendixsection{B}")]
    assert table.count(r"\mismatch \\") == 2
    assert r"\ensuremath{1.0\times10^{-6}}" in tex
    assert "never stopped" in tex


# ------------------------------------------------------------------------ prose from the numbers

def test_2c_states_the_difference_of_the_printed_accuracies(repo):
    root, params = repo
    # 97.9276 % and 97.8942 % print as 97.93 and 97.89: the text says 0.04, not the unrounded 0.03.
    tex = " ".join(section(render_repo(root, params), "2c").split())
    assert r"97.93\,\% of the training images and 97.89\,\% of the validation images" in tex
    assert "lower than the training accuracy by 0.04 percentage points" in tex
    rewrite_metric(root, "binary", train_accuracy=0.97894, val_accuracy=0.9789)
    tex = " ".join(section(render_repo(root, params), "2c").split())
    assert "correctly: the same share of both sets." in tex and "0.00" not in tex


def test_2d_compares_with_the_full_run_only_when_run_2b_ran_to_the_end(repo):
    root, params = repo
    tex = " ".join(section(unbroken(render_repo(root, params)), "2d").split())
    assert ("after 1035 SGD steps of the 1550 that run \\texttt{binary} of Task~2b took without early stopping."
            in tex)
    assert "Stopping early saved 515 steps" in tex
    params["runs"]["binary"]["early_stopping"] = True
    tex = " ".join(section(unbroken(render_repo(root, params)), "2d").split())
    assert "took (early stopping never ended it)." in tex
    rewrite_metric(root, "binary", early_stop_epoch=40, steps=1250)
    tex = " ".join(section(unbroken(render_repo(root, params)), "2d").split())
    assert ("after 1035 SGD steps, fewer than the 1250 after which early stopping ended run \\texttt{binary} of "
            "Task~2b.") in tex
    assert "full run" not in tex and "Stopping early saved" not in tex


def test_2d_equal_printed_accuracies_are_the_same_not_higher(repo):
    root, params = repo
    rewrite_metric(root, "binary_early_stopping", val_accuracy=0.97896)  # higher, but both print as 97.90
    rewrite_metric(root, "binary", val_accuracy=0.978952)
    tex = " ".join(section(render_repo(root, params), "2d").split())
    assert r"(loss 0.0710), the same as the 97.90\,\% of run" in tex
    assert "percentage points" not in tex


@pytest.mark.parametrize("unshuffled, shuffled, phrase", [
    (33, 16, "earlier than\nwithout it (epoch 33)"),
    (16, 33, "later than without it (epoch 16)"),
    (20, 20, "at the same epoch as without it"),
    (33, None, "never stopped early"),
    (None, None, "Neither run stopped early"),
])
def test_2e_compares_the_early_stopping_epochs(repo, unshuffled, shuffled, phrase):
    root, params = repo
    rewrite_metric(root, "binary_early_stopping", early_stop_epoch=unshuffled)
    rewrite_metric(root, "binary_shuffled", early_stop_epoch=shuffled)
    tex = render_repo(root, params)
    section = tex[tex.index(r"\task{2e}"):tex.index(r"\task{3b}")]
    assert phrase in section


def test_2e_measures_the_spikes_of_the_validation_loss_from_epoch_1(repo):
    root, params = repo
    context = report.build_context(check_params(params), root)
    shuffling = context["task2"]["shuffling"]
    # An epoch of the binary task is 4005 // 128 = 31 steps: the validations of steps 0..30 are left out.
    assert (shuffling["steps_per_epoch"], shuffling["first_validation"], shuffling["last_step"]) == (31, 36, 504)
    assert shuffling["rise_shuffled"] < shuffling["rise_unshuffled"]
    assert shuffling["in_figure"]  # the unshuffled run's history is the start of run binary's (Figure 1)
    tex = section(templates.render(context, TEMPLATES), "2e")
    assert "Shuffling does make the descent smoother" in tex
    assert "We leave out the first epoch, steps 0\nto 30" in tex
    assert "it is the validation loss of Figure~\\ref{fig:2b-loss} up to step\n1044" in tex


def write_binary_history(root: Path, run: str, steps: np.ndarray, loss: np.ndarray) -> None:
    """Writes binary run ``run``'s validation losses at ``steps``, with an accuracy of 0.97 throughout."""
    accuracy = np.full(steps.shape, 0.97)
    write_history(root, run, steps, loss, accuracy, accuracy)


@pytest.mark.parametrize("unshuffled_rises, shuffled_rises, phrase", [
    # (count, size) of the rises without and with shuffling; the loss falls by 0.0001 between them
    ((6, 0.01), (9, 0.002), "goes up more often (9 against 6 times) but by less."),
    ((6, 0.01), (6, 0.002), "goes up as often (6 times each) but by less."),
    ((6, 0.01), (3, 0.002), "goes up less often (3 against 6 times) and by less."),
    ((6, 0.01), (0, 0.002), "the validation loss\nnever goes up."),
    ((3, 0.002), (6, 0.01), "went up\nmore often (6 against 3 times) and by more in total"),
    ((9, 0.002), (6, 0.01), "went up\nless often (6 against 9 times) but by more in total"),
    ((4, 0.0051), (2, 0.0101), "made no difference to the size of the spikes: the validation loss went up\nby as "
                                "much in total with shuffling as without, though less often\n(2 against 4 times)."),
])
def test_2e_says_how_often_and_by_how_much_in_every_order(repo, unshuffled_rises, shuffled_rises, phrase):
    root, params = repo
    steps = np.arange(60) * 6  # validations every 6 steps, 31 steps an epoch
    for run, (count, size) in (("binary_early_stopping", unshuffled_rises), ("binary_shuffled", shuffled_rises)):
        loss = 0.2 - 0.0001 * np.arange(60)
        later = np.flatnonzero(steps >= 31)[1::3][:count]  # rises after the first epoch only
        loss[later] += size
        loss[:5] += np.array([0.0, 0.5, 0.0, 0.5, 0.0])  # epoch 0 swings: not counted
        write_binary_history(root, run, steps, loss)
    context = report.build_context(check_params(params), root)
    shuffling = context["task2"]["shuffling"]
    assert (shuffling["rises_unshuffled"], shuffling["rises_shuffled"]) == (unshuffled_rises[0], shuffled_rises[0])
    assert shuffling["rise_unshuffled"] == pytest.approx(unshuffled_rises[0] * (unshuffled_rises[1] - 0.0001))
    assert phrase in section(templates.render(context, TEMPLATES), "2e")


def test_2e_finds_spikes_that_recur_every_lcm_of_epoch_and_validation_interval(repo):
    root, params = repo
    steps = np.arange(175) * 6
    loss = 0.08 - 0.00001 * np.arange(175)
    loss[(steps % 186 == 18) & (steps > 31)] += 0.1  # after step 18 of the epoch, seen every 6 epochs
    loss[np.arange(175) % 7 == 3] += 0.001  # small rises elsewhere
    write_binary_history(root, "binary_early_stopping", steps, loss)
    spikes = report.build_context(check_params(params), root)["task2"]["shuffling"]["spikes"]
    assert spikes["steps"] == [204, 390, 576, 762, 948] and spikes["period"] == 186
    assert (spikes["epoch_step"], spikes["epochs_between"], spikes["recovers"]) == (18, 6, True)
    tex = " ".join(section(render_repo(root, params), "2e").split())
    assert "come at steps 204, 390, 576, 762 and 948" in tex
    assert "every 186 steps, the least common multiple of the 31 steps of an epoch and the 6 steps" in tex
    assert "only every six epochs" in tex
    # The fake history's spikes every 30 steps do not recur at one point of the epoch: no such claim.
    write_binary_history(root, "binary_early_stopping", steps, 0.08 + 0.004 * (np.arange(175) % 5 == 0))
    assert report.build_context(check_params(params), root)["task2"]["shuffling"]["spikes"] is None
    assert "least common multiple" not in render_repo(root, params)


@pytest.mark.parametrize("shuffled, phrase, caveat", [
    ({}, "lower than the\n97.60", True),  # stopped earlier, lower accuracy
    ({"val_accuracy": 0.9790}, "higher than the\n97.60", False),  # stopped earlier, higher accuracy
    ({"val_accuracy": 0.97604}, "the same as the\n97.60", True),  # equal as printed
    ({"steps": 1200, "early_stop_epoch": 38}, "lower than the\n97.60", False),  # stopped later
])
def test_2e_says_stopping_earlier_is_not_better_only_when_it_stopped_earlier_and_no_better(
        repo, shuffled, phrase, caveat):
    root, params = repo
    rewrite_metric(root, "binary_early_stopping", val_accuracy=0.9760)
    rewrite_metric(root, "binary_shuffled", **{"val_accuracy": 0.9740, **shuffled})
    tex = section(render_repo(root, params), "2e")
    assert ("Stopping earlier is not in itself better training" in tex) is caveat
    assert phrase in tex


def test_4d_and_4e_say_whether_accuracy_and_norm_fall_with_lambda(repo):
    root, params = repo
    tex = render_repo(root, params)
    assert "The validation accuracy decreases monotonically" in tex
    assert "It decreases monotonically" in tex and "smaller by a factor of 222.2" in tex
    rewrite_metric(root, "softmax_lambda_0_001", val_accuracy=0.9200, weight_norm_squared=400.0)
    tex = render_repo(root, params)
    assert "does not change monotonically with $\\lambda$. It is highest" in tex
    assert "It does not decrease monotonically" in tex


def test_4d_non_monotonic_puts_the_gain_on_the_best_lambda(repo):
    root, params = repo
    rewrite_metric(root, "softmax_lambda_0_001", val_accuracy=0.9200)  # best; lambda = 0 gives 91.57 %
    tex = " ".join(section(render_repo(root, params), "4d").split())
    assert (r"It is highest, 92.00\,\%, at $\lambda = 0.001$, 0.43 percentage points above without a penalty, "
            r"and lowest, 84.21\,\%, at $\lambda = 1$.") in tex
    assert (r"The accuracy at the strongest penalty, $\lambda = 1$, is 7.36 percentage points lower than "
            "without a penalty.") in tex
    assert r"So a penalty of $\lambda = 0.001$ helps here" in tex
    assert r"while the strongest, $\lambda = 1$, pulls the weights towards zero" in tex and "costs accuracy" in tex
    assert "No $\\lambda" not in tex


def test_4d_non_monotonic_with_lambda_0_best_says_no_penalty_does_better(repo):
    root, params = repo
    rewrite_metric(root, "softmax_lambda_0_01", val_accuracy=0.8000)  # dips below lambda = 0.1
    tex = " ".join(section(render_repo(root, params), "4d").split())
    assert r"It is highest, 91.57\,\%, at $\lambda = 0$, and lowest, 80.00\,\%, at $\lambda = 0.01$." in tex
    assert r"No $\lambda > 0$ does better than $\lambda = 0$." in tex
    assert "beats none" not in tex and "percentage points above" not in tex


def test_4d_accuracy_rising_with_lambda_never_says_the_strong_penalty_costs(repo):
    root, params = repo
    for run, accuracy in (("softmax_lambda_0_001", 0.92), ("softmax_lambda_0_01", 0.93),
                          ("softmax_lambda_0_1", 0.94), ("softmax_lambda_1", 0.95)):
        rewrite_metric(root, run, val_accuracy=accuracy)
    tex = " ".join(section(render_repo(root, params), "4d").split())
    assert (r"increases monotonically as $\lambda$ grows, from 91.57\,\% at $\lambda = 0$ to 95.00\,\% at "
            r"$\lambda = 1$, 3.43 percentage points higher than without a penalty") in tex
    assert r"So the penalty helps here, the strongest tried, $\lambda = 1$, as much as any" in tex
    assert "costs accuracy" not in tex and "lowest" not in tex
    # Not monotonic, but the strongest is still the best: no cost either.
    rewrite_metric(root, "softmax_lambda_0_01", val_accuracy=0.90)
    tex = " ".join(section(render_repo(root, params), "4d").split())
    assert r"It is highest, 95.00\,\%, at $\lambda = 1$, 3.43 percentage points above without a penalty" in tex
    assert "costs accuracy" not in tex
    assert r"is 3.43 percentage points higher than without a penalty" in tex


def test_4c_and_4e_report_early_stopping_and_the_time_constant_of_the_decay(repo):
    root, params = repo
    for run, steps, epoch in (("softmax_lambda_0_01", 4775, 30), ("softmax_lambda_0_1", 2667, 17),
                              ("softmax_lambda_1", 621, 3)):
        rewrite_metric(root, run, steps=steps, early_stop_epoch=epoch)
    tex = unbroken(render_repo(root, params))
    flat = " ".join(section(tex, "4c").split())
    assert (r"Early stopping ended the runs with $\lambda = {}$0.01, 0.1 and 1 in epochs 30, 17 and 3, after "
            "4775, 2667 and 621 steps of the 7800 that 50 epochs take.") in flat
    assert r"the runs with $\lambda = {}$0 and 0.001 trained all 50 epochs" in flat
    assert r"\texttt{softmax\_lambda\_1} & 1 & 621 & 3 &" in tex
    assert r"\texttt{softmax} & 0 & 7800 & none &" in tex
    assert r"\caption{Accuracy, loss and $\lVert w \rVert^2$ of the final weights for each $\lambda$" in tex
    flat = " ".join(section(tex, "4e").split())
    assert r"time constant of $1/(2\eta\lambda)$ steps: 50000, 5000, 500 and 50 steps" in flat
    assert (r"Only the runs with $\lambda = {}$0.1 and 1, which took 2667 and 621 steps (5.33 and 12.42 time "
            "constants), had time to reach it.") in flat
    assert r"The runs with $\lambda = {}$0.001 and 0.01 took 7800 and 4775 steps (0.16 and 0.96 time constants)" in flat
    rewrite_metric(root, "softmax_lambda_0_01", steps=7800, early_stop_epoch=None)
    rewrite_metric(root, "softmax_lambda_0_1", steps=7800, early_stop_epoch=None)
    rewrite_metric(root, "softmax_lambda_1", steps=7800, early_stop_epoch=None)
    flat = " ".join(unbroken(render_repo(root, params)).split())
    assert "No run stopped early" in flat
    assert "Only the runs with $\\lambda = {}$0.01, 0.1 and 1" in flat


def test_4b_roughness_says_which_weights_are_smoother(repo):
    root, params = repo
    context = report.build_context(check_params(params), root)
    weights = context["task4"]["weights"]
    assert (weights["low"]["l2_lambda"], weights["high"]["l2_lambda"]) == (0.0, 1.0)
    assert weights["high"]["roughness"] < weights["low"]["roughness"]
    tex = templates.render(context, TEMPLATES)
    assert "The weights of the stronger penalty are the smoother ones. Without a penalty nothing keeps" in tex
    assert "The two rows have\nseparate colour scales" in tex


def test_4b_says_without_a_penalty_only_when_the_weaker_run_has_lambda_0(repo):
    root, params = repo
    rng = np.random.default_rng(2)
    np.save(root / "models/softmax_lambda_0_001.npy", np.vstack([rng.normal(size=(784, 10)), np.zeros((1, 10))]))
    params["roles"]["4b_top"] = "softmax_lambda_0_001"
    tex = section(render_repo(root, params), "4b")
    assert "Without a penalty" not in tex
    assert "With the weaker penalty,\n$\\lambda = 0.001$, less keeps a pixel's weight close" in tex


def test_3d_verdict_follows_the_gap(repo):
    root, params = repo
    context = report.build_context(check_params(params), root)
    assert context["task3"]["overfitting"]["verdict"] == "early"  # the fake train accuracy pulls ahead slowly
    assert "So there are early signs of overfitting" in templates.render(context, TEMPLATES)
    steps = np.arange(100) * 31
    history = {"step": steps, "val_loss": 0.3 + 0.5 * np.exp(-steps / 800),
               "val_accuracy": 0.9 - 0.2 * np.exp(-steps / 800), "train_accuracy": 0.9 - 0.2 * np.exp(-steps / 800)}
    assert facts_task3.overfitting_facts(history, decimals=2, loss_decimals=4)["verdict"] == "none"
    # A gap that widens by less than the printed digits does not widen.
    history["train_accuracy"] = history["val_accuracy"] + 0.00004 * steps / steps[-1]
    facts = facts_task3.overfitting_facts(history, decimals=2, loss_decimals=4)
    assert facts["verdict"] == "none" and facts["gap_last"] == facts["gap_middle"] == 0


def test_3d_states_gains_and_gaps_as_differences_of_printed_values(repo):
    root, params = repo
    tex = " ".join(section(render_repo(root, params), "3d").split())
    assert r"a gap of 0.68 percentage points in favour of the training set" in tex  # 92.25 - 91.57
    rewrite_metric(root, "softmax", train_accuracy=0.91574, val_accuracy=0.9157)
    tex = " ".join(section(render_repo(root, params), "3d").split())
    assert r"91.57\,\% of the training set and 91.57\,\% of the validation set correctly, the same share of both" in tex
    assert "0.00" not in tex


def test_3b_claims_ten_classes_are_harder_only_when_the_accuracy_is_lower(repo):
    root, params = repo
    tex = " ".join(section(render_repo(root, params), "3b").split())
    assert (r"Ten classes are harder to tell apart than two: the final validation accuracy is 6.32 percentage "
            r"points lower than the 97.89\,\% of the binary task.") in tex
    rewrite_metric(root, "softmax", val_accuracy=0.9800)
    tex = " ".join(section(render_repo(root, params), "3b").split())
    assert "Ten classes are harder to tell apart than two:" not in tex
    assert (r"Although ten classes are harder to tell apart than two, the final validation accuracy is "
            r"0.11 percentage points higher than the 97.89\,\% of the binary task.") in tex


def test_data_facts_count_the_binary_examples_and_check_the_digests(repo):
    root, params = repo
    facts = report.build_context(check_params(params), root)["data"]
    assert (facts["train_size"], facts["val_size"]) == (20000, 10000)
    assert (facts["binary_train_size"], facts["binary_val_size"]) == (4005, 2042)
    assert facts["train_digit_counts"][2:4] == [2000, 2005] and sum(facts["train_digit_counts"]) == 20000
    assert not facts["all_expected"]  # fake files are not MNIST
    assert all(len(f["sha256"]) == 64 for f in facts["files"])


def test_4c_says_so_when_the_lambda_runs_differ_in_more_than_lambda(repo):
    root, params = repo
    tex = unbroken(render_repo(root, params))
    assert "and otherwise the same settings" in tex and "differ in more than" not in tex
    params = copy.deepcopy(params)
    params["runs"]["softmax"]["learning_rate"] = 0.02
    tex = unbroken(render_repo(root, params))
    assert "and otherwise the same settings" not in tex
    assert r"differ in more than $\lambda$" in tex
    assert r"\texttt{learning\_rate}" in tex and r"\texttt{softmax}: 0.02" in tex


def test_one_epoch_is_singular(repo):
    root, params = repo
    params = copy.deepcopy(params)
    params["defaults"]["epochs"] = 1
    tex = render_repo(root, params)
    assert "1 epochs" not in tex and "for 1 epoch of mini-batch SGD" in tex


def test_reproduction_uses_the_tolerance_of_params(repo):
    root, params = repo
    published = float(PUBLISHED["binary"]["val_loss"])
    rewrite_metric(root, "binary", val_loss=published * (1 + 1e-6))
    assert report.build_context(check_params(params), root)["reproduction"]["mismatches"] == 1
    params["report"]["reproduction_rtol"] = 2e-6
    table = report.build_context(check_params(params), root)["reproduction"]
    assert table["all_agree"] and table["rtol"] == 2e-6
    assert r"agree to within a relative difference of \ensuremath{2\times10^{-6}}" in render_repo(root, params)


# ------------------------------------------------------------------ report.provenance

def test_full_provenance_traces_every_figure_and_tables_the_digests(repo):
    root, params = repo
    tex = render_repo(root, params)
    assert tex.count(r"\traceline{Drawn by stage \texttt{figures}") == len(FIGURE_NAMES)
    assert r"\label{tab:data}" in tex and r"\label{tab:figure-sources}" in tex


def test_summary_provenance_drops_the_trace_lines_and_digest_tables_but_keeps_appendix_a(repo):
    root, params = repo
    params["report"]["provenance"] = "summary"
    tex = render_repo(root, params)
    assert r"\traceline" not in tex.split(r"\begin{document}")[1]  # the macro stays defined in the preamble
    assert r"\label{tab:data}" not in tex and r"\label{tab:figure-sources}" not in tex
    assert "tab:figure-sources" not in tex and "tab:data" not in tex  # no reference left dangling
    appendix_a = tex[tex.index(r"\appendixsection{A}"):tex.index(r"\appendixsection{B}")]
    assert r"\label{tab:reproduction}" in appendix_a
    appendix_b = tex[tex.index(r"\appendixsection{B}"):]
    assert "report.provenance: full" in " ".join(appendix_b.split()).replace("\\_", "_")
    assert r"\includegraphics" in tex and tex.count(r"\begin{figure}") == len(FIGURE_NAMES)


def test_provenance_is_full_or_summary_and_nothing_else():
    params = copy.deepcopy(PARAMS)
    params["report"]["provenance"] = "none"
    with pytest.raises(PipelineError, match=r"^report\.provenance = 'none': expected full \(a grey line under each "
                                            r"figure's caption and Appendix B's tables of digests\) or summary \(neither\)"):
        check_params(params)
