"""outputs.py: the train stage's files as every later stage reads them, with every refusal in full
(the metrics' kinds at their bounds, the histories' headers, rows and steps, the weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_report.common import outputs
from mnist_report.common.errors import PipelineError
from mnist_report.common.outputs import TRAIN_COLUMNS, VALIDATION_COLUMNS

GOOD = {"train_loss": 0.2, "val_loss": 0.25, "train_accuracy": 0.95, "val_accuracy": 0.93, "early_stop_epoch": None,
        "steps": 31, "weight_norm_squared": 1}
SCHEDULE = {"steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": 10}


def metrics_file(tmp_path, **changes):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**GOOD, **changes}), encoding="utf-8")
    return path


@pytest.mark.parametrize("changes", [
    {"steps": 0}, {"early_stop_epoch": 0}, {"early_stop_epoch": 7},
    {"train_loss": 3}, {"val_accuracy": 0.0},
])
def test_metrics_at_their_bounds_are_read(tmp_path, changes):
    assert outputs.read_metrics(metrics_file(tmp_path, **changes), "m") == {**GOOD, **changes}


@pytest.mark.parametrize("key, value, expected", [
    ("steps", -1, "an integer >= 0"), ("steps", 1.0, "an integer >= 0"), ("steps", True, "an integer >= 0"),
    ("early_stop_epoch", -1, "a 0-based epoch (integer >= 0) or null"),
    ("early_stop_epoch", 2.0, "a 0-based epoch (integer >= 0) or null"),
    ("train_loss", "0.2", "a finite number"), ("val_loss", None, "a finite number"), ("val_accuracy", False, "a finite number"),
])
def test_a_metric_of_the_wrong_kind_is_named_with_what_was_expected(tmp_path, key, value, expected):
    with pytest.raises(PipelineError) as error:
        outputs.read_metrics(metrics_file(tmp_path, **{key: value}), "metrics/r.json")
    assert str(error.value) == f"metrics/r.json: {key!r} = {value!r}: expected {expected}"


@pytest.mark.parametrize("key, value", [("steps_per_epoch", 0), ("early_stopping_patience", 0),
                                        ("validation_interval", 1.5)])
def test_a_schedule_value_of_the_wrong_kind_is_named_with_what_was_expected(tmp_path, key, value):
    # The schedule a run followed lives in metrics/history/<run>/schedule.json (not a metric).
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(SCHEDULE), encoding="utf-8")
    assert outputs.read_schedule(path, "s") == SCHEDULE
    path.write_text(json.dumps({**SCHEDULE, key: value}), encoding="utf-8")
    with pytest.raises(PipelineError) as error:
        outputs.read_schedule(path, "metrics/history/r/schedule.json")
    assert str(error.value) == f"metrics/history/r/schedule.json: {key!r} = {value!r}: expected an integer >= 1"


def test_metrics_read_as_utf8_and_refusals_of_the_file(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    path.write_bytes(json.dumps({**GOOD, "note": "é"}, ensure_ascii=False).encode("utf-8"))
    monkeypatch.setattr("locale.getpreferredencoding", lambda *args: "ascii")
    assert outputs.read_metrics(path, "m")["note"] == "é"
    path.write_text("[1]")
    with pytest.raises(PipelineError, match=r"^m: expected a JSON object of metrics, got list$"):
        outputs.read_metrics(path, "m")
    with pytest.raises(PipelineError, match=r"^m: missing; expected the metrics of its train stage$"):
        outputs.read_metrics(tmp_path / "none.json", "m")


def test_history_csvs_write_every_step_from_0_and_refuse_columns_of_different_lengths():
    train, validation = outputs.history_csvs([0.5, 0.25], [0], [0.3], [0.9], [0.8])
    assert train == "step,train_loss\n0,0.5\n1,0.25\n"
    assert validation == "step,val_loss,val_accuracy,train_accuracy\n0,0.3,0.9,0.8\n"
    with pytest.raises(ValueError):
        outputs.history_csvs([0.5], [0, 6], [0.3, 0.2], [0.9], [0.8, 0.7])


def history_file(tmp_path, text: str, newline: str = "\n"):
    path = tmp_path / "h.csv"
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def test_a_history_reads_back_as_written(tmp_path):
    train, _ = outputs.history_csvs([0.5, 0.25, 0.125], [], [], [], [])
    history = outputs.read_history(history_file(tmp_path, train), TRAIN_COLUMNS, "h")
    assert history["step"].dtype == np.int64 and history["step"].tolist() == [0, 1, 2]
    assert history["train_loss"].dtype == np.float64 and history["train_loss"].tolist() == [0.5, 0.25, 0.125]
    # Windows line ends read the same (the csv module's newline handling)
    crlf = outputs.read_history(history_file(tmp_path, train, "\r\n"), TRAIN_COLUMNS, "h")
    assert crlf["train_loss"].tolist() == [0.5, 0.25, 0.125]


@pytest.mark.parametrize("text, message", [
    ("", "h: header is 'nothing'; expected 'step,train_loss'"),
    ("step,loss\n0,1\n", "h: header is 'step,loss'; expected 'step,train_loss'"),
    ("step,train_loss\n", "h: no rows after the header; expected one row per recorded step"),
    ("step,train_loss\n0,1,2\n", "h: line 2 has 3 values; expected 2"),
    ("step,train_loss\n0,0.5\nx,0.5\n", "h: line 3 = 'x,0.5': expected an integer step and numbers"),
    ("step,train_loss\n0,nan\n", "h: line 2 = '0,nan': expected finite numbers"),
    ("step,train_loss\n-1,0.5\n", "h: steps are not increasing integers from >= 0"),
    ("step,train_loss\n1,0.5\n1,0.4\n", "h: steps are not increasing integers from >= 0"),
    ("step,train_loss\n0,0.5\n2,0.4\n1,0.3\n", "h: steps are not increasing integers from >= 0"),
])
def test_a_bad_history_is_one_line_naming_the_file_and_line(tmp_path, text, message):
    with pytest.raises(PipelineError) as error:
        outputs.read_history(history_file(tmp_path, text), TRAIN_COLUMNS, "h")
    assert str(error.value) == message


def test_a_history_with_a_second_step_at_zero_is_refused_but_steps_from_3_are_read(tmp_path):
    history = outputs.read_history(history_file(tmp_path, "step,train_loss\n3,0.5\n9,0.4\n"), TRAIN_COLUMNS, "h")
    assert history["step"].tolist() == [3, 9]
    with pytest.raises(PipelineError, match="steps are not increasing"):
        outputs.read_history(history_file(tmp_path, "step,train_loss\n1,0.5\n-2,0.4\n"), TRAIN_COLUMNS, "h")


def test_an_unreadable_history_names_the_file(tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes(b"step,val_loss\n\xff\n")
    with pytest.raises(PipelineError, match=r"^h: cannot read \("):
        outputs.read_history(path, VALIDATION_COLUMNS, "h")
    with pytest.raises(PipelineError, match=r"^h: missing; expected the history its train stage writes$"):
        outputs.read_history(tmp_path / "none.csv", VALIDATION_COLUMNS, "h")


def test_weights_are_checked_for_shape_kind_and_finiteness_and_never_unpickled(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.ones((785, 10)))
    assert outputs.read_weights(path, "w", (785, 10)).shape == (785, 10)
    np.save(path, np.ones((785, 1)))
    assert outputs.read_weights(path, "w", (785, 1)).shape == (785, 1)
    for bad, shown in ((np.ones((784, 10)), "float64 array of shape (784, 10)"),
                       (np.ones((785, 10), dtype=np.int64), "int64 array of shape (785, 10)"),
                       (np.full((785, 10), np.inf), "float64 array of shape (785, 10)")):
        np.save(path, bad)
        with pytest.raises(PipelineError) as error:
            outputs.read_weights(path, "w", (785, 10))
        assert str(error.value) == f"w: {shown}; expected finite floats of shape (785, 10)"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(PipelineError, match=r"^w: not a NumPy array file \(.*allow_pickle"):
        outputs.read_weights(path, "w", (785, 10))
    with pytest.raises(PipelineError, match=r"^w: missing; expected the weights its train stage writes$"):
        outputs.read_weights(tmp_path / "none.npy", "w", (785, 10))


@pytest.mark.parametrize("content, complaint", [
    (None, "s.json: missing; expected the schedule of its train stage"),
    ('{"steps_per_epoch": 0, "validation_interval": 6, "early_stopping_patience": 10}',
     "s.json: 'steps_per_epoch' = 0: expected an integer >= 1"),
    ('{"steps_per_epoch": 31, "validation_interval": 2.0, "early_stopping_patience": 10}',
     "s.json: 'validation_interval' = 2.0: expected an integer >= 1"),
    ('{"steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": true}',
     "s.json: 'early_stopping_patience' = True: expected an integer >= 1"),
    ('{"steps_per_epoch": 31, "validation_interval": 6}',
     "s.json: missing 'early_stopping_patience'; expected an integer >= 1, as its train stage writes it"),
])
def test_read_schedule_refuses_by_file_key_and_value(tmp_path, content, complaint):
    # The schedule a run followed (its own file, not a metric): lengths, so at least 1.
    from mnist_report.common import outputs
    if content is not None:
        (tmp_path / "s.json").write_text(content)
    with pytest.raises(PipelineError) as refusal:
        outputs.read_schedule(tmp_path / "s.json", "s.json")
    assert str(refusal.value).startswith(complaint)


def test_split_schedule_keeps_metrics_and_schedule_apart_and_refuses_an_unknown_key():
    from mnist_report.common import outputs
    values = {"val_loss": 0.3, "steps": 31, "steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": 10}
    assert outputs.split_schedule(values) == ({"val_loss": 0.3, "steps": 31},
                                              {"steps_per_epoch": 31, "validation_interval": 6, "early_stopping_patience": 10})
    with pytest.raises(PipelineError, match="returned learning_rate: neither a metric nor a schedule key"):
        outputs.split_schedule({**values, "learning_rate": 0.1})
