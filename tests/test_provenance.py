"""What a saved run says about itself: which ipcbench made it (version, and commit from a clone), and
the commit, time and load of its start, not of the moment it is saved."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import ipcbench
from ipcbench import cli, findings, machine, results

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "quick-fork-2cpu.json"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_version_option_prints_the_version_and_exits_0(capsys):
    assert cli.main(["--version"]) == cli.EXIT_OK
    assert capsys.readouterr().out == f"ipcbench {machine.version()}\n"
    assert machine.version() == ipcbench.__version__  # the package and its metadata agree


def test_version_without_metadata_is_the_package_own(monkeypatch):
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert machine.version() == ipcbench.__version__


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env, timeout=60
    ).stdout.strip()


@needs_git
def test_source_is_the_commit_of_a_clone_and_whether_it_was_modified(tmp_path):
    package = tmp_path / "ipcbench"
    package.mkdir()
    (package / "__init__.py").write_text("")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert machine.source(package) == (head, False)
    (package / "__init__.py").write_text("# changed\n")
    assert machine.source(package) == (head, True)


@needs_git
def test_an_install_inside_some_other_repository_has_no_commit(tmp_path):
    """A venv inside a project's repository: its site-packages is not tracked by that repository."""
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "the user's project")
    package = tmp_path / ".venv" / "site-packages" / "ipcbench"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    assert machine.source(package) == (None, None)
    assert machine.source(tmp_path / "not-a-directory") == (None, None)


LATER = '''
import os, subprocess, time

def pytest_runtest_teardown(item):
    """Mid-run: a commit lands in the working tree's repository and the load soars."""
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "merged during the run"], check=True)
    os.getloadavg = lambda: (99.0, 99.0, 99.0)
    with open("mid_run.txt", "w") as fh:
        fh.write(repr(time.time()))
'''


@needs_git
def test_a_run_saves_the_commit_time_and_load_of_its_start(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "measured")
    measured = _git(repo, "rev-parse", "HEAD")
    (tmp_path / "later_commit.py").write_text(LATER)
    out = tmp_path / "run.json"
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "benchmarks"), "-p", "later_commit", "-q"]
    cmd += ["--ipc-mechanism", "pipe_bytes", "--ipc-pattern", "latency", "--ipc-payload", "1KiB"]
    cmd += ["--ipc-processes", "2", "--ipc-rounds", "1", "--ipc-round-time", "0.002"]
    cmd += [f"--benchmark-json={out}"]
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, env=env, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _git(repo, "rev-parse", "HEAD") != measured  # the mid-run commit did land

    data = json.loads(out.read_text())
    assert data["commit_info"]["id"] == measured
    mid_run = float((repo / "mid_run.txt").read_text())
    assert dt.datetime.fromisoformat(data["datetime"]).timestamp() < mid_run
    facts = data["machine_info"]["ipcbench"]
    assert facts["load_avg"] != [99.0, 99.0, 99.0]
    assert facts["ipcbench_version"] == ipcbench.__version__
    row = results.load([out]).iloc[0]
    assert row["commit"] == measured and row["datetime"] == data["datetime"]


def test_the_report_names_the_ipcbench_that_measured(tmp_path):
    data = json.loads(FIXTURE.read_text())
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    data["machine_info"]["ipcbench"].update(
        ipcbench_version="0.1.0", ipcbench_commit="0123456789abcdef", ipcbench_dirty=True
    )
    new = tmp_path / "new.json"
    new.write_text(json.dumps(data))

    def row(path: Path) -> tuple[str, ...]:
        table = findings.machine_table(findings.prepare(results.load([path])))
        return next(r for r in table.rows if r[0] == "ipcbench")

    assert row(new) == ("ipcbench", "0.1.0 (0123456789ab, modified)")
    # Files saved before the version was recorded still load and say they do not know.
    assert row(old) == ("ipcbench", "—")
    assert results.load([old])["ipcbench_version"].isna().all()
