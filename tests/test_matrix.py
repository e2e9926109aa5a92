"""Every mechanism and pattern of the matrix runs a tiny real, verified round and leaves nothing behind."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipcbench import catalog, cli, eta, mechanisms, results, selection
from ipcbench.harness import Rig, Settings, VerificationError, WorkerDied
from ipcbench.mechanisms import peers
from ipcbench.ops import OPS
from ipcbench.scenario import START_METHODS, Scenario, ScenarioError

ROOT = Path(__file__).resolve().parent.parent
TINY = Settings(round_time=0.002, rounds=1, warmup_rounds=0, grace=20.0)
NEW_MESSAGING = ("socketpair", "manager_queue", "shm_ring", "shm_numpy", "faster_fifo", "zmq")


def needs(mechanism: str) -> None:
    why = mechanisms.missing(catalog.entries()[mechanism].requires)
    if why:
        pytest.skip(f"{mechanism} {why}")


def run(scenario: Scenario, n: int = 40):
    with Rig(scenario, TINY) as rig:
        result = rig.run_round(n)
        second = rig.run_round(n)  # a second round: nothing carried over, sequence numbers move on
    assert result.messages == second.messages == n
    return result


@pytest.mark.parametrize("pattern", ["throughput", "latency"])
@pytest.mark.parametrize("mechanism", NEW_MESSAGING)
def test_new_messaging_mechanisms_run_verified_rounds(mechanism, pattern, no_leaks):
    needs(mechanism)
    point_to_point = catalog.entries()[mechanism].point_to_point
    producers, consumers = (1, 1) if point_to_point or pattern == "latency" else (2, 1)
    result = run(Scenario(mechanism, pattern, producers, consumers, 1024, "fork"))
    if pattern == "latency":
        assert sum(len(a) for a in result.rtts) == 40


def test_zmq_latency_is_request_reply_one_socket_per_end_and_pair(no_leaks):
    needs("zmq")
    res = mechanisms.Resources(None, 8, "latency")
    try:
        to_pong, to_ping = peers._zmq(res), peers._zmq(res)
        # The pinger sends and receives on one REQ end, the ponger on one REP end.
        assert to_pong[0] == to_ping[1] and to_pong[0].kind == "REQ"
        assert to_pong[1] == to_ping[0] and to_pong[1].kind == "REP"
        assert peers._zmq(res)[0].address != to_pong[0].address  # the next pair: a new address
    finally:
        res.close()
    # Two ping-pong pairs side by side, each on its own REQ/REP address.
    result = run(Scenario("zmq", "latency", 2, 2, 64, "fork"))
    assert sum(len(a) for a in result.rtts) == 40


def test_a_zmq_end_that_connects_first_retries_soon_not_after_zmqs_100_ms(no_leaks):
    needs("zmq")
    import zmq

    res = mechanisms.Resources(None, 8, "throughput")
    push, _pull = peers._zmq(res)
    try:
        sock = peers._zmq_socket(push)  # connects before anything has bound: it will retry
        assert sock.getsockopt(zmq.RECONNECT_IVL) == peers.RECONNECT_MS < 100
    finally:
        peers._ZMQ_SOCKETS.pop(push).close()
        res.close()


@pytest.mark.parametrize("mechanism", ["shm_ring", "manager_queue", "socketpair"])
def test_under_spawn_nothing_leaks_either(mechanism, no_leaks):
    # Spawned workers attach segments in a fresh interpreter: where gh-82300 used to bite.
    run(Scenario(mechanism, "throughput", 1, 1, 100, "spawn"), n=10)


def test_shm_ring_carries_payloads_bigger_than_the_ring(no_leaks):
    # Two slots of 5 MiB: the producer must wait for the consumer to free a slot, many times over.
    run(Scenario("shm_ring", "throughput", 1, 1, 5 << 20, "fork"), n=6)


def test_shm_segment_unlinked_when_a_worker_dies(no_leaks):
    with pytest.raises(WorkerDied), Rig(Scenario("shm_ring", "throughput", 1, 1, 8, "fork"), TINY) as rig:
        os.kill(rig.workers[0].process.pid, signal.SIGKILL)
        rig.run_round(1000)


def test_manager_is_shut_down_by_close(no_leaks):
    rig = Rig(Scenario("manager_queue", "throughput", 1, 1, 8, "fork"), TINY)
    with rig:
        rig.run_round(5)
        manager = rig.resources._manager
        assert manager is not None and manager._process.is_alive()
    assert not manager._process.is_alive()


def test_optional_mechanism_refused_with_reason_when_missing(monkeypatch):
    monkeypatch.setattr(mechanisms.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ScenarioError, match=r"zmq: needs the optional module 'zmq'.*peers"):
        Rig(Scenario("zmq", "throughput", 1, 1, 8, "fork"), TINY)


# --- one-sided patterns ------------------------------------------------------------------------------


def one_sided(pattern: str) -> list[str]:
    return [name for name, op in OPS.items() if op.pattern == pattern]


@pytest.mark.parametrize("mechanism", one_sided("shared_state") + one_sided("locks"))
def test_shared_state_and_locks_verified(mechanism, no_leaks):
    needs(mechanism)
    pattern = OPS[mechanism].pattern
    result = run(Scenario(mechanism, pattern, 2, 0, 8, "fork"), n=2000)
    # Only the unlocked counters report lost updates; every other one must end exact (or fail).
    lossy = mechanism in ("value_unlocked", "manager_value")
    assert ("lost_updates" in result.extra) == lossy
    if lossy:
        assert result.extra["updates_expected"] == 2000


def test_lost_updates_are_what_the_counter_lacks():
    """The check's arithmetic, on counters that ended where a race would leave them."""
    check = OPS["value_unlocked"].check

    class Raw:
        def __init__(self, value):
            self.value = value

    assert check((Raw(700),), 1000) == (None, {"lost_updates": 300, "updates_expected": 1000})
    assert check((Raw(1000),), 1000) == (None, {"lost_updates": 0, "updates_expected": 1000})
    assert check((Raw(1001),), 1000)[0] is not None  # more than was added: impossible
    assert check((Raw(0),), 1000)[0] is not None  # nothing at all arrived
    exact = OPS["value_get_lock"].check
    assert exact((Raw(999),), 1000)[0] == "counter ended at 999, expected exactly 1000"


def test_locked_counter_is_exact_and_a_wrong_total_fails(no_leaks, monkeypatch):
    scenario = Scenario("value_get_lock", "shared_state", 2, 0, 8, "fork")
    with Rig(scenario, TINY) as rig:
        rig.run_round(5000)  # verified: the counter ended at exactly 5000
        rig.start_round(100)
        rig.state[-1].value = -7  # the workers add 100 to whatever is there
        with pytest.raises(
            VerificationError, match=r"value_get_lock-shared_state-2p-8B-fork: .*expected exactly"
        ):
            rig.finish_round()


def test_unlocked_counter_reports_lost_updates_under_contention(no_leaks):
    """Two processes on a 2-core machine race on a RawValue; the loss is measured, never forced."""
    n = 400_000
    with Rig(Scenario("value_unlocked", "shared_state", 2, 0, 8, "fork"), TINY) as rig:
        result = rig.run_round(n)
        final = rig.state[-1].value
    # The workers reported n increments between them (verified); what the counter lacks was lost.
    assert result.extra["updates_expected"] == n
    assert result.extra["lost_updates"] == n - final


@pytest.mark.parametrize("mechanism", one_sided("bulk"))
def test_bulk_copies_verified(mechanism, no_leaks):
    needs(mechanism)
    run(Scenario(mechanism, "bulk", 2, 0, 64 << 10, "fork"), n=4)


@pytest.mark.parametrize("mechanism", one_sided("startup"))
def test_startup_reaps_what_it_starts(mechanism, no_leaks):
    result = run(Scenario(mechanism, "startup", 1, 0, 8, "fork"), n=2)
    assert [len(a) for a in result.rtts] == [2]
    assert all(t > 0 for a in result.rtts for t in a)


def test_startup_under_spawn(no_leaks):
    run(Scenario("process_start", "startup", 1, 0, 8, "spawn"), n=1)


@pytest.mark.parametrize("mechanism", ["pool_start", "manager_start"])
def test_startup_interrupted_mid_round_reaps_grandchildren(mechanism, no_leaks):
    """close() terminates a worker busy starting a Pool or Manager: it must take them along.

    Orphans would be re-parented away from the test process, so no_leaks alone could not see them:
    the worker's children are recorded while the round runs and checked by pid afterwards.
    """
    import psutil

    with Rig(Scenario(mechanism, "startup", 1, 0, 8, "fork"), TINY) as rig:
        rig.start_round(100_000)
        worker = psutil.Process(rig.workers[0].process.pid)
        seen: set[psutil.Process] = set()
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            seen.update(worker.children(recursive=True))
        assert seen, "the worker never started anything"
    _, alive = psutil.wait_procs(list(seen), timeout=10)
    assert not alive, f"left behind: {[(p.pid, p.name()) for p in alive]}"


def test_shareable_list_under_spawn(no_leaks):
    run(Scenario("shareable_list", "shared_state", 2, 0, 8, "spawn"), n=100)


def test_mechanism_must_belong_to_the_pattern():
    with pytest.raises(ScenarioError, match="not a locks mechanism"):
        Rig(Scenario("value_lock", "locks", 1, 0, 8, "fork"), TINY)
    with pytest.raises(ScenarioError, match="consumers must be 0"):
        Scenario("lock", "locks", 1, 1, 8, "fork")


# --- placement, selection, CLI -----------------------------------------------------------------------


@pytest.mark.parametrize("placement", ["spread", "packed"])
def test_placement_pins_workers_and_records_masks(placement, no_leaks):
    cpus = sorted(os.sched_getaffinity(0))
    scenario = Scenario("pipe_bytes", "latency", 1, 1, 8, "fork", placement)
    assert scenario.id.endswith(f"-fork-{placement}")
    with Rig(scenario, TINY) as rig:
        rig.run_round(10)
        masks = rig.placement
        assert masks == rig.worker_affinity()
    if placement == "packed":
        assert all(m == [cpus[0]] for m in masks.values())
    else:
        assert sorted(m[0] for m in masks.values()) == sorted(cpus[i % len(cpus)] for i in range(2))


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="packing away from the parent needs 2 CPUs")
def test_packed_pins_every_thread_and_the_managers_server_and_keeps_the_parent_away(no_leaks):
    """A thread a worker started before it was pinned, and a Manager's server, are part of the channel:
    packed, they run on the workers' CPU too; the parent keeps off it while the rig lives."""
    import psutil

    cpus = sorted(os.sched_getaffinity(0))
    scenario = Scenario("manager_queue", "throughput", 1, 1, 8, "fork", "packed")
    with Rig(scenario, TINY) as rig:
        rig.run_round(10)
        assert os.sched_getaffinity(0) == set(cpus[1:])
        helpers = rig.resources.helper_pids()
        assert len(helpers) == 1 and rig.placement["helper-0"] == [cpus[0]]
        for pid in [*helpers, *(w.process.pid for w in rig.workers)]:
            threads = psutil.Process(pid).threads()
            assert len(threads) >= 1
            assert all(os.sched_getaffinity(t.id) == {cpus[0]} for t in threads), pid
    assert os.sched_getaffinity(0) == set(cpus)


def test_quick_profile_packs_its_scenarios_and_the_full_profile_does_not():
    assert {s.placement for s in selection.profile("quick", 2).expand()} == {selection.QUICK_PLACEMENT}
    assert {s.placement for s in selection.profile("full", 2).expand()} == {"none"}


def test_quick_profile_covers_every_mechanism_and_pattern():
    scenarios = selection.profile("quick", 2).expand()
    assert {s.mechanism for s in scenarios} == set(catalog.entries())
    assert {s.pattern for s in scenarios} == set(selection.PATTERNS)


def test_full_profile_sweeps_every_axis():
    scenarios = selection.profile("full", 2).expand()
    assert {s.mechanism for s in scenarios} == set(catalog.entries())
    assert {s.pattern for s in scenarios} == set(selection.PATTERNS)
    assert {s.payload_bytes for s in scenarios} >= set(selection.FULL_PAYLOADS)
    assert {s.processes for s in scenarios if s.pattern == "locks"} == {1, 2, 3, 4}
    assert max(s.payload_bytes for s in scenarios if s.mechanism == "manager_queue") == 4 << 20
    methods = set(multiprocessing.get_all_start_methods()) & set(START_METHODS)
    assert {s.start_method for s in scenarios if s.pattern == "startup"} == methods
    estimate = eta.estimate(scenarios, *selection.PROFILE_SETTINGS["full"], cpus=2)
    quick = selection.profile("quick", 2).expand()
    assert estimate > eta.estimate(quick, *selection.PROFILE_SETTINGS["quick"], cpus=2) > 0


def test_full_profile_crosses_axes_only_where_the_cross_says_something():
    scenarios = selection.profile("full", 2).expand()
    default = selection.default_start_method()
    # Steady state under another start method: one point per mechanism, the check that it is equal.
    elsewhere = [s for s in scenarios if s.start_method != default and s.pattern != "startup"]
    assert elsewhere and all((s.processes, s.payload_bytes) in ((2, 1024), (2, 8)) for s in elsewhere)
    checked = {(s.mechanism, s.pattern) for s in elsewhere}
    assert checked == {(s.mechanism, s.pattern) for s in scenarios if s.pattern != "startup"}
    # Past two processes, a few payloads; the payload curve has every size, at one pair.
    assert {s.payload_bytes for s in scenarios if s.processes > 2} <= {8, 1024, 1 << 20}
    assert {s.payload_bytes for s in scenarios if s.pattern == "throughput"} == set(selection.FULL_PAYLOADS)
    # The product of every axis was 2,544 scenarios (and 168 call-pattern variants) on 2 CPUs.
    assert len(scenarios) < 2544 / 4


def test_full_process_counts_keep_a_few_points_up_to_twice_the_cpus():
    assert selection.process_counts(2, full=True) == (1, 2, 3, 4)
    assert selection.process_counts(64, full=True) == (1, 2, 3, 4, 16, 64, 128)
    assert selection.process_counts(1, full=True) == (1, 2)


def test_an_axis_given_replaces_it_in_every_part_of_the_full_profile():
    only_startup = selection.select("full", 2, patterns=["startup"]).expand()
    assert only_startup and {s.pattern for s in only_startup} == {"startup"}
    forked = selection.select("full", 2, start_methods=["fork"]).expand()
    assert {s.start_method for s in forked} == {"fork"}
    small = selection.select("full", 2, payloads=["1KiB"]).expand()
    assert {s.payload_bytes for s in small} == {8, 1024}  # unsized mechanisms run at 8 B


def test_cli_list_describes_and_selects_a_slice(capsys):
    argv = ["list", "--pattern", "locks", "--processes", "1", "--placement", "spread", "--mechanism", "lock"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert "locks: acquire/release" in err and "Lock: acquire/release" in err
    assert out.split() == ["lock-locks-1p-8B-fork-spread"]
    assert cli.main(["list", "--ids", "--pattern", "startup", "--mechanism", "pool_start"]) == 0
    assert capsys.readouterr().out.split() == [
        "pool_start-startup-2p-8B-fork-packed",
        "pool_start-startup-4p-8B-fork-packed",
    ]


def test_cli_list_plans_the_full_profile_for_a_machine_of_n_cpus(capsys):
    assert cli.main(["list", "--ids", "--profile", "full", "--cpus", "64"]) == 0
    out, err = capsys.readouterr()
    ids = out.split()
    assert any("-128p" in i for i in ids) and not any("-8p-" in i for i in ids)
    assert f"{len(ids)} scenarios; about " in err and "on a machine of 64 CPUs" in err and "±10%" in err


def test_cli_refuses_unknown_placement(capsys):
    assert cli.main(["list", "--placement", "diagonal"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_benchmarks_save_new_pattern_fields(tmp_path):
    """The pytest plugin runs one-sided patterns and saves their figures (lost_updates, op_ns)."""
    out = tmp_path / "run.json"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "benchmarks"),
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--ipc-mechanism=value_unlocked",
        "--ipc-mechanism=process_start",
        "--ipc-processes=2",
        "--ipc-placement=none",
        "--ipc-rounds=1",
        "--ipc-round-time=0.002",
        f"--benchmark-json={out}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    infos = {b["extra_info"]["mechanism"]: b["extra_info"] for b in json.loads(out.read_text())["benchmarks"]}
    unlocked = infos["value_unlocked"]
    # Summed over the timed rounds: every increment of every round is counted as expected (each
    # trial's rounds at that trial's batch: a trial may size its own).
    assert unlocked["updates_expected"] == sum(t["messages"] * t["rounds"] for t in unlocked["trials"])
    assert unlocked["lost_updates"] < unlocked["updates_expected"]
    assert infos["value_unlocked"]["placement"] == "none"
    assert infos["process_start"]["op_ns"]["p50"] > 0
    assert infos["process_start"]["pattern"] == "startup"
    # The one loader reads them: one-sided patterns have 0 consumers, and the new figures are columns.
    frame = results.load([out]).set_index("mechanism")
    assert frame.loc["value_unlocked", "consumers"] == 0
    assert frame.loc["value_unlocked", "lost_updates"] == unlocked["lost_updates"]
    assert frame.loc["process_start", "op_p50_ns"] > 0
    assert set(frame["placement"]) == {"none"}
