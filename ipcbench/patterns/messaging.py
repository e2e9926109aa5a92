"""The messaging patterns: ``throughput`` (producers stream to consumers) and ``latency`` (ping-pong
pairs), over any registered channel mechanism.

Each message carries a sequence number; a round is verified by count, sum of sequence numbers and
sum of payload lengths.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from ipcbench import mechanisms
from ipcbench.registry import Resources
from ipcbench.rounds import Pattern, Round, RoundResult, Share, Task, VerificationError, WorkerSide, span
from ipcbench.scenario import Scenario, ScenarioError

#: The roles that send: their tasks carry a range of sequence numbers.
SENDERS = ("producer", "pinger", "ponger")


class Messaging(Pattern):
    """The parent side: lay out channels, split sequence numbers, check what the receivers got."""

    starters = ("producer", "pinger")

    def check(self, scenario: Scenario) -> None:
        mech = mechanisms.MECHANISMS.get(scenario.mechanism)
        if mech is None:
            raise ScenarioError(f"unknown mechanism {scenario.mechanism!r} for {scenario.pattern}")
        if mech.point_to_point and scenario.producers != scenario.consumers:
            raise ScenarioError(f"{scenario.mechanism} is point-to-point: producers must equal consumers")
        if scenario.pattern not in mech.patterns:
            raise ScenarioError(
                f"{mech.name} runs in {', '.join(mech.patterns)} only, not {scenario.pattern}"
            )
        if mech.single_consumer and scenario.consumers != 1:
            raise ScenarioError(
                f"{mech.name} runs with one consumer only (a batched get takes others' markers)"
            )
        why = mechanisms.missing(mech.requires)
        if why:
            raise ScenarioError(f"{mech.name}: {why}")

    def layout(self, rig: Round, res: Resources) -> list[tuple[str, tuple[Any, ...]]]:
        """(role, ends) for every worker; ends are (sending end, receiving end) as the role needs."""
        s, mech = rig.scenario, mechanisms.MECHANISMS[rig.scenario.mechanism]
        make = mech.make_channel
        plan: list[tuple[str, tuple[Any, ...]]] = []
        if s.pattern == "latency":
            for _ in range(s.producers):
                to_pong_tx, to_pong_rx = make(res)
                to_ping_tx, to_ping_rx = make(res)
                rig.keep_ends(to_pong_tx, to_pong_rx, to_ping_tx, to_ping_rx)
                plan.append(("pinger", (to_pong_tx, to_ping_rx)))
                plan.append(("ponger", (to_ping_tx, to_pong_rx)))
        elif mech.point_to_point:
            for _ in range(s.producers):
                tx, rx = make(res)
                rig.keep_ends(tx, rx)
                plan.append(("producer", (tx,)))
                plan.append(("consumer", (rx,)))
        else:
            tx, rx = make(res)
            rig.keep_ends(*([tx] if tx is rx else [tx, rx]))
            plan += [("producer", (tx,))] * s.producers
            plan += [("consumer", (rx,))] * s.consumers
        return plan

    def split(self, rig: Round, n: int) -> list[Task]:
        """Split ``n`` messages over the producing side; sequence numbers are unique across rounds."""
        s = rig.scenario
        base = rig.round_number << 32
        senders = s.producers
        bounds = [base + (n * i) // senders for i in range(senders + 1)]
        shares = list(itertools.pairwise(bounds))
        shared = not mechanisms.MECHANISMS[s.mechanism].point_to_point and s.pattern == "throughput"
        tasks: list[Task] = []
        for w in rig.workers:
            if w.role in SENDERS:
                first, stop = shares[w.index]
                tasks.append(
                    Task(first, stop, sentinels=s.consumers if shared and w.role == "producer" else 0)
                )
            elif shared:
                tasks.append(Task(0, 0, count=None, sentinels=s.producers))
            else:
                first, stop = shares[w.index]
                tasks.append(Task(first, stop, count=stop - first))
        return tasks

    def verify(self, rig: Round, replies: Mapping[str, tuple[Any, ...]], elapsed: int) -> RoundResult:
        s, n = rig.scenario, rig.batch
        base = rig.round_number << 32
        receivers = "pinger" if s.pattern == "latency" else "consumer"
        got = [r[3] for name, r in replies.items() if name.startswith(receivers)]
        count = sum(g[0] for g in got)
        seq_sum = sum(g[1] for g in got)
        byte_sum = sum(g[2] for g in got)
        want_seq = n * base + n * (n - 1) // 2
        want_bytes = n * s.payload_bytes
        if (count, seq_sum, byte_sum) != (n, want_seq, want_bytes) or any(g[1] < 0 for g in got):
            rig.raise_reported_error()
            raise VerificationError(
                f"{s.id}: round {rig.round_number} failed verification: received {count} of {n} messages, "
                f"sequence checksum {seq_sum} (expected {want_seq}), {byte_sum} payload bytes "
                f"(expected {want_bytes})"
            )
        rtts = tuple(g[3] for g in got) if s.pattern == "latency" else ()
        return RoundResult(n, elapsed, span(replies), rtts)


class MessagingWorker(WorkerSide):
    """The worker side: bind the role's ends to the mechanism's send and recv, then run hot loops."""

    def bind(self, role: str, scenario: Scenario, ends: tuple[Any, ...]) -> Share:
        mech = mechanisms.MECHANISMS[scenario.mechanism]
        carries = mech.carries
        payload = b"\x5a" * scenario.payload_bytes  # touched now, so no page faults in the timed loop
        if role in SENDERS:
            send = mech.bind_send(ends[0], scenario.payload_bytes)
        if role in ("consumer", "pinger", "ponger"):
            recv = mech.bind_recv(ends[-1], scenario.payload_bytes)

        def run(task: Task) -> tuple[Any, ...]:
            seqs = range(task.first, task.stop)
            if role == "producer":
                mechanisms.produce(carries, send, payload, seqs)
                for _ in range(task.sentinels):
                    send(None)
                return ()
            if role == "consumer":
                return mechanisms.consume(carries, recv, task.count, task.sentinels)
            if role == "pinger":
                return mechanisms.ping(carries, send, recv, payload, seqs)
            mechanisms.pong(send, recv, len(seqs))
            return ()

        return Share(run)


PATTERN = Messaging()
WORKER = MessagingWorker()
