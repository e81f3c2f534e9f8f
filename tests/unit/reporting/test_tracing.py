"""Traceable figures: which files each figure is drawn from (``figures.figure_inputs``, following
``roles``), the grey line of each caption, the appendix's table of figure sources and its MD5, and the
short captions that keep ``report.aux`` unchanged when only numbers move.

The last tests read the repository after ``dvc repro``: every MD5 the appendix of
``report/build/report.tex`` prints equals the one ``dvc.lock`` records for that file.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnist_report import report
from mnist_report.common.errors import PipelineError
from mnist_report.config.figures import FIGURE_NAMES, figure_inputs, input_paths
from mnist_report.config.params import check_params
from mnist_report.plotting.cache import recipe_digest
from mnist_report.plotting.recipes import figure_recipes
from mnist_report.plotting.render import DRAWING_CODE
from mnist_report.reporting import context, tracing
from support.figure_runs import PARAMS_YAML, TRAIN_STEPS, make_run
from support.report_project import PARAMS, change_the_numbers, make_repo, render_repo, unbroken
from support.paths import REPO
from mnist_report.config.schema import load_params, parse_yaml

ROOT = REPO
TEMPLATES = ROOT / "report" / "templates"
HAVE_TEX = shutil.which("pdflatex") is not None


@pytest.fixture
def params() -> dict:
    project = load_params(ROOT / "params.yaml")
    return {"data": project["data"], "report": project["report"], **parse_yaml(PARAMS_YAML)}


def runs_of(params: dict) -> dict[str, list[str]]:
    return {name: list(by_run) for name, by_run in figure_inputs(check_params(params, mathtext=True)).items()}


# ------------------------------------------------------------------------- figure_inputs

def test_figure_inputs_name_every_figure_with_the_runs_of_its_roles(params):
    assert runs_of(params) == {
        "2b_loss": ["binary"], "2b_accuracy": ["binary"],
        "2e_loss": ["binary_early_stopping", "binary_shuffled"],
        "2e_accuracy": ["binary_early_stopping", "binary_shuffled"],
        "3b_loss": ["softmax"], "3c_accuracy": ["softmax"],
        "4b_weights": ["softmax", "softmax_lambda_1"],
        "4c_val_accuracy": ["softmax", "softmax_lambda_0_1", "softmax_lambda_1"],  # by lambda
        "4e_weight_norm": ["softmax", "softmax_lambda_0_1", "softmax_lambda_1"],
    }
    assert list(figure_inputs(check_params(params, mathtext=True))) == list(FIGURE_NAMES)
    inputs = figure_inputs(check_params(params, mathtext=True))
    assert inputs["2b_loss"]["binary"] == [Path("metrics/history/binary/train.csv"),
                                           Path("metrics/history/binary/validation.csv")]
    assert inputs["4b_weights"]["softmax_lambda_1"] == [Path("models/softmax_lambda_1.npy")]
    assert inputs["4e_weight_norm"]["softmax_lambda_0_1"] == [Path("metrics/softmax_lambda_0_1.json")]


def test_a_change_of_roles_changes_the_runs_of_those_figures_only(params):
    before = runs_of(params)
    params["runs"]["unshuffled_again"] = {"task": "binary", "learning_rate": 0.05, "shuffle": False, "seed": 1}
    params["roles"].update({"3b": "softmax_lambda_0_1", "2e_unshuffled": "unshuffled_again", "4b_top": "softmax_lambda_0_1"})
    after = runs_of(params)
    assert after["3b_loss"] == after["3c_accuracy"] == ["softmax_lambda_0_1"]
    assert after["2e_loss"] == after["2e_accuracy"] == ["unshuffled_again", "binary_shuffled"]
    assert after["4b_weights"] == ["softmax_lambda_0_1", "softmax_lambda_1"]
    changed = {name for name in FIGURE_NAMES if after[name] != before[name]}
    assert changed == {"3b_loss", "3c_accuracy", "2e_loss", "2e_accuracy", "4b_weights"}


def test_a_new_softmax_run_joins_4c_and_4e_in_lambda_order_and_a_binary_run_nothing(params):
    params["runs"]["softmax_lambda_0_5"] = {"l2_lambda": 0.5}
    params["runs"]["binary_again"] = {"task": "binary", "seed": 3}
    after = runs_of(params)
    assert after["4c_val_accuracy"] == after["4e_weight_norm"] == [
        "softmax", "softmax_lambda_0_1", "softmax_lambda_0_5", "softmax_lambda_1"]
    assert all("binary_again" not in runs for runs in after.values())


def test_input_paths_are_the_union_of_the_figure_inputs(params):
    union = {path for by_run in figure_inputs(check_params(params, mathtext=True)).values() for paths in by_run.values() for path in paths}
    assert input_paths(check_params(params, mathtext=True)) == sorted(union)


def perturb(path: Path) -> None:
    """Changes every value a figure could draw from ``path`` (not the steps), keeping it valid."""
    if path.suffix == ".csv":
        header, *rows = path.read_text().splitlines()
        scaled = [",".join([row.split(",")[0]] + [repr(float(v) * 0.99) for v in row.split(",")[1:]]) for row in rows]
        path.write_text("\n".join([header, *scaled]) + "\n")
    elif path.suffix == ".npy":
        np.save(path, np.load(path) + 0.5)
    else:
        values = json.loads(path.read_text())
        path.write_text(json.dumps({**values, "weight_norm_squared": values["weight_norm_squared"] * 2}))


def test_each_figure_is_drawn_from_exactly_the_files_figure_inputs_names(params, tmp_path):
    # Independent of figure_inputs: change one file, see which figures' drawings (their recipes) change.
    for i, (run, steps) in enumerate(TRAIN_STEPS.items()):
        make_run(tmp_path, run, steps, offset=i / 100)
    inputs = figure_inputs(check_params(params, mathtext=True))

    def digests() -> dict[str, str]:
        return {name: recipe_digest(recipe, 40, 12, DRAWING_CODE) for name, recipe in figure_recipes(check_params(params, mathtext=True), tmp_path).items()}

    for path in input_paths(check_params(params, mathtext=True)):
        before = digests()
        perturb(tmp_path / path)
        after = digests()
        drawn_from = {name for name in FIGURE_NAMES if after[name] != before[name]}
        named = {name for name, by_run in inputs.items() if any(path in paths for paths in by_run.values())}
        assert drawn_from == named, f"{path}: changes figures {sorted(drawn_from)}; figure_inputs names {sorted(named)}"


# ----------------------------------------------------------------------------------- digests

@pytest.mark.parametrize("content, md5", [  # RFC 1321, appendix A.5
    (b"", "d41d8cd98f00b204e9800998ecf8427e"),
    (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
    (b"1234567890" * 8, "57edf4a22be3c955ac49da2e2107b67a"),
])
def test_file_md5_by_the_rfc_test_vectors(tmp_path, content, md5):
    (tmp_path / "file").write_bytes(content)
    assert tracing.file_md5(tmp_path / "file", "file", "train@x") == md5


def test_file_md5_reads_a_file_larger_than_its_block_whole(tmp_path):
    content = bytes(range(256)) * 4099 + b"tail"  # over 1 MiB, not a multiple of the block
    (tmp_path / "file").write_bytes(content)
    assert tracing.file_md5(tmp_path / "file", "file", "train@x") == hashlib.md5(content).hexdigest()


def test_a_missing_input_names_the_file_and_the_stage_that_writes_it(tmp_path):
    make_repo(tmp_path)
    (tmp_path / "metrics/history/binary_shuffled/train.csv").unlink()
    with pytest.raises(PipelineError, match=r"^metrics/history/binary_shuffled/train.csv: missing; "
                                            r"expected the output of stage train@binary_shuffled"):
        tracing.figure_traces(check_params(PARAMS), tmp_path)


def test_traces_list_each_figures_pdf_and_inputs_with_their_md5(tmp_path):
    params = make_repo(tmp_path)
    traces = tracing.figure_traces(check_params(params), tmp_path)
    assert list(traces) == list(FIGURE_NAMES)
    two_e = traces["2e_loss"]
    assert two_e["stage"] == "figures" and two_e["runs"] == ["binary_early_stopping", "binary_shuffled"]
    assert two_e["pdf"] == {"path": "report/build/figures/2e_loss.pdf", "md5": hashlib.md5(
        (tmp_path / "report/build/figures/2e_loss.pdf").read_bytes()).hexdigest()}
    assert [(entry["path"], entry["stage"]) for entry in two_e["inputs"]] == [
        ("metrics/history/binary_early_stopping/train.csv", "train@binary_early_stopping"),
        ("metrics/history/binary_shuffled/train.csv", "train@binary_shuffled")]
    for entry in two_e["inputs"]:
        assert entry["md5"] == hashlib.md5((tmp_path / entry["path"]).read_bytes()).hexdigest()


def test_the_report_stage_declares_every_file_it_digests():
    params = load_params(ROOT / "params.yaml")
    declared = set(report.input_paths(check_params(params)))
    assert set(tracing.traced_paths(check_params(params))) <= declared
    assert {f"report/build/figures/{name}.pdf" for name in FIGURE_NAMES} <= declared


# --------------------------------------------------------------- captions and the appendix

def brace_group(text: str, start: int) -> tuple[str, int]:
    """Returns the contents of the brace group opening at ``text[start]`` and the index after it."""
    assert text[start] == "{", text[start:start + 20]
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1:index], index + 1
    raise AssertionError("unbalanced braces")


def captions(tex: str) -> list[tuple[str | None, str]]:
    """Returns (short caption or None, caption) of every ``\\caption`` in ``tex``."""
    found = []
    for match in re.finditer(r"\\caption(\[)?", tex):
        index = match.end()
        short = None
        if match.group(1):
            end = tex.index("]", index)  # the short captions hold no brackets
            short, index = tex[index:end], end + 1
        long, _ = brace_group(tex, index)
        found.append((short, long))
    return found


def test_each_caption_ends_with_the_stage_and_the_runs_of_its_roles(tmp_path):
    params = make_repo(tmp_path)
    params["roles"]["3b"] = "softmax_lambda_1"  # Task 3 reads its validation history: give it softmax's
    for name in ("validation.csv", "train.csv"):
        (tmp_path / "metrics/history/softmax_lambda_1" / name).write_bytes(
            (tmp_path / "metrics/history/softmax" / name).read_bytes())
    figure_captions = [long for short, long in captions(unbroken(render_repo(tmp_path, params))) if "\\traceline" in long]
    assert len(figure_captions) == len(FIGURE_NAMES)
    lines = [long[long.index("\\traceline"):] for long in figure_captions]
    sweep = r"\texttt{softmax}, \texttt{softmax\_lambda\_0\_001}, \texttt{softmax\_lambda\_0\_01}, " \
            r"\texttt{softmax\_lambda\_0\_1}, \texttt{softmax\_lambda\_1}"
    expected = [r"run \texttt{binary}", r"run \texttt{binary}",
                r"runs \texttt{binary\_early\_stopping}, \texttt{binary\_shuffled}",
                r"runs \texttt{binary\_early\_stopping}, \texttt{binary\_shuffled}",
                r"run \texttt{softmax\_lambda\_1}", r"run \texttt{softmax\_lambda\_1}",
                r"runs \texttt{softmax}, \texttt{softmax\_lambda\_1}", f"runs {sweep}", f"runs {sweep}"]
    for line, runs in zip(lines, expected):
        assert " ".join(line.split()) == (r"\traceline{Drawn by stage \texttt{figures} from " + runs +
                                          r"; its files and their MD5: Table~\ref{tab:figure-sources}.}")


def appendix_rows(tex: str) -> list[tuple[str, str, str]]:
    """Returns (figure label or "", path, md5) of every row of the appendix's table of figure sources."""
    tex = unbroken(tex)
    start = tex.index(r"\label{tab:figure-sources}")
    table = tex[start:tex.index(r"\end{longtable}", start)]
    table = table[table.index(r"\endfoot"):]
    return [(label or "", path.replace("\\_", "_"), md5) for label, path, md5 in re.findall(
        r"(?:Figure~\\ref\{([^}]*)\})?\s*&\s*(?:\\quad)?\\texttt\{([^}]*)\}\s*&\s*\\texttt\{([0-9a-f]{32})\}", table)]


def expected_rows(root: Path, params: dict) -> list[tuple[str, str, str]]:
    """The table as figure_inputs and the files say it should be: hashlib, not tracing.file_md5."""
    rows = []
    for name, by_run in figure_inputs(check_params(params, mathtext=True)).items():
        pdf = f"report/build/figures/{name}.pdf"
        rows.append((context.figure_label(name), pdf, hashlib.md5((root / pdf).read_bytes()).hexdigest()))
        rows += [("", path.as_posix(), hashlib.md5((root / path).read_bytes()).hexdigest())
                 for paths in by_run.values() for path in paths]
    return rows


def test_the_appendix_lists_every_figure_its_pdf_and_its_files_with_their_md5(tmp_path):
    params = make_repo(tmp_path)
    params["roles"]["4b_bottom"] = "softmax_lambda_0_1"
    (tmp_path / "models/softmax_lambda_0_1.npy").write_bytes((tmp_path / "models/softmax_lambda_1.npy").read_bytes())
    assert appendix_rows(render_repo(tmp_path, params)) == expected_rows(tmp_path, params)


def aux_captions(tex: str) -> list[str]:
    """What LaTeX copies into report.aux of each caption: the short caption if given, else the caption."""
    return [long if short is None else short for short, long in captions(tex)]


def test_what_captions_copy_into_the_aux_holds_no_number_of_the_run(tmp_path):
    params = make_repo(tmp_path)
    before = render_repo(tmp_path, params)
    after = render_repo(tmp_path, change_the_numbers(tmp_path, params))
    assert before != after
    assert aux_captions(after) == aux_captions(before)
    assert sum(short is not None for short, _ in captions(after)) == len(FIGURE_NAMES)  # every figure has one


# ------------------------------------------------------------- the repository after dvc repro

def lock_md5s() -> dict[str, tuple[str, str]]:
    """Returns path -> (stage, md5) of every output dvc.lock records."""
    stages = parse_yaml((ROOT / "dvc.lock").read_text(encoding="utf-8"))["stages"]
    return {out["path"]: (stage, out["md5"]) for stage, entry in stages.items() for out in entry.get("outs", [])}


@pytest.fixture(scope="module")
def reproduced() -> str:
    tex = ROOT / "report/build/report.tex"
    if not tex.exists():
        pytest.skip("report/build/report.tex missing: run `dvc repro` (or `dvc checkout`) first")
    text = tex.read_text(encoding="utf-8")
    assert r"\label{tab:figure-sources}" in text, f"{tex} has no table of figure sources: run `dvc repro`"
    return text


def test_every_md5_the_appendix_prints_is_the_one_dvc_lock_records(reproduced):
    # DVC 3 (hash: md5) records the MD5 of a file's bytes as they are: the digest tracing prints.
    params = load_params(ROOT / "params.yaml")
    run_of = {path.as_posix(): run for by_run in figure_inputs(check_params(params, mathtext=True)).values()
              for run, paths in by_run.items() for path in paths}
    inputs = [(path, md5) for label, path, md5 in appendix_rows(reproduced) if not label]
    assert sorted({path for path, _ in inputs}) == sorted(run_of)
    locked = lock_md5s()
    for path, md5 in inputs:
        stage, recorded = locked[path]
        assert stage == f"train@{run_of[path]}"
        assert md5 == recorded, f"{path}: the report prints {md5}, dvc.lock records {recorded} (run `dvc repro`)"


def test_every_pdf_md5_the_appendix_prints_is_the_files_and_the_one_dvcs_cache_lists(reproduced):
    rows = [(path, md5) for label, path, md5 in appendix_rows(reproduced) if label]
    assert [path for path, _ in rows] == [f"report/build/figures/{name}.pdf" for name in FIGURE_NAMES]
    for path, md5 in rows:
        assert md5 == hashlib.md5((ROOT / path).read_bytes()).hexdigest(), f"{path} (run `dvc repro`)"
    # dvc.lock records report/build/figures as one directory: its listing (in the cache) names each file's.
    stage, directory = lock_md5s()["report/build/figures"]
    assert stage == "figures" and directory.endswith(".dir")
    listing = dvc_cache() / "files" / "md5" / directory[:2] / directory[2:]
    assert listing.exists(), f"{listing}: the PDFs' directory is a cached output (`dvc repro` or `dvc pull`)"
    listed = {entry["relpath"]: entry["md5"] for entry in json.loads(listing.read_text())}
    assert {f"report/build/figures/{name}": md5 for name, md5 in listed.items()} == dict(rows)


def dvc_cache() -> Path:
    """Returns DVC's cache directory of the repository (``.dvc/config.local`` or ``.dvc/config``, else ``.dvc/cache``)."""
    for config in (ROOT / ".dvc/config.local", ROOT / ".dvc/config"):
        if config.exists():
            found = re.search(r"^\s*dir\s*=\s*(\S+)", config.read_text(), re.M)
            if found:
                return (config.parent / found.group(1)).resolve()
    return ROOT / ".dvc/cache"


def test_file_digests_are_of_every_byte_in_blocks_and_errors_name_file_and_stage(tmp_path):
    big = tmp_path / "big"
    data = bytes(range(256)) * ((3 << 20) // 256 + 7)  # more than three blocks of 1 MiB, not a multiple
    big.write_bytes(data)
    assert tracing.file_digest(big, "md5") == hashlib.md5(data).hexdigest()
    assert tracing.file_md5(big, "b", "train@x") == hashlib.md5(data).hexdigest()
    with pytest.raises(PipelineError) as error:
        tracing.file_md5(tmp_path / "none", "metrics/x.json", "train@x")
    assert str(error.value) == "metrics/x.json: missing; expected the output of stage train@x (`dvc repro` makes it)"
    with pytest.raises(PipelineError) as error:
        tracing.file_md5(tmp_path, "models/", "train@x")  # a directory: IsADirectoryError
    assert str(error.value) == "models/: cannot read (Is a directory)"


def test_figure_traces_read_the_pdfs_from_the_folder_given_and_name_each_inputs_run(tmp_path):
    params = make_repo(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in FIGURE_NAMES:
        (elsewhere / f"{name}.pdf").write_bytes(f"%PDF- {name}".encode())
    (elsewhere / "2b_loss.pdf").write_bytes(b"another pdf")
    traces = tracing.figure_traces(check_params(params), tmp_path, elsewhere)
    assert traces["2b_loss"]["pdf"] == {"path": "report/build/figures/2b_loss.pdf",
                                        "md5": hashlib.md5(b"another pdf").hexdigest()}
    assert [(i["run"], i["stage"]) for i in traces["2e_loss"]["inputs"]] == [
        ("binary_early_stopping", "train@binary_early_stopping"), ("binary_shuffled", "train@binary_shuffled")]
    (elsewhere / "3b_loss.pdf").unlink()
    with pytest.raises(PipelineError) as error:
        tracing.figure_traces(check_params(params), tmp_path, elsewhere)
    assert str(error.value) == ("report/build/figures/3b_loss.pdf: missing; expected the output of stage figures "
                                "(`dvc repro` makes it)")
