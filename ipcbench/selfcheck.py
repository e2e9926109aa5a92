"""Accuracy: the harness's figure beside the smallest hand-written loop doing the same transfer.

For each calibration target (Pipe ``send_bytes`` and ``Queue``, 1:1, 1 KiB by default) a :class:`Pair`
keeps two sets of warm processes side by side: the harness's :class:`~ipcbench.harness.Rig` and a
hand-written pair (:mod:`ipcbench.handwritten`) that knows nothing of the harness — a ``Process``, a
channel, a start barrier and ``perf_counter_ns`` in the consumer (throughput) or the pinger
(latency).  The barrier releases the consumer, which starts its clock and then lets the producer go,
so no message is on its way before the clock runs.  Rounds alternate A B B A with the same batch
size, and the ratio is the median over rounds of each harness round against the hand-written round
beside it, so that the host's load, which comes and goes within a second on a VM, weighs on both
figures of a pair alike (medians of each side once gave a 16 MiB copy 0.80 in one run of four on
a quiet VM, 0.97-1.04 in the others).

A one-sided pattern has its own rows: ``array_memoryview`` bulk copies of a large payload (16 MiB by
default, a row per payload given), beside one process copying through a memoryview in a timed loop
into the same ``RawArray`` the harness's worker copies into (the two never run at once).  Its rounds
are where resetting and verifying whole arrays would weigh most: inside the clock, or in the
parent, whose touch would leave the worker's next copy fetching cache lines back.  The destination
is shared because the speed of a copy of many MiB depends on the physical pages behind it: two
buffers made one after the other copied up to 30% apart here, so each side with its own array
measured which was made first, not the harness.

The harness side is timed as ``ipcbench.runner`` times a benchmark: the round is prepared before the
clock starts and verified after it stops.

The ratio is oriented so that 1.0 means "the harness costs nothing" and below 1.0 means the harness
reports a worse figure than the hand-written loop: harness/hand for messages (operations) per second,
hand/harness for the median round trip.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import multiprocessing
import statistics
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ipcbench import fmt, machine, runner, schema, selection, storage, table
from ipcbench.handwritten import Hand
from ipcbench.harness import HarnessError, Rig, Settings
from ipcbench.scenario import PLACEMENTS, Scenario, ScenarioError, format_size, parse_size

#: Mechanisms whose hand-written loop is written below.
MECHANISMS = ("pipe_bytes", "queue")
PAYLOAD = 1 << 10
#: The one-sided row: a bulk copy whose hand-written loop is written below, and its smallest payload.
BULK = "array_memoryview"
BULK_PAYLOAD = 16 << 20
#: The aim: the harness within 5% of the hand-written loop.
TOLERANCE = 0.05
#: The ``scenario`` of a calibration benchmark is this prefix and the id of the scenario it checks.
PREFIX = "calibration-"
#: Seconds the parent waits on the hand-written processes beyond the expected round time.
_GRACE = 10.0


def targets(
    scenarios: Iterable[Scenario] | None = None,
    start_method: str | None = None,
    payload: int = PAYLOAD,
    placement: str = "none",
    bulk_payloads: Sequence[int] = (BULK_PAYLOAD,),
) -> list[Scenario]:
    """The calibration scenarios: 1:1 ``pipe_bytes`` and ``queue`` at ``payload``, both patterns, and
    one process's ``array_memoryview`` bulk copy at each of ``bulk_payloads``.

    Given ``scenarios`` (a run's selection), only those of them that are calibration targets (bulk
    copies of :data:`BULK_PAYLOAD` and above), so a calibration benchmark accompanies the very
    scenario it checks.
    """
    if scenarios is None:
        method = start_method or selection.default_start_method()
        return [
            *(
                Scenario(m, p, 1, 1, payload, method, placement=placement)
                for p in ("throughput", "latency")
                for m in MECHANISMS
            ),
            *(Scenario(BULK, "bulk", 1, 0, size, method, placement=placement) for size in bulk_payloads),
        ]
    return [
        s
        for s in scenarios
        if (s.mechanism in MECHANISMS and s.producers == s.consumers == 1 and s.payload_bytes == payload)
        or (s.mechanism == BULK and s.producers == 1 and s.payload_bytes >= BULK_PAYLOAD)
    ]


# --- the pair -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Check:
    """One target's outcome: per-round figures of both sides and the ratio of their medians."""

    scenario: Scenario
    messages: int
    #: ``msgs_per_s`` for throughput, ``rtt_p50_ns`` for latency.
    metric: str
    harness: tuple[float, ...]
    hand: tuple[float, ...]
    #: Throughput: the harness's rounds on the workers' clock (earliest start to latest finish),
    #: i.e. without the parent's start/stop signalling that the harness's reported figure includes.
    harness_worker_clock: tuple[float, ...] = ()

    @property
    def harness_median(self) -> float:
        return statistics.median(self.harness)

    @property
    def hand_median(self) -> float:
        return statistics.median(self.hand)

    @property
    def ratio(self) -> float:
        """1.0: the harness costs nothing; below 1.0: the harness reports a worse figure.  The median
        of the rounds' ratios, each harness round against the hand-written round run beside it."""
        return _paired(self.harness, self.hand, self.metric == "msgs_per_s")

    @property
    def ratio_worker_clock(self) -> float | None:
        """The throughput ratio had the harness timed rounds on the workers' clock (None for latency)."""
        if not self.harness_worker_clock:
            return None
        return _paired(self.harness_worker_clock, self.hand, True)

    @property
    def within_tolerance(self) -> bool:
        return abs(self.ratio - 1.0) <= TOLERANCE

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.id,
            "messages": self.messages,
            "metric": self.metric,
            "harness": self.harness_median,
            "handwritten": self.hand_median,
            "ratio": self.ratio,
            "ratio_worker_clock": self.ratio_worker_clock,
            "rounds": len(self.harness),
            "harness_rounds": list(self.harness),
            "handwritten_rounds": list(self.hand),
        }


class Pair:
    """The harness's warm rig and the hand-written processes for one scenario, side by side.

    ``harness_round`` and ``hand_round`` each run one round of the same ``messages``; call them
    alternately.  Made by :func:`paired`, which always reaps both sides.
    """

    def __init__(self, scenario: Scenario, rig: Rig, hand: Hand, messages: int) -> None:
        self.scenario = scenario
        self.rig = rig
        self.hand = hand
        self.messages = messages
        self.harness_values: list[float] = []
        self.harness_worker_values: list[float] = []
        self.hand_values: list[float] = []
        self._t0 = 0
        self._timed_ns = 0

    def harness_prepare(self) -> None:
        """Before the clock, as the runner's ``setup``: split the batch (one-sided: reset)."""
        self.rig.prepare_round(self.messages)

    def harness_timed(self) -> None:
        """What the runner times: release the prepared round and collect every worker's report."""
        self._t0 = time.perf_counter_ns()
        self.rig.release_round()
        self.rig.collect_round()
        self._timed_ns = time.perf_counter_ns() - self._t0

    def harness_verify(self) -> None:
        """After the clock, as the runner's ``teardown``: verify the round and keep its figure."""
        result = self.rig.verify_round()
        if self.scenario.pattern == "latency":
            self.harness_values.append(statistics.median(v for a in result.rtts for v in a))
        else:
            self.harness_values.append(result.messages / (self._timed_ns / 1e9))
            self.harness_worker_values.append(result.messages / (result.span_ns / 1e9))

    def harness_round(self) -> None:
        self.harness_prepare()
        self.harness_timed()
        self.harness_verify()

    def hand_round(self) -> None:
        timeout = self.rig.expected_s * 3 + _GRACE
        elapsed_ns, rtt_ns = self.hand.round(timeout)
        if self.scenario.pattern == "latency":
            self.hand_values.append(rtt_ns)
        else:
            self.hand_values.append(self.messages / (elapsed_ns / 1e9))

    def result(self, rounds: int) -> Check:
        """The last ``rounds`` rounds of each side (earlier ones were warm-up)."""
        metric = "rtt_p50_ns" if self.scenario.pattern == "latency" else "msgs_per_s"
        return Check(
            self.scenario,
            self.messages,
            metric,
            tuple(self.harness_values[-rounds:]),
            tuple(self.hand_values[-rounds:]),
            tuple(self.harness_worker_values[-rounds:]),
        )


def _paired(harness: Sequence[float], hand: Sequence[float], higher_is_better: bool) -> float:
    """The median of per-round ratios (harness over hand-written for a rate, the inverse for a time)."""
    ratios = [h / w if higher_is_better else w / h for h, w in zip(harness, hand, strict=True)]
    return statistics.median(ratios)


@contextlib.contextmanager
def paired(scenario: Scenario, settings: Settings) -> Iterator[Pair]:
    """Start the rig, calibrate its batch, start the hand-written side with that batch; reap both."""
    with Rig(scenario, settings) as rig:
        messages = rig.calibrate()
        # A bulk copy's hand-written loop copies into the harness's destination (they never run at
        # once): how fast a copy of many MiB goes depends on the physical pages behind it, and an
        # array of its own, made after the harness's, measured the allocation order instead.
        hand = Hand(scenario, messages, rig.state[0] if scenario.pattern == "bulk" else None)
        try:
            yield Pair(scenario, rig, hand, messages)
        finally:
            hand.close()


def check(scenario: Scenario, settings: Settings) -> Check:
    """Interleave ``warmup_rounds + rounds`` rounds of each side, keep the last ``rounds``.

    The order alternates (A B, B A, A B, ...) so that neither side always runs right after the other.
    """
    with paired(scenario, settings) as pair:
        for i in range(settings.warmup_rounds + settings.rounds):
            first, second = (pair.harness_round, pair.hand_round)[:: 1 if i % 2 == 0 else -1]
            first()
            second()
        return pair.result(settings.rounds)


def run_benchmark(benchmark: Any, target: str | Scenario, settings: Settings) -> None:
    """The ``calibration`` benchmark: pytest-benchmark times the harness rounds as the runner does, and
    a hand-written round runs (untimed, in pedantic's setup) before each, so the two interleave A B A B."""
    scenario = target if isinstance(target, Scenario) else _by_id(target)
    benchmark.group = "calibration"
    with paired(scenario, settings) as pair:

        def setup() -> None:
            pair.hand_round()
            pair.harness_prepare()

        def timed() -> None:
            if not pair.rig.prepared:  # --benchmark-cprofile-loops runs the target without its setup
                pair.harness_prepare()
            pair.harness_timed()

        try:
            benchmark.pedantic(
                timed,
                setup=setup,
                teardown=pair.harness_verify,
                rounds=settings.rounds,
                warmup_rounds=settings.warmup_rounds,
            )
            if pair.rig.collected:  # --benchmark-disable runs the target once, without its teardown
                pair.harness_verify()
        except BaseException:
            # As in runner.run_scenario: a Ctrl-C mid-round must not leave a benchmark without rounds.
            benchmark.has_error = True
            raise
    meta = getattr(benchmark, "stats", None)
    if getattr(meta, "stats", None):
        runner.per_message(meta, pair.messages)
    # Under --benchmark-disable pedantic ran one pair only.
    result = pair.result(min(settings.rounds, len(pair.hand_values)))
    benchmark.extra_info.update(describe(result))


def _by_id(calibration_id: str) -> Scenario:
    scenario_id = calibration_id.removeprefix(PREFIX)
    for s in targets(start_method=scenario_id.rsplit("-", 1)[-1]):
        if s.id == scenario_id:
            return s
    raise ScenarioError(f"{calibration_id!r} is not a calibration benchmark")


def describe(result: Check) -> dict[str, Any]:
    """``extra_info`` of a calibration benchmark: pattern ``calibration``, the figures of both sides."""
    s, n = result.scenario, result.messages
    # Latency moves one round trip at a time: round trips per second from the median round trip.
    rate = result.harness_median if result.metric == "msgs_per_s" else 1e9 / result.harness_median
    fields = {**s.fields(), "scenario": PREFIX + s.id, "pattern": "calibration"}
    warnings = []
    if not result.within_tolerance:
        warnings.append(
            f"harness off by {result.ratio - 1:+.1%} against the hand-written loop (aim: ±{TOLERANCE:.0%})"
        )
    return {
        "ipcbench_schema": schema.SCHEMA_VERSION,
        **fields,
        "calibrates": s.id,
        "calibrates_pattern": s.pattern,
        "messages": n,
        "msgs_per_s": rate,
        "bytes_per_s": rate * s.payload_bytes,
        "metric": result.metric,
        "harness": result.harness_median,
        "handwritten": result.hand_median,
        "ratio": result.ratio,
        "rounds": len(result.harness),
        "warnings": warnings,
        # Only where it exists (throughput): readers take a numeric key to be numeric in every row.
        **(
            {"ratio_worker_clock": result.ratio_worker_clock} if result.ratio_worker_clock is not None else {}
        ),
    }


# --- command line ------------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--rounds", type=int, default=10, help="interleaved rounds per side (default 10)")
    p.add_argument("--round-time", type=float, default=0.05, metavar="S", help="target seconds per round")
    p.add_argument("--payload", default="1KiB", metavar="SIZE", help="payload size (default 1KiB)")
    p.add_argument(
        "--bulk-payload",
        action="append",
        metavar="SIZE",
        help=f"payload of the one-sided row, an {BULK} bulk copy (default {format_size(BULK_PAYLOAD)}); "
        "repeat it for a row per payload",
    )
    p.add_argument("--start-method", metavar="S", help="fork, spawn or forkserver (default: the platform's)")
    p.add_argument(
        "--placement",
        choices=PLACEMENTS,
        default="spread",
        help="pin both sides alike (default spread: one CPU each); none leaves it to the scheduler",
    )
    p.add_argument("--output", "-o", metavar="PATH", help="also save the checks as JSON (never overwrites)")
    return p


def format_table(checks: Sequence[Check]) -> str:
    headers = ("scenario", "metric", "harness", "hand-written", "ratio", "workers' clock", "")
    rows = []
    for c in checks:
        unit = fmt.si if c.metric == "msgs_per_s" else fmt.duration_ns
        rows.append(
            (
                c.scenario.id,
                ("ops/s" if c.scenario.pattern == "bulk" else "msgs/s")
                if c.metric == "msgs_per_s"
                else "p50 round trip",
                unit(c.harness_median),
                unit(c.hand_median),
                f"{c.ratio:.3f}",
                "" if c.ratio_worker_clock is None else f"{c.ratio_worker_clock:.3f}",
                "" if c.within_tolerance else f"outside ±{TOLERANCE:.0%}",
            )
        )
    return table.text(table.Table(headers, tuple(rows), align=table.aligned(headers, range(2, 6))))


def cmd(args: argparse.Namespace) -> int:
    """``ipcbench selfcheck``: print the ratios; exit 0 whatever they are, non-zero only on error."""
    try:
        settings = Settings(round_time=args.round_time, rounds=args.rounds)
        payload = parse_size(args.payload)
        bulk_payloads = [parse_size(p) for p in args.bulk_payload or [format_size(BULK_PAYLOAD)]]
        chosen = targets(
            start_method=args.start_method,
            payload=payload,
            placement=args.placement,
            bulk_payloads=bulk_payloads,
        )
        if chosen[0].start_method not in multiprocessing.get_all_start_methods():
            raise ScenarioError(f"start method {chosen[0].start_method!r} is not available on this platform")
    except ScenarioError as exc:
        print(f"ipcbench selfcheck: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output) if args.output else None
    if out is not None:
        try:
            storage.check_writable(out)
        except storage.StorageError as exc:
            print(f"ipcbench selfcheck: error: {exc}", file=sys.stderr)
            return 2
    print(
        f"selfcheck: harness vs hand-written loop, {format_size(payload)}, 1:1 (bulk copy: "
        f"{', '.join(map(format_size, bulk_payloads))}, 1 process), {settings.rounds} interleaved rounds of "
        f"~{settings.round_time * 1000:.0f} ms each side",
        flush=True,
    )
    checks: list[Check] = []
    for scenario in chosen:
        try:
            checks.append(check(scenario, settings))
        except HarnessError as exc:
            print(f"ipcbench selfcheck: {scenario.id} failed: {exc}", file=sys.stderr)
            return 1
    print(format_table(checks))
    bad = [c for c in checks if not math.isfinite(c.ratio) or c.ratio <= 0]
    if bad:
        print(
            f"ipcbench selfcheck: no usable ratio for {', '.join(c.scenario.id for c in bad)}",
            file=sys.stderr,
        )
        return 1
    if out is not None:
        doc = {
            "ipcbench_selfcheck": schema.SCHEMA_VERSION,
            "machine": machine.facts(),
            "settings": dataclasses.asdict(settings),
            "checks": [c.as_dict() for c in checks],
        }
        path = storage.write_new(out, doc)
        print(f"saved to {path}")
    return 0
