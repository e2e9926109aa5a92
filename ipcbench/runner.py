"""Run one scenario under pytest-benchmark and describe it in ``extra_info``."""

from __future__ import annotations

import os
import pickle
import signal
import statistics
from array import array
from collections.abc import Sequence
from typing import Any

from ipcbench import calibration, canary, machine, mechanisms, schema, specs, stability, trials
from ipcbench.harness import Rig, RoundResult, Settings
from ipcbench.scenario import Scenario, format_size
from ipcbench.trials import Trial

#: pyperf warns when the standard deviation reaches 10% of the mean; so do we (see ipcbench.stability).
SPREAD_WARN = stability.SPREAD_WARN


#: Samples a tail percentile needs behind it (ten beyond it).
TAIL_MIN_SAMPLES = schema.TAIL_MIN_SAMPLES


def percentiles(samples: Sequence[array]) -> dict[str, int | None]:
    """Nearest-rank percentiles of every round trip of every pair.

    A tail percentile without :data:`TAIL_MIN_SAMPLES` behind it is None (saved as null): ``count``
    says how many there were.
    """
    values = sorted(v for a in samples for v in a)
    if not values:
        return {}
    last = len(values) - 1

    def rank(q: float) -> int:
        return values[min(last, max(0, int(q * len(values) + 0.999999) - 1))]

    out: dict[str, int | None] = {"p50": rank(0.50)}
    for key, q in (("p90", 0.90), ("p99", 0.99), ("p999", 0.999)):
        out[key] = rank(q) if len(values) >= TAIL_MIN_SAMPLES[key] else None
    out["max"] = values[-1]
    out["min"] = values[0]
    out["mean"] = round(sum(values) / len(values))
    out["count"] = len(values)
    return out


def describe(
    scenario: Scenario,
    settings: Settings,
    results: Sequence[RoundResult],
    round_s: Sequence[float],
    affinity: dict[str, list[int]],
) -> dict[str, Any]:
    """The ``extra_info`` of one benchmark (keys documented in :mod:`ipcbench.schema`).

    ``round_s`` are the timed rounds' durations in seconds, one per result.  Rounds of different
    trials may hold different batches (a later trial sizes its own when the first's runs short), so the
    rates come from the median time per message, the figure pytest-benchmark's statistics hold.  For
    the one-sided patterns a "message" is one operation, so ``msgs_per_s`` is operations/s.
    """
    n = results[-1].messages
    per_message_s = statistics.median(s / r.messages for r, s in zip(results, round_s, strict=True))
    cpus = machine.usable_cpus()
    info: dict[str, Any] = {"ipcbench_schema": schema.SCHEMA_VERSION, **scenario.fields()}
    info.update(
        messages=n,
        rounds=len(results),
        round_time_target_s=settings.round_time,
        round_s=list(round_s),
        msgs_per_s=1 / per_message_s,
        bytes_per_s=scenario.payload_bytes / per_message_s,
        worker_span_ns=int(statistics.median(r.span_ns for r in results)),
        cpus_usable=cpus,
        oversubscribed=scenario.oversubscribed(cpus),
        worker_affinity=affinity,
        pickle_protocol=pickle.DEFAULT_PROTOCOL if _pickles(scenario.mechanism) else None,
    )
    spec = specs.of(scenario.pattern)
    if spec.times is not None:
        # Every operation timed by itself (round trips, starts): their percentiles.
        info[spec.times] = percentiles([a for r in results for a in r.rtts])
    cpu = cpu_per_message(scenario, results)
    if cpu is not None:
        info["cpu_ns_per_msg"] = cpu
    # Pattern figures (e.g. lost_updates, updates_expected) are summed over the timed rounds.
    for key in results[-1].extra:
        info[key] = sum(r.extra.get(key, 0) for r in results)
    # Spread, round count and round length, from the rounds' own clock (pyperf-style checks).
    # Some rounds are as long as their operations make them (start-up): no target to fall short of.
    target = settings.round_time if spec.round_target else None
    warnings = stability.round_warnings(round_s, target=target)
    if scenario.oversubscribed(cpus):
        on = scenario.cpus(cpus)
        where = "one CPU (packed)" if scenario.placement == "packed" else f"{on} usable CPUs"
        warnings.append(f"oversubscribed: {scenario.processes} processes on {where}")
    if info.get("lost_updates"):
        warnings.append(f"lost updates: {info['lost_updates']} of {info['updates_expected']} (no lock)")
    info["warnings"] = warnings
    return info


def cpu_per_message(scenario: Scenario, results: Sequence[RoundResult]) -> float | None:
    """The workers' CPU time per message (operation), median over rounds; None where the work is not
    in the workers (start-up's is in the processes it starts)."""
    if not specs.of(scenario.pattern).cpu_time:
        return None
    return statistics.median(r.cpu_ns / r.messages for r in results)


def trial_record(
    scenario: Scenario,
    trial: Trial,
    results: Sequence[RoundResult],
    round_s: Sequence[float],
    pids: list[int],
) -> dict[str, Any]:
    """One entry of ``extra_info["trials"]``: one trial's own figures (keys in :mod:`ipcbench.schema`)."""
    n = results[-1].messages
    record: dict[str, Any] = {
        "trial": trial.index,
        "started_s": round(trial.started_s, 3),
        "rounds": len(results),
        "messages": n,
        "msgs_per_s": n / statistics.median(round_s),
        "worker_pids": pids,
    }
    spec = specs.of(scenario.pattern)
    if spec.per_operation:
        # The trial's own headline: the p50 of the operations it timed one by one.
        record[spec.headline] = percentiles([a for r in results for a in r.rtts]).get("p50")
    cpu = cpu_per_message(scenario, results)
    if cpu is not None:
        record["cpu_ns_per_msg"] = cpu
    return record


def _fault(scenario: Scenario, trial: int = 0) -> tuple[int, str] | None:
    """``IPCBENCH_FAULT=SCENARIO_ID[@TRIAL][=SIGNAL:ROLE]``: a test hook that signals one worker
    mid-round, in every trial of the scenario or only in trial ``TRIAL`` (0-based).

    It lets the tests check, through the real command line, what a user sees when a worker dies
    (default ``KILL:consumer``) or stalls (``STOP:consumer``).
    """
    spec = os.environ.get("IPCBENCH_FAULT", "")
    target, _, action = spec.partition("=")
    target, at, only = target.partition("@")
    if target != scenario.id or (at and only != str(trial)):
        return None
    sig, _, role = (action or "KILL:consumer").partition(":")
    return getattr(signal, f"SIG{sig.upper()}"), role or "consumer"


def _pickles(mechanism: str) -> bool:
    m = mechanisms.MECHANISMS.get(mechanism)
    return m is not None and m.carries == "objects"


def run_scenario(benchmark: Any, scenario: Scenario, settings: Settings, trial: Trial | None = None) -> None:
    """Start warm workers, calibrate the batch, time ``rounds`` verified rounds, describe them.

    pytest-benchmark times the workers' round only: the parent's preparation (splitting the batch,
    resetting what one-sided workers share) runs before its clock as pedantic's ``setup``, and the
    verification after it as ``teardown``; a failed check still fails the benchmark.  Its statistics
    are then rescaled to time per message (:func:`per_message`).

    One call is one ``trial`` with freshly started workers.  The first trial of a scenario calibrates
    the batch; later ones reuse it from the trial's log.  ``extra_info`` then describes every trial
    so far pooled, with one record per trial under ``trials``; the log keeps this trial's rounds for
    the next one only once it has succeeded.
    """
    trial = trial or Trial()
    log = trial.log
    benchmark.group = f"{scenario.pattern} {format_size(scenario.payload_bytes)}"
    timed: list[RoundResult] = []
    fault = _fault(scenario, trial.index)
    with Rig(scenario, settings) as rig:
        if log.batch is None:
            n = rig.sample_batch(rig.calibrate())
        else:
            n = log.batch
            # Fresh workers' first round pays one-off costs (connections, first-touch page faults),
            # as calibration's first round did in the first trial: untimed, it warms up.
            warm = rig.run_round(n)
            if specs.of(scenario.pattern).round_target and calibration.short(settings, warm, scenario):
                # The first trial sized the batch at a slower moment or placement: these workers would
                # time rounds under half the target, too short to trust.  Size it again.
                n = rig.sample_batch(rig.calibrate())

        def prepare() -> None:
            rig.prepare_round(n)

        def workers_round() -> None:
            if not rig.prepared:  # --benchmark-cprofile-loops runs the target without its setup
                rig.prepare_round(n)
            rig.release_round()
            if fault is not None:
                victim = next(w for w in rig.workers if w.role == fault[1])
                os.kill(victim.process.pid, fault[0])
            rig.collect_round()

        def verify() -> None:
            timed.append(rig.verify_round())

        # The host's speed on the workers' CPUs, just before and just after the timed rounds.
        readings = rig.canary()

        # Calibration's last round (a later trial: its first round) ran at the timed batch size: it
        # counts as one warm-up round.
        warmup = max(0, settings.warmup_rounds - 1)
        try:
            benchmark.pedantic(
                workers_round, setup=prepare, teardown=verify, rounds=settings.rounds, warmup_rounds=warmup
            )
            if rig.collected:  # --benchmark-disable runs the target once, without its teardown
                verify()
        except BaseException:
            # pytest-benchmark marks errors only for Exception; a Ctrl-C mid-round would leave a
            # benchmark with no rounds that breaks its JSON writer, losing every finished result.
            benchmark.has_error = True
            raise
        readings += rig.canary()
        affinity = rig.worker_affinity()
        placement = rig.placement
        pids = [w.process.pid for w in rig.workers]
    meta = getattr(benchmark, "stats", None)
    stats = getattr(meta, "stats", None)
    if stats:
        # Warm-up rounds come first and are not part of the figures.
        measured = timed[warmup : warmup + len(stats.data)]
        round_s = list(stats.data)
        per_message(meta, n)
    else:  # --benchmark-disable: pytest-benchmark kept no stats; use our own clock.
        measured = timed
        round_s = [r.elapsed_ns / 1e9 for r in measured]
    record = trial_record(scenario, trial, measured, round_s, pids)
    record.update(judge_speed(trial, readings))
    info = describe(scenario, settings, log.results + measured, log.round_s + round_s, affinity)
    info["placement_masks"] = placement
    info["trials"] = [*log.records, record]
    info.update(precision_info(scenario, trial, info["trials"]))
    benchmark.extra_info.update(info)
    # Timed rounds under half the target: the batch was sized at a slower moment (a trial the host
    # disturbed calibrated 144 messages for 4-worker faster_fifo, and the undisturbed trials after it
    # ran 1.7 ms rounds against 4 ms), or its rounds ran in a slower mode than these (4 latency
    # workers packed on one CPU: calibration rounds waited out time slices, timed ones at 2.5 times
    # the batch then lasted 1.9 ms against 4).  The next trial takes the batch these warm rounds at
    # the timed size say would last the target: calibrating again repeated the slow mode.
    short = specs.of(scenario.pattern).round_target and stability.short(round_s, settings.round_time)
    log.batch = calibration.grown(settings, n, statistics.median(round_s)) if short else n
    log.results += measured
    log.round_s += round_s
    log.records.append(record)
    log.done = info["trial_count"] == info["trials_planned"]
    if log.done:
        # No trial follows: the rounds (a latency scenario's every round trip) need not stay in memory.
        log.results.clear()


def judge_speed(trial: Trial, readings: Sequence[int]) -> dict[str, Any]:
    """A trial record's reading of the host's speed and whether the host disturbed the trial
    (:mod:`ipcbench.canary`); the reading then joins the run's, for the trials after it."""
    value = canary.trial_reading(readings)
    if value is None or trial.speed is None:
        return {"canary_ns": value} if value is not None else {}
    factor, disturbed = trial.speed.judge(value)
    trial.speed.add(value)
    return {"canary_ns": value, "canary_factor": factor, "disturbed": disturbed}


def precision_info(scenario: Scenario, trial: Trial, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How well the trials so far know the scenario's figure, and whether it needs more of them.

    ``trials_planned`` is the plan's cap (and its spares) until the scenario needs no more trials; then
    it is the trials run, so that a scenario stopped early reads as complete and one cut by
    ``--max-time`` does not.  Disturbed trials (:mod:`ipcbench.canary`) count towards neither the
    precision nor the plan while undisturbed ones remain.
    """
    clean = canary.undisturbed(records)
    known = clean if len(clean) > 1 else records
    reached = trials.precision([v for r in known if (v := trials.figure(scenario.pattern, r)) is not None])
    count = len(records)
    plan = trial.plan
    return {
        "trial_count": count,
        "trials_planned": count if plan.done(count, reached, len(clean)) else plan.items,
        "precision": reached,
        "precision_target": trial.precision,
    }


def per_message(meta: Any, n: int) -> None:
    """Make pytest-benchmark's statistics time per message: each round's duration divided by its batch.

    A round is one calibrated batch of ``n`` messages (operations, starts), and batches differ between
    mechanisms and runs, so time per round ranks nothing.  pytest-benchmark's own ``iterations`` mean
    exactly this: each datum is a round's duration over the ``iterations`` it ran; ``ops`` is then
    messages/s.  Its statistics are computed (and cached) from ``data``, so a fresh record is built.
    """
    fresh = type(meta.stats)()
    for d in meta.stats.data:
        fresh.update(d / n)
    meta.stats = fresh
    meta.iterations = n
