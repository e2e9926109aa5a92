"""Soak: many rounds and many rigs in one process leave the process as they found it."""

import gc
import os

import psutil

from ipcbench.harness import Rig, Settings
from ipcbench.mechanisms import MECHANISMS
from ipcbench.scenario import Scenario

TINY = Settings(round_time=0.001, rounds=1, warmup_rounds=0, grace=5.0)


def snapshot() -> tuple[int, int, int]:
    gc.collect()
    me = psutil.Process()
    return len(me.children(recursive=True)), me.num_fds(), len(os.listdir("/dev/shm"))


def mixed():
    for mech in MECHANISMS:
        for pattern in MECHANISMS[mech].patterns:
            yield Scenario(mech, pattern, 1, 1, 64, "fork")
    yield Scenario("queue", "throughput", 2, 1, 64, "fork")
    yield Scenario("simple_queue", "throughput", 1, 2, 64, "fork")


def test_200_rounds_leave_no_process_fd_or_shm_entry():
    scenarios = list(mixed())
    # A first use may start what lives on by design: the resource tracker (the first shared-memory
    # scenario), the zmq context and faster_fifo's library state (file descriptors).  Warm every scenario
    # once, so the suite run alone or in any order measures only what 200 rounds leave.
    for scenario in scenarios:
        with Rig(scenario, TINY) as rig:
            rig.run_round(10)
    before = snapshot()
    rounds = 0
    while rounds < 200:
        for scenario in scenarios:
            with Rig(scenario, TINY) as rig:
                for _ in range(10):
                    rig.run_round(20)
                    rounds += 1
    assert rounds >= 200
    assert snapshot() == before
