"""The ipcbench layout inside pytest-benchmark JSON, and its version.

Saved runs are plain pytest-benchmark JSON, so ``pytest-benchmark compare`` keeps working.  ipcbench
adds its own fields to each benchmark's ``extra_info`` and stamps them with :data:`SCHEMA_VERSION`;
one loader (``ipcbench.results.load``) reads them and refuses versions it does not know.

History of :data:`SCHEMA_VERSION` (bump it, and teach the loader to upgrade or refuse, on any change
that changes a key's meaning or removes one; adding a key is not a change):

1. mechanism, pattern, processes, producers, consumers, payload_bytes, start_method, messages,
   rounds, msgs_per_s, bytes_per_s, rtt_ns (latency), worker_span_ns, cpus_usable, oversubscribed,
   worker_affinity, pickle_protocol, warnings.  Run level: ``ipcbench`` in the top level and in
   ``machine_info``.
   Keys added since, without a version change (adding is not a change):
   - pattern ``calibration`` (``ipcbench run --calibration``): ``calibrates``, ``calibrates_pattern``,
     ``metric``, ``harness``, ``handwritten``, ``ratio`` (harness / hand-written loop, 1.0 = free),
     ``ratio_worker_clock`` (throughput only);
   - ``machine_info["ipcbench"]["preflight"]``: load, governor, busy processes, CPUs vs processes;
   - ``machine_info["ipcbench"]``: ``ipcbench_version`` (the ipcbench that measured),
     ``ipcbench_commit`` and ``ipcbench_dirty`` (its git commit and whether its tree had uncommitted
     changes, when it ran from a clone; null for an installed copy).  Since then the machine facts
     (``load_avg`` among them), ``commit_info`` and the top-level ``datetime`` are taken when the
     benchmarks start, not when pytest-benchmark saves (older files hold save-time values);
   - top-level ``ipcbench``: ``max_time`` and ``not_run`` when ``--max-time`` cut a run short (or,
     with ``interrupted``, a stop signal); ``not_installed`` (scenario id -> why: an optional peer's
     module is missing; such a run is still complete) and ``account`` (how many scenarios ended
     ``measured``, ``not_installed``, ``not_run``, ``failed``).
   - ``placement`` (none, spread, packed) and ``placement_masks`` (worker name -> CPUs it was pinned
     to; empty for none);
   - patterns ``shared_state``, ``locks``, ``bulk``, ``startup``, whose "messages" are operations
     (``msgs_per_s`` is operations/s; ``consumers`` is 0); ``lost_updates`` and ``updates_expected``
     (``value_unlocked``, ``manager_value``: summed over the timed rounds); ``op_ns`` (startup:
     per-operation percentiles, same keys as ``rtt_ns``; lower is better).
2. pytest-benchmark's ``stats`` mean time per message (per operation for the one-sided patterns, per
   start for start-up): each round's duration divided by its batch, and ``stats.iterations`` is the
   batch, so ``ops`` is messages/s and ``pytest-benchmark compare`` ranks by it.  In version 1 they
   were seconds per round (a calibrated batch); the loader divides them by ``messages``.
   ``round_s``: the timed rounds' raw durations in seconds.  In ``rtt_ns``/``op_ns`` a tail
   percentile (p90, p99, p999) is null unless :data:`TAIL_MIN_SAMPLES` samples stand behind it;
   ``count`` says how many there were (the loader applies the same rule to version 1 files).
   Keys added since, without a version change:
   - trials: a scenario is measured in independent trials, each with freshly started workers,
     interleaved over the run; the file keeps one benchmark per scenario.  ``stats.data`` and
     ``round_s`` hold every timed round of every trial, and the top-level figures (``msgs_per_s``,
     ``rtt_ns``, ``op_ns``, ``cpu_ns_per_msg``, ``rounds``...) are computed over all trials pooled.
     ``trial_count``: trials saved; ``trials_planned``: trials the run planned (``--max-time`` may
     cut later ones; the run's top-level ``ipcbench["trials_cut"]`` lists such scenarios).
     ``trials``: one dict per trial, in trial order, with ``trial`` (0-based), ``started_s``
     (seconds since the run started, when the trial began), ``rounds``, ``messages`` (the batch of
     a round, the same in every trial: the first calibrates it), ``msgs_per_s`` (from the trial's
     median round; operations/s for one-sided patterns), ``worker_pids`` (its workers' pids: fresh
     in each trial), and where they apply ``rtt_p50_ns`` (latency: the trial's p50 round trip),
     ``op_p50_ns`` (startup: the trial's p50 per operation) and ``cpu_ns_per_msg``.
   - ``precision``: how well the trials know the scenario's figure: the half-width of the 95%
     confidence interval of the mean of the trials' log figures (``msgs_per_s``; latency
     ``rtt_p50_ns``; startup ``op_p50_ns``), as a fraction of the figure (0.1: ±10%); null with one
     trial.  ``precision_target``: the precision the run stopped trials at (the full profile, or
     ``--precision``), null for a fixed trial count.  A scenario stopped early has ``trials_planned``
     equal to ``trial_count``; one still short of its target at the cap has both at the cap.
   - ``cpu_ns_per_msg`` (every pattern but startup; also per trial): the CPU time (user + system)
     the workers spent per message (per round trip for latency, per operation for the one-sided
     patterns), median over rounds of the workers' summed CPU time over the round's batch.  Each
     worker reads its own CPU clock around its share of a round, verification excluded; every
     thread of the worker counts (a Queue's feeder thread, while the share runs).  It is not a
     steadier figure than the rate: a spinning channel burns CPU while it waits, and a faster run
     sleeps and wakes less per message, so it often moves against the rate.  Start-up has none:
     its work is done in the processes it starts.
   - per trial, the host's speed (:mod:`ipcbench.canary`): ``canary_ns``, the median time of a fixed
     pure-Python loop each worker ran on its own CPU just before and just after the trial's timed
     rounds; ``canary_factor``, that over the run's undisturbed reference so far (null while the
     reference has too few readings); ``disturbed``, true when the factor exceeded
     ``ipcbench.canary.DISTURBED``.  The gate judges every trial, each put on one host speed by its
     ``canary_ns`` (:mod:`ipcbench.host`); a scenario left with fewer than two undisturbed trials may
     have a spare one more (``--spares``), so ``trial_count`` may exceed the trials asked for.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

SCHEMA_VERSION = 2
#: Versions the loader reads (older ones are upgraded as it reads them).
READABLE_VERSIONS = (1, 2)

#: Keys every ipcbench benchmark carries in ``extra_info``.
REQUIRED_KEYS = (
    "ipcbench_schema",
    "scenario",
    "mechanism",
    "pattern",
    "processes",
    "payload_bytes",
    "start_method",
    "messages",
    "msgs_per_s",
    "bytes_per_s",
)

#: Latency percentiles, in nanoseconds, under ``extra_info["rtt_ns"]``.
RTT_KEYS = ("p50", "p90", "p99", "p999", "max")

#: A tail percentile needs ten samples beyond it: p90 100, p99 1,000, p99.9 10,000.  With fewer, the
#: p99.9 of 565 round trips would be their maximum and their p99 the 6th largest.
TAIL_MIN_SAMPLES = {"p90": 100, "p99": 1_000, "p999": 10_000}

#: Why a scenario was not measured when its mechanism's optional module is missing: the value of its
#: id in the top-level ``ipcbench["not_installed"]``, after the module's name.  Skipped, never failed.
NOT_INSTALLED = "not installed — pip install 'ipcbench[peers]'"


def not_installed_line(scenario_ids: Iterable[str]) -> str:
    """``not installed — pip install 'ipcbench[peers]': zmq (15 scenarios)``, by mechanism."""
    counts = collections.Counter(scenario_id.split("-", 1)[0] for scenario_id in scenario_ids)
    return f"{NOT_INSTALLED}: " + ", ".join(f"{m} ({n} scenarios)" for m, n in counts.items())
