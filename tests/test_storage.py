"""Saving results: atomic, never over an existing file, one clear error when the disk says no."""

import errno
import json
import os

import pytest

from ipcbench import storage


def test_write_new_creates_the_file_and_leaves_no_temporary(tmp_path):
    path = storage.write_new(tmp_path / "sub" / "run.json", {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.json"]


def test_write_new_never_overwrites(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("precious")
    with pytest.raises(storage.StorageError, match="already exists"):
        storage.write_new(path, {"a": 1})
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(storage.StorageError, match="the disk is full"):
        storage.write_new(tmp_path / "run.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []  # no half-written file, no stray temporary


def test_parent_that_is_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(storage.StorageError, match="not a directory"):
        storage.check_writable(blocker / "run.json")
    with pytest.raises(storage.StorageError, match="cannot write"):
        storage.write_new(blocker / "run.json", {})


def test_unwritable_directory_is_refused_up_front(tmp_path, monkeypatch):
    # Root (as in CI) may write anywhere, so the permission answer is simulated.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(storage.StorageError, match="not writable"):
        storage.check_writable(tmp_path / "run.json")


def test_read_only_filesystem_is_one_clear_error():
    """/proc refuses new files even for root: the error is one line, not a traceback."""
    with pytest.raises(storage.StorageError, match="cannot write"):
        storage.write_new(storage.Path("/proc/ipcbench-test.json"), {})


def test_default_path_is_new_each_time(tmp_path):
    first = storage.default_path(tmp_path, "quick")
    first.write_text("{}")
    second = storage.default_path(tmp_path, "quick")
    assert second != first and second.name.endswith("-1.json")
