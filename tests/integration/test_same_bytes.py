"""The same bytes on every machine (docs/same-bytes.md; issue 18): the train stage's outputs are a function of
params.yaml and the data alone.

Two short real runs, ``binary_shuffled`` (523 steps, early stop) and ``softmax_lambda_1`` (621 steps,
early stop), each trained in a subprocess as ``train@<run>`` trains it (:func:`mnist_report.train.run`):

- in this environment, their outputs (``models/<run>.npy``, ``metrics/<run>.json`` and the history
  CSVs) have the md5s that the committed dvc.lock records for ``train@<run>``;
- with the BLAS on 1, 2 or 4 threads (``OPENBLAS_NUM_THREADS``; also with the trainer's own limit to one
  BLAS thread lifted, so that the products themselves run threaded), and with NumPy's SIMD code at
  the AVX2 level and at the baseline (``NPY_DISABLE_CPU_FEATURES``), they have the same bytes as here;
- the core alone (mnist_report.mnist.data, exact, models and trainer) under Debian's own ``python3`` and
  NumPy over the reference BLAS, BLIS and OpenBLAS gives the same weights, every history value and
  every metric as this environment's Python and NumPy.

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` stay as the environment sets them (some processors
need them). Each variation is checked to be in effect (the thread count OpenBLAS reports, the CPU
features NumPy dispatches to, the library that supplies ``cblas_dgemm``), so that no test passes
because its variation did not happen. Python 3.11 against 3.13: CI runs this file under both.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_report.config.params import load_checked
from support.paths import REPO
from mnist_report.config.schema import parse_yaml

pytestmark = pytest.mark.slow

ROOT = REPO
DATA = ROOT / "data" / "mnist"
RUNS = ("binary_shuffled", "softmax_lambda_1")
#: What the tests vary; "default" is the environment without them.
VARIED = ("OPENBLAS_NUM_THREADS", "NPY_DISABLE_CPU_FEATURES")
TIMEOUT = 600


def outputs(run: str) -> list[str]:
    """The files train@<run> writes, relative to the project (mnist_report.common.outputs.output_paths)."""
    return [f"models/{run}.npy", f"metrics/{run}.json", f"metrics/history/{run}/train.csv",
            f"metrics/history/{run}/validation.csv", f"metrics/history/{run}/schedule.json"]


def committed_md5s() -> dict[str, str]:
    """path -> md5 of every output of train@<run> of :data:`RUNS` that dvc.lock records."""
    stages = parse_yaml((ROOT / "dvc.lock").read_text(encoding="utf-8"))["stages"]
    found = {}
    for run in RUNS:
        for out in stages[f"train@{run}"]["outs"]:
            found[out["path"]] = out["md5"]
    return found


def base_environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in VARIED}
    environment["PYTHONPATH"] = str(ROOT / "src")  # this checkout's code, whatever the venv points at
    return environment


# Runs in the child: trains the runs named in argv[2:] into the current directory as the train stage
# does, then prints what the variation needs checked (the BLAS thread count, NumPy's CPU features).
TRAIN = r"""
import json, sys
from pathlib import Path
import numpy as np
import threadpoolctl
if sys.argv[1] == "threaded":  # lift exact.one_blas_thread's limit: the products run on every BLAS thread
    import contextlib
    threadpoolctl.ThreadpoolController.limit = lambda self, *args, **kwargs: contextlib.nullcontext()
from mnist_report.core import exact
from mnist_report.config.params import load_checked
from mnist_report.train import run

def blas_threads():
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

during, products = set(), exact.exact_products
def sampled(*args, **kwargs):  # the BLAS thread counts that the exact products meet (the first 20)
    if len(sampled.calls) < 20:
        sampled.calls.append(1)
        during.update(blas_threads())
    return products(*args, **kwargs)
sampled.calls = []
exact.exact_products = sampled
before = blas_threads()
runs = load_checked(sys.argv[2]).runs
for name in sys.argv[4:]:
    run(name, runs[name], Path(sys.argv[3]), Path("."), verbose=False)
try:
    from numpy._core._multiarray_umath import __cpu_features__ as features
except ImportError:
    from numpy.core._multiarray_umath import __cpu_features__ as features
print(json.dumps({"blas_threads": before, "blas_threads_in_products": sorted(during),
                  "cpu_features": {name: bool(on) for name, on in features.items()}}))
"""


def train_runs(directory: Path, environment: dict[str, str], threaded: bool = False) -> tuple[dict[str, bytes], dict]:
    """Trains :data:`RUNS` in a subprocess under ``environment`` into ``directory``; returns
    (path -> bytes of each output, what the child reported)."""
    directory.mkdir(parents=True)
    result = subprocess.run([sys.executable, "-c", TRAIN, "threaded" if threaded else "limited",
                             str(ROOT / "params.yaml"), str(DATA), *RUNS],
                            cwd=directory, env=environment, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    files = {path: (directory / path).read_bytes() for run in RUNS for path in outputs(run)}
    return files, json.loads(result.stdout.strip().splitlines()[-1])


def first_difference(path: str, ours: bytes, theirs: bytes) -> str:
    """Says where two versions of an output first differ (the line of a CSV or JSON; the weight of an .npy)."""
    if path.endswith(".npy"):
        a, b = np.load(io.BytesIO(ours)), np.load(io.BytesIO(theirs))
        if a.shape != b.shape:
            return f"{path}: shapes {a.shape} and {b.shape}"
        where = np.flatnonzero(a.ravel() != b.ravel())
        return (f"{path}: {len(where)} weights differ, the first [{where[0]}]: {a.ravel()[where[0]]!r} and "
                f"{b.ravel()[where[0]]!r}" if len(where) else f"{path}: the same weights, other bytes")
    for number, (x, y) in enumerate(zip(ours.decode().splitlines(), theirs.decode().splitlines()), 1):
        if x != y:
            return f"{path} line {number}: {x!r} and {y!r}"
    return f"{path}: {len(ours)} and {len(theirs)} bytes"


def assert_same_outputs(got: dict[str, bytes], expected: dict[str, bytes], what: str) -> None:
    differing = [first_difference(path, got[path], expected[path]) for path in expected if got[path] != expected[path]]
    assert not differing, f"{what}:\n" + "\n".join(differing)


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> dict[str, bytes]:
    """The outputs of the runs in this environment (no OPENBLAS_NUM_THREADS, all of NumPy's SIMD)."""
    if not DATA.is_dir():
        pytest.skip(f"{DATA} is missing: run `dvc repro download`")
    files, _ = train_runs(tmp_path_factory.mktemp("same-bytes") / "default", base_environment())
    return files


def test_the_runs_give_the_bytes_dvc_lock_records(default):
    md5s = committed_md5s()
    differing = [f"{path}: md5 {hashlib.md5(data).hexdigest()}, dvc.lock {md5s[path]}"
                 for path, data in default.items() if hashlib.md5(data).hexdigest() != md5s[path]]
    assert not differing, ("train outputs differ from the committed dvc.lock (`dvc repro` then commits "
                           "dvc.lock and metrics/ when the arithmetic changed on purpose):\n" + "\n".join(differing))


@pytest.mark.parametrize("threads, threaded", [("1", False), ("2", False), ("4", False), ("4", True)],
                         ids=["1", "2", "4", "4-unlimited"])
def test_the_same_bytes_on_any_number_of_blas_threads(default, tmp_path, threads, threaded):
    """The trainer runs the BLAS on one thread (exact.one_blas_thread), so OPENBLAS_NUM_THREADS reaches
    only what runs outside it; "unlimited" lifts that limit in the child: the products themselves
    then run on the BLAS's threads (the second core is shared with the validations: slower, same bits)."""
    environment = base_environment() | {"OPENBLAS_NUM_THREADS": threads}
    files, seen = train_runs(tmp_path / "run", environment, threaded=threaded)
    if not seen["blas_threads"]:
        pytest.skip("threadpoolctl sees no BLAS whose threads could be set")
    expected = min(int(threads), len(os.sched_getaffinity(0)))  # OpenBLAS runs no more threads than cores
    assert seen["blas_threads"] == [expected] * len(seen["blas_threads"]), \
        f"OPENBLAS_NUM_THREADS={threads}, yet the BLAS reports {seen['blas_threads']} threads"
    if threaded:  # the limit lifted: the products ran on that many BLAS threads
        assert seen["blas_threads_in_products"] == [expected], seen
    assert_same_outputs(files, default, f"OPENBLAS_NUM_THREADS={threads}" + (" (no limit)" if threaded else ""))


#: NumPy 2.4's names (numpy.show_runtime(): simd_extensions); ``X86_V2`` is its baseline, never disabled.
AVX2_LEVEL = "X86_V4 AVX512_ICL AVX512_SPR"
BASELINE_LEVEL = "X86_V3 " + AVX2_LEVEL


@pytest.mark.parametrize("disabled, needed", [(AVX2_LEVEL, "X86_V4"), (BASELINE_LEVEL, "X86_V3")],
                         ids=["avx2", "baseline"])
def test_the_same_bytes_at_every_simd_level(default, tmp_path, disabled, needed):
    from numpy._core._multiarray_umath import __cpu_features__

    if not __cpu_features__.get(needed):
        pytest.skip(f"this CPU has no {needed}: NumPy already runs below it by default")
    files, seen = train_runs(tmp_path / "run", base_environment() | {"NPY_DISABLE_CPU_FEATURES": disabled})
    still = [name for name in disabled.split() if seen["cpu_features"].get(name)]
    assert not still, f"NPY_DISABLE_CPU_FEATURES={disabled!r}, yet NumPy still dispatches to {still}"
    assert_same_outputs(files, default, f"NPY_DISABLE_CPU_FEATURES={disabled!r}")


# ------------------------------------------------------------------------ Debian's NumPy and BLAS

DEBIAN_PYTHON = Path("/usr/bin/python3")
#: The three BLAS libraries: the Debian package and the directory (under /usr/lib/<multiarch>) that holds
#: its libblas.so.3. BLIS's library comes from one of libblis4's flavours.
LIBRARIES = {
    "reference BLAS": ("libblas3", ["blas"]),
    "BLIS": ("libblis4", ["blis-openmp", "blis-pthread", "blis-serial"]),
    "OpenBLAS": ("libopenblas0-pthread", ["openblas-pthread"]),
}

# Runs in the child (any Python >= 3.11 with NumPy and threadpoolctl): trains one run with the core
# alone and prints the weights' bytes, the repr of every history value and metric, and which library
# supplies numpy's cblas_dgemm (dlsym from numpy's own module, then dladdr) and is mapped.
CORE = r"""
import ctypes, json, os, sys
from pathlib import Path
import numpy as np
from mnist_report.mnist.splits import load_splits
from mnist_report.core.models import make_model
from mnist_report.core.sgd import final_metrics, train

def blas():
    mapped = sorted({os.path.realpath(line.split()[-1]) for line in open("/proc/self/maps")
                     if line.split()[-1].startswith("/") and
                     any(word in line.split()[-1].rsplit("/", 1)[-1] for word in ("blas", "blis", "lapack"))})
    try:
        from numpy._core import _multiarray_umath as core
    except ImportError:
        from numpy.core import _multiarray_umath as core
    provider = None
    try:
        address = ctypes.cast(ctypes.CDLL(core.__file__).cblas_dgemm, ctypes.c_void_p).value
    except AttributeError:  # a BLAS with suffixed symbols (NumPy's wheels)
        address = None
    if address:
        class DlInfo(ctypes.Structure):
            _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p), ("sname", ctypes.c_char_p),
                        ("saddr", ctypes.c_void_p)]
        info = DlInfo()
        if ctypes.CDLL(None).dladdr(ctypes.c_void_p(address), ctypes.byref(info)):
            provider = os.path.realpath(info.fname.decode())
    return {"mapped": mapped, "cblas_dgemm": provider}

spec = json.loads(sys.argv[1])
train_set, val_set = load_splits(spec["task"], tuple(spec["classes"]), Path(spec["data"]))
model = make_model(spec["task"], spec["l2_lambda"])
result = train(model, train_set, val_set, **spec["train"])
metrics = final_metrics(model, train_set, val_set, result)
history = result.history
print(json.dumps({
    "executable": sys.executable, "numpy": np.__version__, "numpy_file": np.__file__, "blas": blas(),
    "weights": model.w.tobytes().hex(),
    "history": {name: [repr(value) for value in getattr(history, name)]
                for name in ("train_loss", "val_step", "val_loss", "val_accuracy", "train_accuracy")},
    "metrics": {key: repr(value) for key, value in metrics.items()},
}))
"""


def core_spec(run: str) -> str:
    settings = load_checked(ROOT / "params.yaml").runs[run]
    return json.dumps({
        "task": settings.task, "classes": list(settings.classes), "l2_lambda": settings.l2_lambda, "data": str(DATA),
        "train": {"learning_rate": settings.learning_rate, "epochs": settings.epochs,
                  "batch_size": settings.batch_size, "shuffle": settings.shuffle,
                  "early_stopping": settings.early_stopping,
                  "early_stopping_patience": settings.early_stopping_patience,
                  "validations_per_epoch": settings.validations_per_epoch, "seed": settings.seed},
    })


def train_core(python: str, run: str, environment: dict[str, str], directory: Path) -> dict:
    result = subprocess.run([python, "-s", "-c", CORE, core_spec(run)], cwd=directory, env=environment,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"{python}: {result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def venv_core(default, tmp_path_factory) -> dict[str, dict]:
    """run -> the core's results under this environment's Python, checked against the outputs of
    the train stage (``default``): the same weights' bytes, the same metrics."""
    directory = tmp_path_factory.mktemp("core")
    found = {}
    for run in RUNS:
        core = train_core(sys.executable, run, base_environment(), directory)
        weights = np.load(io.BytesIO(default[f"models/{run}.npy"]))
        assert core["weights"] == weights.tobytes().hex()
        stage_metrics = json.loads(default[f"metrics/{run}.json"])
        # trainer.final_metrics also returns the schedule, which the stage writes to schedule.json.
        stage_metrics |= json.loads(default[f"metrics/history/{run}/schedule.json"])
        assert core["metrics"] == {key: repr(value) for key, value in stage_metrics.items()}
        found[run] = core
    return found


def multiarch() -> str | None:
    result = subprocess.run([str(DEBIAN_PYTHON), "-c", "import sysconfig; print(sysconfig.get_config_var('MULTIARCH'))"],
                            capture_output=True, text=True)
    return result.stdout.strip() or None if result.returncode == 0 else None


def library_directory(library: str) -> Path:
    """The directory of ``library``'s libblas.so.3, or a skip saying what is missing."""
    if not DEBIAN_PYTHON.exists():
        pytest.skip(f"no {DEBIAN_PYTHON}: the core under Debian's NumPy needs it (bootstrap.sh test installs it)")
    probe = subprocess.run([str(DEBIAN_PYTHON), "-s", "-c", "import numpy, threadpoolctl"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"{DEBIAN_PYTHON} cannot import numpy and threadpoolctl (Debian packages python3-numpy, "
                    f"python3-threadpoolctl; bootstrap.sh test installs them): {probe.stderr.strip().splitlines()[-1]}")
    package, names = LIBRARIES[library]
    triplet = multiarch()
    for name in names:
        directory = Path("/usr/lib") / (triplet or "") / name
        if (directory / "libblas.so.3").exists():
            return directory
    pytest.skip(f"{library}: no libblas.so.3 in /usr/lib/{triplet}/{{{','.join(names)}}} "
                f"(Debian package {package}; bootstrap.sh test installs it)")


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("library", list(LIBRARIES))
def test_the_core_gives_the_same_bits_under_debians_numpy_and_each_blas(venv_core, tmp_path, library, run):
    directory = library_directory(library)
    environment = base_environment() | {"LD_LIBRARY_PATH": str(directory)}
    environment.pop("PYTHONHOME", None)
    got = train_core(str(DEBIAN_PYTHON), run, environment, tmp_path)
    # What ran: Debian's interpreter and NumPy, and numpy's dgemm from the chosen library.
    assert got["executable"] == str(DEBIAN_PYTHON) and got["numpy_file"].startswith("/usr/lib/python3/"), got["numpy_file"]
    chosen = os.path.realpath(directory / "libblas.so.3")
    assert got["blas"]["cblas_dgemm"] == chosen, \
        f"numpy's cblas_dgemm comes from {got['blas']['cblas_dgemm']}, not {chosen} (mapped: {got['blas']['mapped']})"
    assert chosen in got["blas"]["mapped"]
    expected = venv_core[run]
    what = f"{library} ({chosen}) under NumPy {got['numpy']}, against NumPy {np.__version__} here"
    for name, values in expected["history"].items():
        differing = [i for i, (a, b) in enumerate(zip(values, got["history"][name])) if a != b]
        assert len(values) == len(got["history"][name]) and not differing, (
            f"{what}: history {name} differs first at {differing[0] if differing else len(values)}: "
            f"{values[differing[0]] if differing else ''} here, {got['history'][name][differing[0]] if differing else ''} there")
    assert got["weights"] == expected["weights"], f"{what}: the weights' bytes differ"
    assert got["metrics"] == expected["metrics"], f"{what}: metrics {got['metrics']} there, {expected['metrics']} here"
