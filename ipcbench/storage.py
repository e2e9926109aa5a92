"""Saving results: atomic, never over an existing file, one clear error when the disk says no."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any


class StorageError(OSError):
    """The result could not be written; the message is one line meant for the user."""


def default_path(results_dir: Path, label: str, now: dt.datetime | None = None) -> Path:
    """``results/20261124-224455-myhost-quick.json``; a numbered suffix if the name is taken."""
    now = now or dt.datetime.now()
    host = re.sub(r"[^A-Za-z0-9_.-]+", "_", socket.gethostname())[:40] or "host"
    stem = f"{now:%Y%m%d-%H%M%S}-{host}-{label}"
    path = results_dir / f"{stem}.json"
    n = 1
    while path.exists():
        path = results_dir / f"{stem}-{n}.json"
        n += 1
    return path


def check_writable(path: Path) -> None:
    """Refuse up front what :func:`write_new` would refuse after the run: an existing file, no dir."""
    if path.exists():
        raise StorageError(f"{path} already exists; ipcbench never overwrites a saved result")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise StorageError(f"cannot write {path}: {parent} is not a directory")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise StorageError(f"cannot write {path}: {probe} is not writable")


def write_new(path: Path, data: Any) -> Path:
    """Write JSON to a temporary file, fsync it, then link it into place only if the name is free.

    ``os.link`` fails when the target exists, so a result is never overwritten even by a run that
    started after this one checked; a crash leaves at worst a stray temporary file, never half a file.
    """
    text = json.dumps(data, indent=2, sort_keys=False, default=str)
    exists = f"{path} already exists; ipcbench never overwrites a saved result"
    try:
        if path.parent.exists() and not path.parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{path.parent} is not a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would hide results from other users
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise StorageError(exists) from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except StorageError:
        raise
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise StorageError(f"cannot write {path}: {reason}") from None
    return path
