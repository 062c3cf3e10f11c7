"""sketchrnn._io.atomic_write against the real file system: permissions, cleanup, no clobbering."""

from __future__ import annotations

import os
import stat

import pytest

from sketchrnn import _io
from sketchrnn._io import atomic_write, write_bytes_atomic, write_text_atomic
from sketchrnn.errors import OutputExistsError, SketchRNNError


@pytest.fixture
def umask():
    """Set a umask for one test and restore the old one."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_permissions_follow_the_umask_like_a_plain_open(tmp_path, umask, mask):
    umask(mask)
    reference = tmp_path / "plain.txt"
    with open(reference, "w") as fh:  # what any other program would create
        fh.write("x")
    written = write_text_atomic(tmp_path / "atomic.txt", "x")
    assert _mode(written) == _mode(reference) == 0o666 & ~mask


def test_writes_the_content_creates_parents_and_replaces(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    assert write_bytes_atomic(target, b"first") == target
    write_bytes_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failing_writer_leaves_no_temp_and_keeps_the_old_file(tmp_path, error):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def write(f):
        f.write(b"half a fi")
        raise error

    with pytest.raises(type(error)):
        atomic_write(target, write)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failing_check_sees_the_complete_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "out.txt"
    seen = []

    def check(tmp):
        seen.append((tmp.parent, tmp.read_bytes()))
        raise ValueError("not valid")

    with pytest.raises(ValueError):
        atomic_write(target, lambda f: f.write(b"payload"), check=check)
    assert seen == [(tmp_path, b"payload")]  # checked in the target folder, complete
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_an_existing_file(tmp_path):
    target = tmp_path / "pig.npz"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExistsError) as info:
        write_bytes_atomic(target, b"new", overwrite=False)
    assert isinstance(info.value, SketchRNNError)
    assert str(target) in str(info.value) and "\n" not in str(info.value)
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["pig.npz"]


def test_refuses_a_file_that_appears_while_writing(tmp_path):
    """The final step itself refuses (hard link), not only the check before writing."""
    target = tmp_path / "pig.npz"

    def check(tmp):
        target.write_bytes(b"the other writer")  # wins the race after our existence check

    with pytest.raises(OutputExistsError):
        atomic_write(target, lambda f: f.write(b"ours"), overwrite=False, check=check)
    assert target.read_bytes() == b"the other writer"
    assert [p.name for p in tmp_path.iterdir()] == ["pig.npz"]


def test_no_clobber_writes_a_new_file_with_normal_permissions(tmp_path, umask):
    umask(0o022)
    target = write_bytes_atomic(tmp_path / "new.bin", b"data", overwrite=False)
    assert target.read_bytes() == b"data"
    assert _mode(target) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["new.bin"]


def test_data_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(_io.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(_io.os, "replace", lambda a, b: (events.append("rename"), real_replace(a, b)))
    write_text_atomic(tmp_path / "x.txt", "x")
    assert events[:2] == ["fsync", "rename"]
