"""The train stage interrupted in a child process (SIGINT, SIGTERM): nothing written, and a rerun
completes. Slow: each test trains in a subprocess."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from support.train_workdir import workdir, write_params  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_interrupted_training_leaves_nothing_and_a_rerun_completes(workdir, signum, code, word):
    write_params(workdir, task="softmax", learning_rate=0.01, epochs=3)
    command = [sys.executable, "-m", "mnist_report.train", "trial"]
    # SIGINT at its default in the child: a shell that starts the tests as a background job hands them
    # SIGINT ignored, and Python keeps it ignored (no KeyboardInterrupt), so the run would never stop.
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first_line = process.stdout.readline()  # the first epoch is done: the run is mid-training
        assert first_line.startswith("train@trial epoch 0 (epochs 0-2)")
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == code
    assert err.strip().splitlines() == [f"error: {'interrupted' if word == 'SIGINT' else 'terminated'} ({word}) "
                                        "before the stage finished; run it again"]
    leftovers = [p for p in workdir.rglob("*") if p.is_file() and "data" not in p.relative_to(workdir).parts
                 and p.name != "params.yaml"]
    assert leftovers == []  # no metrics, weights, history, nor a temporary file
    rerun = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert (workdir / "metrics" / "trial.json").exists()
