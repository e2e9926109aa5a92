"""The extension API: records that check themselves, one registry the built-ins use too."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import ipcbench
from ipcbench import api, catalog, mechanisms, ops
from ipcbench.api import DeclarationError, Mechanism, Operation
from ipcbench.harness import Rig, Settings, VerificationError
from ipcbench.scenario import ONE_SIDED, Scenario, ScenarioError

TINY = Settings(round_time=0.002, rounds=1, warmup_rounds=0, grace=20.0)


def _pipe(res: api.Resources) -> tuple[Any, Any]:
    reader, writer = res.ctx.Pipe(duplex=False)
    return writer, reader


def channel(**changes: Any) -> Mechanism:
    fields: dict[str, Any] = dict(
        name="test_pipe",
        description="a Pipe declared by a test",
        make_channel=_pipe,
        bind_send=lambda end, size: end.send_bytes,
        bind_recv=lambda end, size: end.recv_bytes,
        carries="bytes",
        point_to_point=True,
    )
    return Mechanism(**{**fields, **changes})


def test_every_builtin_is_declared_through_the_public_registry():
    names = set(catalog.entries())
    assert names == set(api.MECHANISMS) | set(api.OPERATIONS)
    assert mechanisms.MECHANISMS is api.MECHANISMS and ops.OPS is api.OPERATIONS
    assert all(isinstance(m, Mechanism) for m in api.MECHANISMS.values())
    assert all(isinstance(o, Operation) and o.pattern in ONE_SIDED for o in api.OPERATIONS.values())
    assert all(api.origin(name) is None for name in names)  # built in: no plugin to load in a worker
    assert ipcbench.register is api.register and ipcbench.Mechanism is Mechanism
    # What the report may recommend is declared by each record, not kept in a list elsewhere.
    kinds = {
        name: entry.kind for name, entry in catalog.entries().items() if entry.kind != catalog.IMPORTABLE
    }
    assert kinds == {
        n: r.kind for n, r in {**api.MECHANISMS, **api.OPERATIONS}.items() if r.kind != "importable"
    }
    assert kinds["os_pipe"] == catalog.BASELINE and kinds["shm_ring"] == catalog.HAND_MADE


def test_records_are_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        Mechanism("x", "y", _pipe, _pipe, _pipe, "objects", True)  # type: ignore[misc]
    record = channel()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "other"  # type: ignore[misc]
    assert record.patterns == ("throughput", "latency")
    assert channel(patterns=["latency"]).patterns == ("latency",)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"patterns": ("throughput", "gossip")}, "unknown pattern 'gossip'"),
        ({"patterns": ("locks",)}, "the one-sided patterns take an Operation"),
        ({"patterns": "throughput"}, "non-empty tuple"),
        ({"patterns": ()}, "non-empty tuple"),
        ({"carries": "json"}, "carries must be one of objects, bytes"),
        ({"point_to_point": False}, "a shared channel must carry objects"),
        ({"point_to_point": "yes"}, "point_to_point must be True or False"),
        ({"name": "my-pipe"}, "letters, digits or underscores"),
        ({"name": "latency"}, "must not be a pattern's name"),
        ({"description": " "}, "description must be a non-empty string"),
        ({"bind_send": "send_bytes"}, "bind_send must be callable"),
        ({"max_payload": 4}, "max_payload must be None or at least 8 bytes"),
        ({"requires": 3}, "requires must be a module name"),
        ({"kind": "peer"}, "kind must be one of importable, baseline, hand-made"),
        ({"single_consumer": True}, "single_consumer is for shared channels"),
    ],
)
def test_an_invalid_mechanism_is_refused_with_one_clear_line(changes, needle):
    with pytest.raises(DeclarationError, match=needle) as info:
        channel(**changes)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"pattern": "throughput"}, "unknown pattern 'throughput'.*messaging takes a Mechanism"),
        ({"pattern": "gossip"}, "unknown pattern 'gossip'"),
        ({"loop": None}, "make and loop are required"),
        ({"sized": 1}, "sized must be True or False"),
        ({"worker_check": "bytes"}, "worker_check must be callable"),
    ],
)
def test_an_invalid_operation_is_refused(changes, needle):
    fields: dict[str, Any] = dict(
        name="test_op", pattern="locks", description="d", make=lambda res, s: None, loop=lambda *a: 0
    )
    with pytest.raises(DeclarationError, match=needle):
        Operation(**{**fields, **changes})


def test_a_name_declared_twice_is_refused_and_registers_nothing(registry):
    with pytest.raises(DeclarationError, match=r"'pipe_bytes' is declared twice \(built in\)"):
        api.register(channel(name="pipe_bytes"))
    before = api.generation()
    with pytest.raises(DeclarationError, match="'test_pipe' is declared twice"):
        api.register(channel(), channel(description="again"))
    assert "test_pipe" not in api.MECHANISMS and api.generation() == before
    with pytest.raises(DeclarationError, match="variant_of 'test_base' is not a registered mechanism"):
        api.register(channel(variant_of="test_base"))
    api.register(channel(name="test_base"), channel(variant_of="test_base"))  # its base may come first
    assert api.MECHANISMS["test_pipe"].variant_of == "test_base"
    with pytest.raises(DeclarationError, match="takes Mechanism and Operation records"):
        api.register("test_pipe")  # type: ignore[arg-type]


def test_a_registered_channel_is_measured_like_a_builtin(registry, no_leaks):
    api.register(channel(patterns=("throughput",)))
    assert catalog.entries()["test_pipe"].patterns == ("throughput",)
    with Rig(Scenario("test_pipe", "throughput", 1, 1, 1024, "fork"), TINY) as rig:
        assert rig.run_round(50).messages == 50
    with pytest.raises(ScenarioError, match="test_pipe runs in throughput only, not latency"):
        Rig(Scenario("test_pipe", "latency", 1, 1, 1024, "fork"), TINY)


def _counter(res: api.Resources, scenario: Scenario) -> Any:
    return (res.ctx.Lock(), res.ctx.RawValue("q", 0))


def _locked_increments(shared: Any, index: int, count: int) -> int:
    lock, value = shared
    for _ in range(count):
        with lock:
            value.value += 1
    return count


def _reset(shared: Any) -> None:
    shared[1].value = 0


def _exact(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    return (None if shared[1].value == n else f"counter ended at {shared[1].value}, not {n}"), {}


def test_a_registered_operation_is_measured_and_checked_like_a_builtin(registry, no_leaks):
    fields: dict[str, Any] = dict(pattern="locks", description="a test's locked counter", make=_counter)
    api.register(
        Operation(name="test_counter", loop=_locked_increments, reset=_reset, check=_exact, **fields)
    )
    assert catalog.entries()["test_counter"].patterns == ("locks",)
    with Rig(Scenario("test_counter", "locks", 2, 0, 8, "fork"), TINY) as rig:
        assert rig.run_round(100).messages == 100
        assert rig.run_round(100).messages == 100  # reset between rounds, or the check would fail
    # An operation that does half its work fails its round, as a built-in one would.
    api.register(Operation(name="test_half", loop=lambda s, i, n: _locked_increments(s, i, n // 2), **fields))
    with (
        Rig(Scenario("test_half", "locks", 1, 0, 8, "fork"), TINY) as rig,
        pytest.raises(VerificationError, match="50 of 100 operations completed"),
    ):
        rig.run_round(100)


def _own_slots(res: api.Resources, scenario: Scenario) -> Any:
    return res.ctx.RawArray("q", scenario.producers)


def _count_in_own_slot(shared: Any, index: int, count: int) -> int:
    for _ in range(count):
        shared[index] += 1
    return count


def _count_two_in_own_slot(shared: Any, index: int, count: int) -> int:
    for _ in range(count):
        shared[index] += 2
    return count


def _zero_own_slot(shared: Any, index: int) -> None:
    shared[index] = 0


def _own_slot_holds(shared: Any, index: int, count: int) -> str | None:
    return None if shared[index] == count else f"slot {index} holds {shared[index]}, not {count}"


def test_a_registered_operation_resets_and_checks_its_own_part_in_its_worker(registry, no_leaks):
    fields: dict[str, Any] = dict(
        pattern="shared_state",
        description="each worker counts in a slot of its own",
        make=_own_slots,
        worker_reset=_zero_own_slot,
        worker_check=_own_slot_holds,
    )
    api.register(Operation(name="test_own", loop=_count_in_own_slot, **fields))
    with Rig(Scenario("test_own", "shared_state", 2, 0, 8, "fork"), TINY) as rig:
        assert rig.run_round(100).messages == 100
        assert rig.run_round(100).messages == 100  # reset by each worker, or its check would fail
        assert rig.worker_checks == {"worker-0": None, "worker-1": None}
    # Counting two per operation: each worker's own check fails the round, naming the worker.
    api.register(Operation(name="test_twice", loop=_count_two_in_own_slot, **fields))
    failure = "round 0 failed verification: worker-0: slot 0 holds 100, not 50"
    with (
        Rig(Scenario("test_twice", "shared_state", 2, 0, 8, "fork"), TINY) as rig,
        pytest.raises(VerificationError, match=failure),
    ):
        rig.run_round(100)
