"""params.yaml: runs resolve from defaults, and a bad value is refused naming its key path."""

from pathlib import Path

import pytest
import yaml

from mnist_report.errors import PipelineError
from mnist_report.params import load_params, run_settings

ROOT = Path(__file__).resolve().parent.parent


def default_params():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_default_runs_are_the_originals():
    runs = run_settings(default_params())
    assert runs["binary"] == {"task": "binary", "classes": [2, 3], "learning_rate": 0.05, "epochs": 50,
                              "batch_size": 128, "shuffle": False, "early_stopping": False, "l2_lambda": 0.0,
                              "seed": 0}
    assert runs["binary_early_stopping"]["early_stopping"] and not runs["binary_early_stopping"]["shuffle"]
    assert runs["binary_shuffled"]["early_stopping"] and runs["binary_shuffled"]["shuffle"]
    assert runs["softmax"]["learning_rate"] == 0.01 and runs["softmax"]["l2_lambda"] == 0
    assert sorted(r["l2_lambda"] for n, r in runs.items() if n.startswith("softmax_lambda")) == [0.001, 0.01, 0.1, 1.0]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("learning_rate", 0, "a finite number > 0"),
    ("learning_rate", -0.1, "a finite number > 0"),
    ("learning_rate", float("inf"), "a finite number > 0"),
    ("learning_rate", "fast", "type int or float"),
    ("epochs", 0, "an integer >= 1"),
    ("epochs", 2.5, "type int"),
    ("batch_size", 0, "an integer from 1 to the 20000 training images"),
    ("batch_size", 20001, "an integer from 1 to the 20000 training images"),
    ("l2_lambda", -1, "a finite number >= 0"),
    ("classes", [2, 2], "two different digits"),
    ("classes", [2, 10], "two different digits"),
    ("task", "regression", "one of binary, softmax"),
    ("seed", 1.5, "type int"),
    ("shuffle", "yes", "type bool"),
    ("early_stopping", 1, "type bool"),
])
def test_bad_run_setting_is_refused_with_key_path_and_value(key, value, expected):
    params = default_params()
    params["runs"]["softmax"] = {key: value}
    with pytest.raises(PipelineError) as error:
        run_settings(params)
    message = str(error.value)
    assert message.startswith(f"runs.softmax.{key} = {value!r}")
    assert expected in message


def test_unknown_key_is_refused():
    params = default_params()
    params["runs"]["binary"]["learning_rte"] = 0.1
    with pytest.raises(PipelineError, match=r"runs\.binary\.learning_rte: unknown setting"):
        run_settings(params)


def test_malformed_yaml_names_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("runs: [unclosed\n")
    with pytest.raises(PipelineError, match=r"params\.yaml: not valid YAML"):
        load_params(path)


# --- every stage refuses a bad params.yaml before writing anything --------------------------------

from mnist_report import download, figures, report, train  # noqa: E402

STAGES = {
    "download": lambda: download.main([]),
    "train": lambda: train.main(["binary"]),
    "figures": lambda: figures.main([]),
    "report": lambda: report.main([]),
}


def set_key(path: str, value):
    def edit(params):
        *parents, last = path.split(".")
        node = params
        for key in parents:
            node = node[key]
        node[last] = value
    return edit


BAD_PARAMS = [  # (edit, the start of the one error line)
    (set_key("runs.binary.learning_rte", 0.1), "runs.binary.learning_rte: unknown setting"),
    (set_key("colour", "blue"), "colour: unknown section of params.yaml"),
    (set_key("figures.2b_loss.ylim", [0, 1]), "figures.2b_loss.ylim: unknown key"),
    (set_key("runs.binary.learning_rate", 0), "runs.binary.learning_rate = 0: expected a finite number > 0"),
    (set_key("runs.binary.learning_rate", float("nan")), "runs.binary.learning_rate = nan: expected a finite number > 0"),
    (set_key("runs.softmax.learning_rate", "0.01"), "runs.softmax.learning_rate = '0.01': expected a value of type int or float"),
    (set_key("defaults.epochs", 0), "defaults.epochs (in run binary) = 0: expected an integer >= 1"),
    (set_key("runs.softmax.batch_size", 0), "runs.softmax.batch_size = 0: expected an integer from 1"),
    (set_key("runs.softmax.batch_size", 100000), "runs.softmax.batch_size = 100000: expected an integer from 1"),
    (set_key("runs.softmax_lambda_1.l2_lambda", -1.0), "runs.softmax_lambda_1.l2_lambda = -1.0: expected a finite number >= 0"),
    (set_key("runs.binary.classes", [2, 2]), "runs.binary.classes = [2, 2]: expected two different digits"),
    (set_key("runs.binary.classes", [2, 10]), "runs.binary.classes = [2, 10]: expected two different digits"),
    (set_key("runs.binary.task", "regression"), "runs.binary.task = 'regression': expected one of binary, softmax"),
    (set_key("defaults.seed", 0.5), "defaults.seed (in run binary) = 0.5: expected a value of type int"),
    (set_key("roles.4b_bottom", "softmax_lambda_7"), "roles.4b_bottom = 'softmax_lambda_7': expected a run"),
    (set_key("report.title", ""), "report.title = '': expected a non-empty string"),
    (set_key("data.timeout_seconds", -1), "data.timeout_seconds = -1: expected a number of seconds"),
]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(("edit", "message"), BAD_PARAMS, ids=[m.split(":")[0] for _, m in BAD_PARAMS])
def test_every_stage_refuses_a_bad_parameter_with_one_line_and_writes_nothing(stage, edit, message, tmp_path,
                                                                             monkeypatch, capsys):
    params = default_params()
    edit(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert STAGES[stage]() == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert [p.name for p in tmp_path.iterdir()] == ["params.yaml"]


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_refuses_malformed_yaml(stage, tmp_path, monkeypatch, capsys):
    (tmp_path / "params.yaml").write_text("runs: {binary: [unclosed\n")
    monkeypatch.chdir(tmp_path)
    assert STAGES[stage]() == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: params.yaml: not valid YAML")
    assert [p.name for p in tmp_path.iterdir()] == ["params.yaml"]
