"""How ``ipcbench run`` ends, through the real command line: every scenario accounted for once, optional
peers skipped (never failed), and SIGINT/SIGTERM/SIGKILL stopping the whole process tree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRST = "pipe_bytes-throughput-2p-8B-fork"
#: Its consumer is stopped (SIGSTOP) in a timed round: a warm rig, mid-round, until the signal.
STALLED = "shm_ring-throughput-2p-8B-fork"
SELECTION = ["--pattern", "throughput", "--payload", "8", "--processes", "2"]
TINY_RUN = ["--rounds", "2", "--round-time", "0.002", "--trials", "1", "--spares", "0", "--placement", "none"]
T = TypeVar("T")


def _env(*first: Path) -> dict[str, str]:
    # This checkout first, whatever ipcbench the venv has installed.
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, first), str(ROOT)])}


def _until(probe: Callable[[], T], what: str, timeout: float = 120) -> T:
    """Poll ``probe`` until it returns something true; the deadline only bounds a broken run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _running(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _all_gone(procs: list[psutil.Process]) -> None:
    """Every process of the run ends (zombies of init's count as gone); bounded by a deadline."""
    deadline = time.monotonic() + 30
    while _running(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _running(procs)
    assert not alive, f"left running: {[(p.pid, p.cmdline()) for p in alive]}"


def test_a_peer_not_installed_is_listed_not_failed(tmp_path, no_leaks):
    """Without faster_fifo (hidden from every process of the run), the run is complete and exits 0."""
    hide = tmp_path / "hide"
    hide.mkdir()
    # importlib.util.find_spec() answers None for a module set to None in sys.modules: "not installed".
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['faster_fifo'] = None\n")
    out = tmp_path / "run.json"
    argv = ["run", *TINY_RUN, *SELECTION, "--mechanism", "pipe_bytes", "--mechanism", "faster_fifo"]
    proc = subprocess.run(
        [sys.executable, "-m", "ipcbench", *argv, "-o", str(out), "--report", str(tmp_path / "report")],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env=_env(hide),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    peer = "faster_fifo-throughput-2p-8B-fork"
    run = json.loads(out.read_text())["ipcbench"]
    assert run["complete"] is True and run["failed"] == [] and run["not_run"] == []
    assert list(run["not_installed"]) == [peer]
    assert "pip install 'ipcbench[peers]'" in run["not_installed"][peer]
    assert run["account"] == {"measured": 1, "not_installed": 1, "not_run": 0, "failed": 0}
    assert "failed" not in proc.stderr
    # One line per scenario, the last one [2/2]; the account once, agreeing with pytest's own line.
    assert f"[2/2] {peer}" in proc.stdout and "not installed" in proc.stdout
    assert proc.stdout.count("2 scenarios: 1 measured, 1 not installed, 0 not run, 0 failed") == 1
    assert "1 passed, 1 skipped" in proc.stdout
    page = (tmp_path / "report" / "index.html").read_text()
    assert "Incomplete run" not in page
    assert "not installed" in page and peer.split("-")[0] in page


class _Run:
    """``ipcbench run`` of FIRST (quick) then STALLED, started in a process group of its own."""

    def __init__(self, tmp_path: Path, *, sigint_ignored: bool = False) -> None:
        self.out = tmp_path / "run.json"
        argv = [sys.executable, "-m", "ipcbench", "run", *TINY_RUN, *SELECTION]
        argv += [
            "--mechanism",
            "pipe_bytes",
            "--mechanism",
            "shm_ring",
            "--deadline",
            "300",
            "-o",
            str(self.out),
        ]
        if sigint_ignored:
            # As `ipcbench run &` in a script starts it: SIGINT inherited ignored.
            argv = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *argv]
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
            env={**_env(), "IPCBENCH_FAULT": f"{STALLED}=STOP:consumer"},
            process_group=0,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ps = psutil.Process(self.proc.pid)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def mid_round(self) -> list[psutil.Process]:
        """Wait until STALLED's consumer is stopped mid-round; then every process of the run."""

        def stopped() -> bool:
            for p in self.ps.children(recursive=True):
                try:
                    if p.status() == psutil.STATUS_STOPPED:
                        return True
                except psutil.NoSuchProcess:
                    pass
            return False

        _until(lambda: f"[1/2] {FIRST}" in self.output(), f"{FIRST} to be measured")
        _until(stopped, f"{STALLED} to stall mid-round")
        return [self.ps, *self.ps.children(recursive=True)]

    def finish(self) -> int:
        code = self.proc.wait(60)
        self._reader.join(60)
        return code


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("to", ["alone", "group"])
def test_a_signal_stops_the_run_and_saves_what_finished(tmp_path, sig, to, no_leaks):
    # Sent alone (kill, timeout, a CI runner, docker stop) to a run started as a script's background
    # job; to the group as a terminal's Ctrl-C does.
    run = _Run(tmp_path, sigint_ignored=to == "alone")
    procs = run.mid_round()
    (os.kill if to == "alone" else os.killpg)(run.proc.pid, sig)
    code = run.finish()
    assert code == 128 + sig, run.output()
    saved = json.loads(run.out.read_text())
    record = saved["ipcbench"]
    assert record["complete"] is False and record["interrupted"] is True
    assert record["not_run"] == [STALLED] and record["failed"] == []
    assert [b["extra_info"]["scenario"] for b in saved["benchmarks"]] == [FIRST]
    assert run.output().count("2 scenarios: 1 measured, 0 not installed, 1 not run, 0 failed") == 1
    _all_gone(procs)


def test_sigkill_of_the_run_takes_everything_it_started_along(tmp_path, no_leaks):
    run = _Run(tmp_path)
    procs = run.mid_round()
    pytest_args = run.ps.children()[0].cmdline()
    scratch = Path(next(a for a in pytest_args if a.startswith("--ipc-scratch-dir=")).partition("=")[2])
    run.proc.kill()
    assert run.finish() == -signal.SIGKILL
    _all_gone(procs)
    assert not scratch.exists()  # the files the dead run would have read


@pytest.mark.parametrize("then", ["signal again", "wait"])
def test_a_run_whose_pytest_does_not_stop_is_killed(tmp_path, then, no_leaks):
    """pytest frozen (SIGSTOP), so it cannot stop in order: a second signal ends the run at once; without
    one the run's own deadline does.  Either way nothing is left running."""
    run = _Run(tmp_path)
    procs = run.mid_round()
    os.kill(run.ps.children()[0].pid, signal.SIGSTOP)
    os.kill(run.proc.pid, signal.SIGTERM)
    _until(lambda: "signal again" in run.output(), "the run to say it is stopping")
    if then == "signal again":
        os.kill(run.proc.pid, signal.SIGINT)
    code = run.finish()
    assert code == 128 + signal.SIGTERM, run.output()
    assert ("stopped at once" if then == "signal again" else "did not stop") in run.output()
    assert not run.out.exists()
    _all_gone(procs)


@pytest.mark.parametrize("interrupted", [False, True])
def test_the_account_puts_every_scenario_in_exactly_one_place(monkeypatch, interrupted):
    """Without a word from pytest a scenario failed, unless a signal stopped the run first (not run);
    a failure pytest reported stays a failure either way."""
    from ipcbench import launch, mechanisms, selection

    monkeypatch.setattr(mechanisms, "missing", lambda requires: "gone" if requires == "zmq" else None)
    mechs = ["pipe_bytes", "os_pipe", "queue", "socketpair", "zmq"]
    scenarios = selection.select("quick", 2, mechs, ["throughput"], [2], [8], ["fork"]).expand()
    ids = {s.mechanism: s.id for s in scenarios}
    outcomes = {ids["os_pipe"]: "failed", ids["queue"]: "not_run"}
    account = launch.Account.of(scenarios, {ids["pipe_bytes"]}, outcomes, interrupted)
    assert account.measured == (ids["pipe_bytes"],)
    assert list(account.not_installed) == [ids["zmq"]]
    assert account.failed == ((ids["os_pipe"],) if interrupted else (ids["os_pipe"], ids["socketpair"]))
    assert account.not_run == ((ids["queue"], ids["socketpair"]) if interrupted else (ids["queue"],))
    assert account.line() == (
        f"5 scenarios: 1 measured, 1 not installed, {1 + interrupted} not run, {2 - interrupted} failed"
    )
