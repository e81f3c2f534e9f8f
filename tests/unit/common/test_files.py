"""files.py: atomic writes give the permissions a plain ``open()`` would (not mkstemp's 0600), leave
nothing on failure, and the next write removes what a killed writer left, and only that."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from mnist_report.common import files
from mnist_report.common.errors import PipelineError


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_and_directories_get_the_modes_open_and_mkdir_would(tmp_path, umask):
    files.write_bytes(tmp_path / "a.bin", b"\x00\x01")
    files.write_text(tmp_path / "b.txt", "é\n")
    files.write_json(tmp_path / "c.json", {"x": 0.1})
    with open(tmp_path / "plain", "w"):
        pass
    for name in ("a.bin", "b.txt", "c.json"):
        assert mode(tmp_path / name) == mode(tmp_path / "plain") == 0o666 & ~umask, name
    with files.atomic_directory(tmp_path / "d") as staging:
        (staging / "f").write_bytes(b"x")
    (tmp_path / "plain_dir").mkdir()
    assert mode(tmp_path / "d") == mode(tmp_path / "plain_dir") == 0o777 & ~umask
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01" and (tmp_path / "b.txt").read_bytes() == "é\n".encode()
    assert (tmp_path / "c.json").read_text() == json.dumps({"x": 0.1}, indent=2) + "\n"


def test_json_refuses_nan_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError):
        files.write_json(tmp_path / "m.json", {"x": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_a_failed_block_keeps_the_old_file_and_directory_and_leaves_no_temporary(tmp_path):
    files.write_text(tmp_path / "t", "old")
    with pytest.raises(RuntimeError), files.atomic_path(tmp_path / "t") as tmp:
        tmp.write_text("half")
        raise RuntimeError
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "old").write_text("old")
    with pytest.raises(RuntimeError), files.atomic_directory(tmp_path / "d") as staging:
        (staging / "new").write_text("new")
        raise RuntimeError
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d", "t"]
    assert (tmp_path / "t").read_text() == "old" and [p.name for p in (tmp_path / "d").iterdir()] == ["old"]


def test_a_directory_replaces_a_file_or_a_symlink_of_its_name(tmp_path):
    (tmp_path / "f").write_text("a file")
    with files.atomic_directory(tmp_path / "f") as staging:
        (staging / "x").write_text("1")
    assert (tmp_path / "f").is_dir() and (tmp_path / "f" / "x").read_text() == "1"
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with files.atomic_directory(tmp_path / "link") as staging:
        (staging / "y").write_text("2")
    assert not (tmp_path / "link").is_symlink() and (tmp_path / "target").is_dir()


def dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_the_next_write_removes_a_dead_writers_temporaries_and_nothing_else(tmp_path):
    dead, alive = dead_pid(), os.getpid()
    left = [tmp_path / f".t.{dead}.abc.tmp", tmp_path / f".t.{dead}.xyz.tmp"]
    left[0].write_text("half")
    left[1].mkdir()
    kept = [tmp_path / f".t.{alive}.abc.tmp",  # a live writer's
            tmp_path / f".t.x.{dead}.abc.tmp",  # another target's (t.x), whose name extends t's
            tmp_path / f".t.{dead}.abc.tmp.bak", tmp_path / f".t.{dead}.tmp", tmp_path / "t.1.a.tmp"]
    for path in kept:
        path.write_text("keep")
    assert sorted(files.remove_stale_temporaries(tmp_path / "t")) == sorted(left)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    files.write_text(tmp_path / "t", "new")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([path.name for path in kept] + ["t"])


def test_a_temporary_directory_is_removed_after_its_block_and_a_killed_ones_by_the_next(tmp_path):
    stale = tmp_path / f".w.{dead_pid()}.abc.tmp"
    stale.mkdir()
    with files.temporary_directory(tmp_path / "w") as directory:
        assert not stale.exists()
        assert directory.parent == tmp_path and directory.name.startswith(f".w.{os.getpid()}.")
        assert directory.name.endswith(".tmp") and list(directory.iterdir()) == []
        (directory / "x").write_text("1")
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_cannot_be_made_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(PipelineError, match=r"^cannot write .*file/x: (Not a directory|File exists)$"):
        files.write_text(tmp_path / "file" / "x", "y")
    with pytest.raises(PipelineError, match=r"^cannot write .*file/d: (Not a directory|File exists)$"):
        with files.atomic_directory(tmp_path / "file" / "d"):
            pass
    with pytest.raises(PipelineError, match=r"^cannot write .*file/w: (Not a directory|File exists)$"):
        with files.temporary_directory(tmp_path / "file" / "w"):
            pass


def test_process_is_alive_tells_a_live_process_from_a_dead_one():
    assert files.process_is_alive(os.getpid()) and not files.process_is_alive(dead_pid())


def test_a_process_of_another_user_counts_as_alive(monkeypatch):
    # os.kill(pid, 0) on another user's process raises PermissionError: it exists, so its temporaries stay.
    def denied(pid, signal):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(files.os, "kill", denied)
    assert files.process_is_alive(1)
