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
    ("batch_size", 0, "an integer >= 1"),
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
