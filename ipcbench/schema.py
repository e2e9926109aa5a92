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
   - top-level ``ipcbench``: ``max_time`` and ``not_run`` when ``--max-time`` cut a run short.
   - ``placement`` (none, spread, packed) and ``placement_masks`` (worker name -> CPUs it was pinned
     to; empty for none);
   - patterns ``shared_state``, ``locks``, ``bulk``, ``startup``, whose "messages" are operations
     (``msgs_per_s`` is operations/s; ``consumers`` is 0); ``lost_updates`` and ``updates_expected``
     (``value_unlocked``, ``manager_value``: summed over the timed rounds); ``op_ns`` (startup:
     per-operation percentiles, same keys as ``rtt_ns``; lower is better).
"""

SCHEMA_VERSION = 1

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
