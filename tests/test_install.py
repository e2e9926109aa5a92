"""A plain (non-editable) install runs benchmarks from any directory: the wheel carries what
``ipcbench run`` drives, and the run ignores the configuration of the directory it is started from.

Slower than the other tests (it builds the wheel and installs it into a fresh venv, some seconds):
marked ``wheel`` so ``-m "not wheel"`` leaves it out of a quick local loop; CI runs it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import ipcbench

ROOT = Path(__file__).resolve().parent.parent


def _build_wheel(dist: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)]
    if importlib.util.find_spec("hatchling") is not None:
        # The build backend is already here (the test extra): build offline, without an isolated env.
        cmd.insert(5, "--no-build-isolation")
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = dist.glob("ipcbench-*.whl")
    return wheel


def _fresh_venv(path: Path) -> Path:
    """A venv with none of this checkout in it, borrowing the test venv's dependencies.

    A ``.pth`` line is a plain path: it puts the test venv's site-packages after the new one's without
    processing the ``.pth`` files there, so an editable install of this checkout stays out of reach.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=60,
    ).stdout.strip()
    outer = dict.fromkeys((sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]))
    (Path(site) / "outer_deps.pth").write_text("".join(f"{p}\n" for p in outer))
    return python


def _clean_env() -> dict[str, str]:
    # PYTHONPATH could point at this checkout (the tests of the CLI set it for their own children).
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.mark.wheel
def test_the_installed_wheel_runs_a_scenario_from_another_directory(tmp_path, no_leaks):
    wheel = _build_wheel(tmp_path / "dist")
    python = _fresh_venv(tmp_path / "venv")
    env = _clean_env()
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A user's project may have its own pytest configuration and conftest: the run must not use them.
    (elsewhere / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    (elsewhere / "conftest.py").write_text("raise RuntimeError('the conftest of the cwd was loaded')\n")

    where = subprocess.run(
        [str(python), "-c", "import ipcbench; print(ipcbench.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=60,
    ).stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "venv"), where

    bin_dir = tmp_path / "venv" / "bin"
    version = subprocess.run(
        [str(bin_dir / "ipcbench"), "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert (version.returncode, version.stdout) == (0, f"ipcbench {ipcbench.__version__}\n")

    out = elsewhere / "run.json"
    argv = ["run", "--mechanism", "pipe_bytes", "--pattern", "latency", "--payload", "1KiB"]
    argv += ["--processes", "2", "--rounds", "1", "--round-time", "0.002", "-o", str(out)]
    proc = subprocess.run(
        [str(bin_dir / "ipcbench"), *argv],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    (scenario,) = [b["extra_info"]["scenario"] for b in data["benchmarks"]]
    assert scenario.startswith("pipe_bytes-latency-2p-1KiB-")
    facts = data["machine_info"]["ipcbench"]
    # An installed copy has a version but no commit of its own.
    assert (facts["ipcbench_version"], facts["ipcbench_commit"]) == (ipcbench.__version__, None)
    # Nothing written into the install (no pytest cache) nor left in the user's directory.
    package = Path(where).parent
    assert not list(package.rglob(".pytest_cache"))
    assert sorted(p.name for p in elsewhere.iterdir()) == ["conftest.py", "pytest.ini", "run.json"]
