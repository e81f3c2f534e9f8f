"""Times our trainer against the straightforward baseline (``benchmarks/baseline.py``) on the default runs.

    .venv/bin/python benchmarks/train_speed.py [--repeats 3] [--runs softmax binary ... | all] [--no-stage-memory]

For each run both implementations train on the same data in this one process, interleaved (baseline
then ours, ours then baseline, ...), so that load that comes and goes on the machine hits both alike.
The ratio is baseline time / our time: the median over the adjacent pairs, with the range over pairs,
and the ratio of the best times (the least disturbed by other load).

Memory, per run: the most each implementation allocates on top of the loaded data set (one further,
untimed pass under ``tracemalloc``, which sees NumPy's buffers), and the peak resident memory of the
``train@<run>`` stage itself (``mnist_report.train.run`` in a child process, data loading included,
writing into a temporary directory).

Exits 1 unless both implementations give the same final metrics (relative difference <= 1e-10),
the same early-stop epoch and the same number of steps on every run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import baseline
import numpy as np
from threadpoolctl import threadpool_info

from mnist_report.config.params import load_checked
from mnist_report.config.runs import Run
from mnist_report.core.models import Split, make_model
from mnist_report.core.sgd import final_metrics, train
from mnist_report.mnist.splits import load_splits

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = ("softmax", "binary", "binary_early_stopping", "binary_shuffled")
TOLERANCE = 1e-10

STAGE_SCRIPT = """
import sys, tempfile
from pathlib import Path
from mnist_report.config.params import load_checked
from mnist_report.train import run
name, params, data_dir = sys.argv[1:]
with tempfile.TemporaryDirectory() as root:
    run(name, load_checked(params).runs[name], Path(data_dir), Path(root), verbose=False)
# VmHWM: this process's own peak resident set (ru_maxrss would include the parent's, across exec).
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def train_ours(train_set, val_set, settings: Run) -> dict:
    model = make_model(settings.task, settings.l2_lambda)
    result = train(model, train_set, val_set, learning_rate=settings.learning_rate, epochs=settings.epochs,
                   batch_size=settings.batch_size, shuffle=settings.shuffle,
                   early_stopping=settings.early_stopping,
                   early_stopping_patience=settings.early_stopping_patience,
                   validations_per_epoch=settings.validations_per_epoch, seed=settings.seed)
    return final_metrics(model, train_set, val_set, result)


def train_baseline(train_set, val_set, settings: Run) -> dict:
    metrics, _ = baseline.train(train_set.X, train_set.Y, val_set.X, val_set.Y, task=settings.task,
                                learning_rate=settings.learning_rate, epochs=settings.epochs,
                                batch_size=settings.batch_size, shuffle=settings.shuffle,
                                early_stopping=settings.early_stopping, seed=settings.seed,
                                l2_lambda=settings.l2_lambda)
    return metrics


IMPLEMENTATIONS = {"baseline": train_baseline, "ours": train_ours}


def timed(function, *args) -> tuple[float, dict]:
    start = time.perf_counter()
    metrics = function(*args)
    return time.perf_counter() - start, metrics


def peak_allocated(function, *args) -> int:
    """Returns the peak bytes that ``function(*args)`` allocated beyond what was live when it started."""
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def stage_peak_rss(name: str, params: Path, data_dir: Path) -> int:
    """Returns the peak resident bytes of a child process that runs stage ``train@<name>`` (Linux)."""
    child = subprocess.run([sys.executable, "-c", STAGE_SCRIPT, name, str(params), str(data_dir)],
                           capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(f"train@{name} in a child process exited with {child.returncode}:\n{child.stderr}")
    return int(child.stdout.split()[-1]) * 1024  # VmHWM is in kB


def differences(ours: dict, theirs: dict) -> tuple[float, list[str]]:
    """Returns the largest relative difference of the float metrics and the list of disagreements."""
    largest, problems = 0.0, []
    for key, expected in theirs.items():
        got = ours[key]
        if isinstance(expected, float):
            relative = abs(got - expected) / abs(expected) if expected else abs(got)
            largest = max(largest, relative)
            if not relative <= TOLERANCE:
                problems.append(f"{key}: ours {got!r}, baseline {expected!r} (relative difference {relative:.3g})")
        elif got != expected:
            problems.append(f"{key}: ours {got!r}, baseline {expected!r}")
    return largest, problems


def machine() -> str:
    """Returns the machine, Python, NumPy, the BLAS that NumPy loaded (its kernel and thread count, as
    threadpoolctl reads them from the library) and the OPENBLAS_* settings of the environment."""
    blas = [f"{key}={value}" for key, value in sorted(os.environ.items()) if key.startswith(("OPENBLAS", "OMP_"))]
    libraries = [f"{info['internal_api']} {info.get('version') or ''} kernel {info.get('architecture') or '?'}, "
                 f"{info['num_threads']} threads" for info in threadpool_info() if info["user_api"] == "blas"]
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"NumPy {np.__version__}, BLAS {'; '.join(libraries) or 'unknown'}"
            + (f", {' '.join(blas)}" if blas else ", no OPENBLAS_* set"))


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS),
                        help="runs of params.yaml to time, or 'all' (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed pairs per run (default 3)")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "mnist")
    parser.add_argument("--no-stage-memory", action="store_true", help="skip the child-process stage runs")
    args = parser.parse_args(argv)
    runs = load_checked(args.params).runs
    names = list(runs) if args.runs == ["all"] else args.runs
    unknown = [name for name in names if name not in runs]
    if unknown:
        parser.error(f"no run {', '.join(unknown)} in {args.params}; expected 'all' or some of {', '.join(runs)}")
    print(f"machine: {machine()}; load average {load_average()}")
    print(f"{'run':22s} {'steps':>5s} {'baseline s':>10s} {'ours s':>7s} {'base step/s':>11s} {'our step/s':>10s} "
          f"{'base alloc MiB':>14s} {'our alloc MiB':>13s} {'stage RSS MiB':>13s} {'ratio':>6s} {'(range)':>11s} "
          f"{'best':>5s} {'max rel diff':>12s}", flush=True)
    data_key, data = None, None
    failed = False
    totals = {implementation: 0.0 for implementation in IMPLEMENTATIONS}
    for name in names:
        settings = runs[name]
        key = (settings.task, tuple(settings.classes))
        if key != data_key:
            data_key, data = key, None  # let the previous data set go before loading the next
            splits = load_splits(settings.task, key[1], args.data_dir)
            # The baseline takes X as plain floats (x / 127.5 - 1 as the course computes it: (2p - 255)
            # / 255, correctly rounded); made once here, not inside its timed runs.
            data = {"ours": splits, "baseline": tuple(Split(split.X.as_floats(), split.Y, split.labels)
                                                      for split in splits)}
        times = {implementation: [] for implementation in IMPLEMENTATIONS}
        ratios, results = [], {}
        for repeat in range(args.repeats):
            # Alternate which goes first, so that neither always runs in the other's wake.
            order = list(IMPLEMENTATIONS) if repeat % 2 == 0 else list(reversed(IMPLEMENTATIONS))
            for implementation in order:
                seconds, results[implementation] = timed(IMPLEMENTATIONS[implementation], *data[implementation], settings)
                times[implementation].append(seconds)
            ratios.append(times["baseline"][-1] / times["ours"][-1])
        allocated = {implementation: peak_allocated(function, *data[implementation], settings)
                     for implementation, function in IMPLEMENTATIONS.items()}
        stage = "-" if args.no_stage_memory else f"{stage_peak_rss(name, args.params, args.data_dir) / 2**20:.0f}"
        largest, problems = differences(results["ours"], results["baseline"])
        steps = results["ours"]["steps"]
        base, ours = statistics.median(times["baseline"]), statistics.median(times["ours"])
        totals["baseline"] += base
        totals["ours"] += ours
        spread = f"({min(ratios):.2f}-{max(ratios):.2f})"
        print(f"{name:22s} {steps:5d} {base:10.2f} {ours:7.2f} {steps / base:11.0f} {steps / ours:10.0f} "
              f"{allocated['baseline'] / 2**20:14.1f} {allocated['ours'] / 2**20:13.1f} {stage:>13s} "
              f"{statistics.median(ratios):5.2f}x {spread:>11s} {min(times['baseline']) / min(times['ours']):4.2f}x "
              f"{largest:12.2g}", flush=True)
        for problem in problems:
            print(f"  MISMATCH {name}: {problem}", flush=True)
        failed = failed or bool(problems)
    if len(names) > 1:
        print(f"{'total':22s} {'':5s} {totals['baseline']:10.2f} {totals['ours']:7.2f} {'':>11s} {'':>10s} {'':>14s} "
              f"{'':>13s} {'':>13s} {totals['baseline'] / totals['ours']:5.2f}x")
    print(f"load average at the end {load_average()}")
    if failed:
        print("FAILED: our trainer and the baseline disagree", file=sys.stderr)
        return 1
    print(f"OK: same final metrics (relative difference <= {TOLERANCE:g}), early-stop epochs and steps on every run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
