"""``kill -9`` of the pdf stage at several moments (as tests/integration/test_faults.py does for training and the
download): pdflatex dies with it, the kept auxiliary files (.cache/latex) are the last good build's
or none, nothing is added to report/build/, and the next build succeeds at once with a clean build's
bytes and leaves no temporary directory behind.

The stage runs as ``python -c <KILLER>``: mnist_report.pdf's main, with ``subprocess.Popen``,
``os.replace`` and ``Path.rename`` wrapped so that the stage sends itself SIGKILL (no handler, no
``finally``) at the n-th call, before it, or while the pdflatex it started is running."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_report import pdf
from mnist_report.mnist import sources
from support.latex_documents import clean_build, document

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")]

KILLER = r'''
import os, signal, subprocess, sys, time
from pathlib import Path
moment, n, pid_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
calls = {"popen": 0, "replace": 0, "rename": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

class Popen(subprocess.Popen):
    def __init__(self, *args, **kwargs):
        calls["popen"] += 1
        if moment == "before-pass" and calls["popen"] == n:
            die()
        super().__init__(*args, **kwargs)
        pid_file.write_text(str(self.pid))
        if moment == "during-pass" and calls["popen"] == n:
            time.sleep(0.25)  # pdflatex is busy for half a second (BUSY): kill the stage half-way
            die()

subprocess.Popen = Popen
real_replace, real_rename = os.replace, Path.rename

def replace(*args, **kwargs):
    calls["replace"] += 1
    if moment == "replace" and calls["replace"] == n:
        die()
    return real_replace(*args, **kwargs)

def rename(self, target):
    calls["rename"] += 1
    if moment == "rename" and calls["rename"] == n:
        die()
    return real_rename(self, target)

os.replace, Path.rename = replace, rename
from mnist_report import pdf
sys.exit(pdf.main(sys.argv[4:]))
'''

#: TeX that keeps pdflatex busy for about half a second, after it has written its .aux and .toc entries.
BUSY = r"\newcount\busy \busy=0 \loop\ifnum\busy<3000000 \advance\busy by 1 \repeat"


def dead(pid: int, within: float = 5.0) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("moment, n", [
    pytest.param("before-pass", 1, id="before-the-first-pass"),
    pytest.param("during-pass", 1, id="during-the-first-pass"),
    pytest.param("before-pass", 2, id="between-passes"),
    pytest.param("during-pass", 2, id="during-the-second-pass"),
    pytest.param("replace", 1, id="writing-the-pdf"),
    pytest.param("rename", 1, id="replacing-the-kept-files"),
])
def test_a_pdf_stage_killed_takes_pdflatex_with_it_and_the_next_build_recovers(tmp_path, moment, n):
    build = tmp_path / "report/build"
    build.mkdir(parents=True)
    tex, out, aux = build / "report.tex", build / "report.pdf", tmp_path / ".cache/latex"
    arguments = ["--tex", str(tex), "--pdf", str(out), "--aux-dir", str(aux)]
    busy = BUSY if moment == "during-pass" else ""  # only there must pdflatex be slow
    tex.write_text(document("Alpha", "Beta", body=busy))
    assert pdf.main(arguments) == 0
    good = {path.name: path.read_bytes() for path in aux.iterdir() if path.suffix != ".log"}
    old_pdf = out.read_bytes()

    # A section more: the references, contents and bookmarks move, so that the build takes two passes.
    edited = document("Alpha", "Gamma", "Beta", body=busy)
    tex.write_text(edited)
    pid_file = tmp_path / "pdflatex.pid"
    killed = subprocess.run([sys.executable, "-c", KILLER, moment, str(n), str(pid_file), *arguments],
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    if pid_file.exists():
        assert dead(int(pid_file.read_text())), "pdflatex outlived the stage"
    # The kept files: the last good build's, or none; report/build/ holds the .tex and a PDF, old or new.
    if aux.exists():
        assert {path.name: path.read_bytes() for path in aux.iterdir() if path.suffix != ".log"} == good
    # (a PDF write killed mid-way leaves its hidden temporary file, files.py, which the next write removes)
    assert sorted(path.name for path in build.iterdir() if not path.name.startswith(".report.pdf.")) == [
        "report.pdf", "report.tex"]
    clean = clean_build(tmp_path, edited)
    assert out.read_bytes() in (old_pdf, clean)

    # The next build succeeds at once, as a clean build would, and removes what the kill left.
    assert pdf.main(arguments) == 0
    assert out.read_bytes() == clean
    assert sorted(path.name for path in aux.parent.iterdir()) == ["latex"]
    assert sorted(path.name for path in build.iterdir()) == ["report.pdf", "report.tex"]


def test_a_clean_build_killed_leaves_its_folder_beside_the_pdf_for_the_next_to_remove(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    tex, out = folder / "report.tex", folder / "report.pdf"
    tex.write_text(document("Alpha", body=BUSY))
    arguments = ["--tex", str(tex), "--pdf", str(out), "--clean"]
    killed = subprocess.run([sys.executable, "-c", KILLER, "during-pass", "1", str(tmp_path / "pid"), *arguments],
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    left = [path.name for path in folder.iterdir() if path.name != "report.tex"]
    assert len(left) == 1 and left[0].startswith(".report.latex.") and left[0].endswith(".tmp")
    assert pdf.main(arguments) == 0
    assert sorted(path.name for path in folder.iterdir()) == ["report.pdf", "report.tex"]


ORPHAN = r'''
import subprocess, sys, os, signal
from mnist_report.common.children import dies_with_this_process
child = subprocess.Popen(["sleep", "60"], stdout=subprocess.DEVNULL,
                         **(dies_with_this_process() if sys.argv[1] == "yes" else {}))
open(sys.argv[2], "w").write(str(child.pid))
os.kill(os.getpid(), signal.SIGKILL)
'''


@pytest.mark.parametrize("asked", ["yes", "no"])
def test_a_child_started_so_dies_when_its_parent_is_killed(tmp_path, asked):
    parent = subprocess.run([sys.executable, "-c", ORPHAN, asked, str(tmp_path / "pid")], timeout=30)
    assert parent.returncode == -9
    child = int((tmp_path / "pid").read_text())
    try:
        assert dead(child, within=2.0) == (asked == "yes")  # without it, the child runs on
    finally:
        if asked == "no":
            subprocess.run(["kill", "-9", str(child)], check=False)


def test_pdflatex_and_pip_are_started_to_die_with_the_stage(monkeypatch, tmp_path):
    # In the stage's process group (no session of their own, which DVC's kill of the group would not
    # reach) and with the preexec function that asks for PR_SET_PDEATHSIG.
    seen = []

    class Recorder(subprocess.Popen):
        def __init__(self, command, *args, **kwargs):
            if Path(command[0]).name == "pdflatex" or command[1:3] == ["-m", "pip"]:
                seen.append(kwargs)
            super().__init__(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recorder)
    tex = tmp_path / "report.tex"
    tex.write_text(document("Alpha"))
    pdf.compile_pdf(tex, tmp_path / "report.pdf")
    with pytest.raises(Exception):
        sources.fetch_wheel("no-such-package-for-this-test==0.0.1", tmp_path, timeout=0.1)
    assert len(seen) >= 2  # the pdflatex passes, the pip download
    for kwargs in seen:
        assert not kwargs.get("start_new_session") and kwargs.get("preexec_fn") is not None
