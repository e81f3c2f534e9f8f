"""Times the loop a user waits on: change one run's learning rate, `dvc repro`, the new PDF.

    .venv/bin/python benchmarks/loops.py [--repeats 3] [--loops binary softmax] [--keep] [--baseline REV]

Works on a scratch copy, as a user would: ``git clone`` of this repository's commit (uncommitted
changes are not included) into a temporary directory, its data and outputs checked out from this
repository's DVC cache, then one `dvc repro` to bring it up to date. The scratch copy has a DVC cache
of its own (hard links to this repository's cached files, without its run cache), so nothing it
produces reaches this repository's cache and no run cache short-cuts a stage.

For each loop (``binary``: ``runs.binary.learning_rate``; ``softmax``: ``runs.softmax.learning_rate``):

- one untimed `dvc repro` with a new value: the caches of figures and PDF as any earlier repro
  leaves them;
- ``--repeats`` times, in turn: the stages' commands alone on a new value, each timed (the train
  stage's own time, the floor of the loop, and ``figures``, ``report``, ``pdf``), then a timed
  `dvc repro` with another new value: the wall time from the edit of params.yaml to the new PDF.
  Each repro must run exactly ``train@<run>``, ``figures``, ``report`` and ``pdf``, in that order.
  DVC's share is what the repro takes beyond the four commands;
- an incremental build equals a clean build: after the last timed repro, the figures, report.tex
  and the PDF are compared byte for byte with those of the three stages' commands run again with
  the caches (``.cache/``) removed. A difference exits 1.

Prints a table (medians, range in brackets) beside the targets of docs/performance.md ("The loops you
wait on"), with the CPU time (user + system) of the repro, its stages included: on a machine that other work shares,
a steadier figure than the wall time; then a table of CPU times alone: the repro, each stage's command,
and DVC's own process (`dvc repro` runs as the dvc script runs it, and reports its own CPU time, without
that of the commands it starts).

``--baseline REV`` compares two commits in one run: a second scratch copy of ``REV`` takes its turn
after each timed step of HEAD's (the same load hits both), and the table gains a row for it and the
ratio HEAD / REV of each median.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' scratch project helper (tests/support/)
from support.scratch_project import CommandFailed, ScratchProject, project_environment  # noqa: E402
# loop -> (the run, the values of its learning rate the loop sets in turn, the target in seconds)
LOOPS = {
    "binary": ("binary", [0.0501, 0.0502, 0.0503, 0.0504, 0.0505, 0.0506, 0.0507, 0.0508, 0.0509], 6.0),
    "softmax": ("softmax", [0.0101, 0.0102, 0.0103, 0.0104, 0.0105, 0.0106, 0.0107, 0.0108, 0.0109], 10.0),
}
AFTER_TRAIN = ("figures", "report", "pdf")
#: `dvc <arguments>` as the dvc script runs it, which then prints the CPU time of DVC's own process (not
#: of the stage commands it starts) on its last line of stderr.
DVC_OWN_CPU = ("import resource, sys\n"
               "from dvc.cli import main\n"
               "try:\n"
               "    code = main(sys.argv[1:])\n"
               "finally:\n"
               "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
               "    print(f'loops: dvc own CPU {usage.ru_utime + usage.ru_stime:.3f}', file=sys.stderr)\n"
               "sys.exit(code)\n")
COMPARED = ("report/figures", "report/build/report.tex", "report/build/report.pdf")


def fail(message: str) -> None:
    print(f"loops: error: {message}", file=sys.stderr)
    raise SystemExit(1)


class Scratch:
    """The scratch copy (a :class:`ScratchProject`, the tests' own helper) and what its last command took."""

    def __init__(self, root: Path):
        self.root = root
        self.project = ScratchProject(root, project_environment(root.parent))
        if "PYTHONDONTWRITEBYTECODE" in os.environ:  # the timed commands run as the caller's would
            self.project.env["PYTHONDONTWRITEBYTECODE"] = os.environ["PYTHONDONTWRITEBYTECODE"]
        self.env = self.project.env

    def run(self, *args: str) -> tuple[float, str]:
        """Runs ``args`` in the scratch copy; returns (wall seconds, stdout); fails on a non-zero exit.
        The CPU seconds (user + system) of the command and its children go to ``self.cpu``."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            result = self.project.run(*args, timeout=None)
        except CommandFailed as error:
            fail(str(error))
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.stderr = result.stderr
        return seconds, result.stdout

    def set_learning_rate(self, run: str, value: float) -> None:
        """Sets ``runs.<run>.learning_rate`` in params.yaml, the rest of the file as it is (ruamel.yaml's
        round trip: :meth:`ScratchProject.set_param`)."""
        try:
            self.project.set_param(f"runs.{run}.learning_rate", value)
        except KeyError as error:
            fail(f"params.yaml: no runs.{run} entry ({error})")


def link_or_copy(source: str, destination: str) -> None:
    """A hard link where the file system allows (DVC never writes into a cache file: it writes a new
    file and renames it), a copy otherwise."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def make_scratch(folder: Path, revision: str = "HEAD", name: str = "project") -> Scratch:
    """Clones this repository's ``revision`` into ``folder/<name>`` with a DVC cache of its own that
    holds this repository's cached files (not its run cache), checks them out and brings it up to date."""
    rev_parse = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{revision}^{{commit}}"],
                               capture_output=True, text=True, check=False)
    if rev_parse.returncode != 0:
        fail(f"{revision}: not a commit of this repository")
    head = rev_parse.stdout.strip()
    if revision == "HEAD" and subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                             capture_output=True, text=True, check=True).stdout.strip():
        print(f"loops: note: benchmarking commit {head[:12]}; uncommitted changes are not included")
    scratch = Scratch(folder / name)
    dvc = str(VENV_BIN / "dvc")
    cache = Path(subprocess.run([dvc, "cache", "dir"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip())
    scratch_git = ["git", "-c", "advice.detachedHead=false"]
    subprocess.run([*scratch_git, "clone", "-q", "--no-checkout", str(ROOT), str(scratch.root)], check=True)
    subprocess.run([*scratch_git, "-C", str(scratch.root), "checkout", "-q", head], check=True)
    if (cache / "files").is_dir():
        shutil.copytree(cache / "files", scratch.root / ".dvc/cache/files", copy_function=link_or_copy)
    # What this repository's cache lacks stays missing here (a fresh clone never built the committed
    # report.tex, whose provenance names the commit it was rendered at); the repro below makes it.
    checkout = subprocess.run([dvc, "checkout", "--quiet"], cwd=scratch.root, env=scratch.env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, check=False)
    if checkout.returncode != 0:
        print("loops: note: dvc checkout found some committed outputs missing from the cache; "
              "the set-up dvc repro rebuilds them")
    seconds, output = scratch.run(dvc, "repro")
    ran = re.findall(r"^Running stage '([^']+)':", output, flags=re.M)
    print(f"loops: scratch copy of {head[:12]} in {scratch.root}; set-up dvc repro ran "
          f"{', '.join(ran) or 'nothing'} ({seconds:.1f} s)")
    return scratch


def snapshot(root: Path) -> dict[str, bytes]:
    files = {}
    for name in COMPARED:
        path = root / name
        for file in sorted(path.glob("*")) if path.is_dir() else [path]:
            files[str(file.relative_to(root))] = file.read_bytes()
    return files


def measure(scratches: list[Scratch], loop: str, repeats: int) -> list[dict[str, list[float]]]:
    """Times ``loop`` in each of ``scratches``, in turn at each step; returns their times."""
    run, values, _ = LOOPS[loop]
    if 1 + 2 * repeats > len(values):
        fail(f"--repeats {repeats}: at most {(len(values) - 1) // 2}")
    results: list[dict[str, list[float]]] = [
        {key: [] for stage in ("loop", f"train@{run}", *AFTER_TRAIN, "DVC") for key in (stage, f"{stage} CPU")}
        for _ in scratches]

    def repro(scratch: Scratch, times: dict[str, list[float]], value: float, counted: bool) -> None:
        scratch.set_learning_rate(run, value)
        seconds, output = scratch.run(sys.executable, "-c", DVC_OWN_CPU, "repro")
        ran = re.findall(r"^Running stage '([^']+)':", output, flags=re.M)
        if ran != [f"train@{run}", *AFTER_TRAIN]:
            fail(f"loop {loop}: dvc repro ran {ran}; expected train@{run}, {', '.join(AFTER_TRAIN)}")
        own = re.findall(r"^loops: dvc own CPU (\S+)$", scratch.stderr, flags=re.M)
        passes = re.findall(r"^pdf: wrote .*", output, flags=re.M)
        print(f"loops: {loop}: {scratch.root.name}: dvc repro with runs.{run}.learning_rate = {value!r}: {seconds:.2f} s"
              f" (CPU {scratch.cpu:.2f} s, DVC's own process {float(own[-1]):.2f} s, load {os.getloadavg()[0]:.1f})"
              + (f"; {passes[0]}" if passes else "") + ("" if counted else " (warms the caches; not counted)"))
        if counted:
            times["loop"].append(seconds)
            times["loop CPU"].append(scratch.cpu)
            times["DVC CPU"].append(float(own[-1]))

    for scratch, times in zip(scratches, results):
        repro(scratch, times, values[0], counted=False)  # the caches as any earlier repro leaves them
    # Each timed repro follows a run of the stages' commands alone, on a value of its own: load that
    # comes and goes on the machine hits both alike (and, with a baseline, both copies alike).
    for index in range(repeats):
        for scratch, times in zip(scratches, results):
            scratch.set_learning_rate(run, values[1 + repeats + index])
            for stage, command in [(f"train@{run}", ["mnist_report.train", run])] + [
                    (stage, [f"mnist_report.{stage}"]) for stage in AFTER_TRAIN]:
                seconds, _ = scratch.run(sys.executable, "-m", *command)
                times[stage].append(seconds)
                times[f"{stage} CPU"].append(scratch.cpu)
            repro(scratch, times, values[1 + index], counted=True)
    for scratch in scratches:
        incremental = snapshot(scratch.root)
        shutil.rmtree(scratch.root / ".cache", ignore_errors=True)
        for stage in AFTER_TRAIN:
            scratch.run(sys.executable, "-m", f"mnist_report.{stage}")
        clean = snapshot(scratch.root)
        differ = sorted(name for name in clean.keys() | incremental.keys() if clean.get(name) != incremental.get(name))
        if differ:
            fail(f"loop {loop}: {scratch.root.name}: the incremental build differs from a clean build in {', '.join(differ)}")
    return results


def median(values: list[float], digits: int = 1) -> str:
    text = f"{statistics.median(values):.{digits}f} s"
    return text + (f" [{min(values):.{digits}f}-{max(values):.{digits}f}]" if len(values) > 1 else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repros per loop (default 3, at most 4)")
    parser.add_argument("--loops", nargs="+", choices=sorted(LOOPS), default=list(LOOPS))
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (its path is printed)")
    parser.add_argument("--baseline", metavar="REV", help="a commit to compare HEAD with, in the same run")
    arguments = parser.parse_args(argv)
    if arguments.repeats < 1:
        parser.error("--repeats: at least 1")
    folder = Path(tempfile.mkdtemp(prefix="mnist-report-loops-"))
    try:
        scratches = [make_scratch(folder)]
        if arguments.baseline:
            scratches.append(make_scratch(folder, arguments.baseline, "baseline"))
        results = {loop: measure(scratches, loop, arguments.repeats) for loop in arguments.loops}
    finally:
        if not arguments.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\nmedian of {arguments.repeats} [range]; every incremental build equals a clean build byte for byte; "
          f"load average now {os.getloadavg()[0]:.1f}\n")
    print("| loop | `dvc repro` to the new PDF | target | CPU time of the repro | train stage alone | figures | report | pdf | DVC |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    columns = ["loop", None, "loop CPU", "train", *AFTER_TRAIN, "DVC"]
    for loop, per_copy in results.items():
        run, _, target = LOOPS[loop]
        medians = []
        for scratch, times in zip(scratches, per_copy):
            stages = [statistics.median(times[stage]) for stage in (f"train@{run}", *AFTER_TRAIN)]
            rest = statistics.median(times["loop"]) - sum(stages)
            medians.append({"loop": statistics.median(times["loop"]), "loop CPU": statistics.median(times["loop CPU"]),
                            "train": stages[0], **dict(zip(AFTER_TRAIN, stages[1:])), "DVC": rest})
            label = f"`runs.{run}.learning_rate`" + ("" if scratch is scratches[0] else f" at {arguments.baseline}")
            print(f"| {label} | {median(times['loop'])} | <= {target:g} s | {median(times['loop CPU'])} | "
                  f"{median(times[f'train@{run}'])} | "
                  + " | ".join(median(times[stage]) for stage in AFTER_TRAIN) + f" | {rest:.1f} s |")
        if len(medians) == 2:
            ratios = [f"{medians[0][key] / medians[1][key]:.2f}" if key and medians[1][key] > 0 else ""
                      for key in columns]
            print(f"| ratio HEAD / {arguments.baseline} | " + " | ".join(ratios) + " |")
    print("\nCPU time (user + system, seconds; median [range]) of the same: the repro, each stage's command "
          "alone, and DVC's own process (without the commands it starts)\n")
    print("| loop | repro | train stage alone | figures | report | pdf | DVC's own process |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for loop, per_copy in results.items():
        run = LOOPS[loop][0]
        stages = (f"train@{run}", *AFTER_TRAIN)
        cpu_medians = []
        for scratch, times in zip(scratches, per_copy):
            values = [statistics.median(times[f"{stage} CPU"]) for stage in ("loop", *stages, "DVC")]
            cpu_medians.append(values)
            label = f"`runs.{run}.learning_rate`" + ("" if scratch is scratches[0] else f" at {arguments.baseline}")
            print(f"| {label} | " + " | ".join(median(times[f"{stage} CPU"], 2) for stage in ("loop", *stages, "DVC"))
                  + " |")
        if len(cpu_medians) == 2:
            print(f"| ratio HEAD / {arguments.baseline} | "
                  + " | ".join(f"{new / old:.2f}" if old > 0 else "" for new, old in zip(*cpu_medians)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
