"""How long each fault takes to be reported, and whether anything is left behind.

    python tools/fault_times.py [--grace SECONDS]

Each fault is injected into a warm rig mid-round; the time is from the fault to the error. Dead
workers are seen through their process sentinel (at once); stalled ones at the deadline, which is
the previous round's time x 3 plus the grace.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from collections.abc import Callable

import psutil

from ipcbench import harness, mechanisms
from ipcbench.harness import Rig, Settings
from ipcbench.scenario import Scenario


def kill(role: str, sig: int = signal.SIGKILL) -> Callable[[Rig], None]:
    def inject(rig: Rig) -> None:
        os.kill(next(w for w in rig.workers if w.role == role).process.pid, sig)

    return inject


def kill_manager(rig: Rig) -> None:
    os.kill(rig.resources._manager._process.pid, signal.SIGKILL)


def measure(name: str, scenario: Scenario, inject: Callable[[Rig], None], grace: float) -> str:
    settings = Settings(round_time=0.01, rounds=1, warmup_rounds=0, grace=grace)
    shm_before = set(os.listdir("/dev/shm"))
    with Rig(scenario, settings) as rig:
        rig.run_round(100)
        rig.start_round(10**8)
        inject(rig)
        t0 = time.monotonic()
        try:
            rig.finish_round()
            outcome = "NOT REPORTED"
        except harness.HarnessError as exc:
            outcome = type(exc).__name__
        took = time.monotonic() - t0
        # Leaving the block reaps every worker, the stopped one included (SIGKILL needs no SIGCONT).
    # multiprocessing's resource tracker and forkserver outlive a rig by design.
    left = sum(
        "resource_tracker" not in " ".join(c.cmdline()) and "forkserver" not in " ".join(c.cmdline())
        for c in psutil.Process().children(recursive=True)
    )
    leaked = set(os.listdir("/dev/shm")) - shm_before
    return (
        f"{name:<34} {scenario.id:<34} {outcome:<14} {took * 1000:9.1f} ms  children={left} shm={len(leaked)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grace", type=float, default=5.0)
    args = parser.parse_args()
    cases = [
        ("consumer SIGKILL", Scenario("pipe_bytes", "throughput", 1, 1, 1024, "fork"), kill("consumer")),
        ("producer SIGKILL", Scenario("queue", "throughput", 1, 1, 1024, "fork"), kill("producer")),
        ("ponger SIGKILL", Scenario("pipe", "latency", 1, 1, 1024, "fork"), kill("ponger")),
        ("pinger SIGKILL (spawn)", Scenario("simple_queue", "latency", 1, 1, 1024, "spawn"), kill("pinger")),
        ("Manager server SIGKILL", Scenario("manager_queue", "throughput", 1, 1, 1024, "fork"), kill_manager),
        (
            "consumer SIGSTOP (stall)",
            Scenario("pipe_bytes", "throughput", 1, 1, 1024, "fork"),
            kill("consumer", signal.SIGSTOP),
        ),
    ]
    print(f"{'fault':<34} {'scenario':<34} {'error':<14} {'reported in':>12}")
    for name, scenario, inject in cases:
        print(measure(name, scenario, inject, args.grace), flush=True)

    # An unpicklable payload: under fork the workers inherit this replacement of the hot loop.
    class Unpicklable:
        def __reduce__(self) -> str:
            raise TypeError("cannot pickle")

    def produce(carries: str, send: Callable[[object], object], payload: bytes, seqs: range) -> None:
        for seq in seqs:
            send((seq, Unpicklable()))

    mechanisms.produce = produce
    for mech in ("pipe", "queue"):
        scenario = Scenario(mech, "throughput", 1, 1, 8, "fork")
        t0 = time.monotonic()
        try:
            with Rig(scenario, Settings(round_time=0.01, rounds=1, grace=args.grace)) as rig:
                rig.run_round(10)
            outcome = "NOT REPORTED"
        except harness.HarnessError as exc:
            outcome = type(exc).__name__
        took = time.monotonic() - t0
        print(
            f"{'unpicklable payload':<34} {scenario.id:<34} {outcome:<14} {took * 1000:9.1f} ms (with start)"
        )


if __name__ == "__main__":
    main()
