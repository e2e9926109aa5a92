"""How much of a run is harness overhead: time outside the timed rounds, as a share of the whole.

Two views:

* ``python3 tools/overhead.py [selection]`` drives each scenario the way ``ipcbench.runner`` does,
  through the :class:`~ipcbench.harness.Rig` API, and times every phase from outside: worker start,
  calibration, warm-up, the timed rounds (and, inside them, the start/stop signalling, i.e. the parent's
  clock minus the workers' span), verification and bookkeeping after each round, teardown.
* ``python3 tools/overhead.py --run RESULTS.json`` reads a saved ``ipcbench run``: the sum of its timed
  rounds against the run's wall time (which also holds pytest's start-up and the preflight).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ipcbench import cli
from ipcbench.harness import HarnessError, Rig, Settings
from ipcbench.scenario import Scenario, ScenarioError

PHASES = (
    "worker start",
    "calibration",
    "warm-up rounds",
    "timed rounds: IPC (worker span)",
    "timed rounds: start/stop signalling",
    "verification and bookkeeping",
    "affinity lookup",
    "teardown",
)


def measure(scenario: Scenario, settings: Settings) -> dict[str, float]:
    """Seconds spent in each phase of one scenario, as ``ipcbench.runner.run_scenario`` goes through them."""
    out = dict.fromkeys(PHASES, 0.0)
    clock = time.perf_counter
    rig = Rig(scenario, settings)
    try:
        t = clock()
        rig.start()
        out["worker start"] = clock() - t
        t = clock()
        n = rig.sample_batch(rig.calibrate())
        out["calibration"] = clock() - t
        t = clock()
        for _ in range(settings.warmup_rounds):
            rig.run_round(n)
        out["warm-up rounds"] = clock() - t
        for _ in range(settings.rounds):
            t = clock()
            result = rig.run_round(n)
            wall = clock() - t
            out["timed rounds: IPC (worker span)"] += result.span_ns / 1e9
            out["timed rounds: start/stop signalling"] += max(0, result.elapsed_ns - result.span_ns) / 1e9
            out["verification and bookkeeping"] += wall - result.elapsed_ns / 1e9
        t = clock()
        rig.worker_affinity()
        out["affinity lookup"] = clock() - t
    finally:
        t = clock()
        rig.close()
        out["teardown"] = clock() - t
    return out


def table(totals: dict[str, float], whole: float) -> str:
    width = max(len(k) for k in totals)
    lines = [f"{'phase':<{width}}  {'seconds':>8}  {'share':>6}"]
    for key, value in totals.items():
        lines.append(f"{key:<{width}}  {value:8.3f}  {value / whole:6.1%}")
    lines.append(f"{'whole (wall)':<{width}}  {whole:8.3f}  {1:6.1%}")
    return "\n".join(lines)


def from_rig(args: argparse.Namespace) -> int:
    try:
        # The same selection options as 'ipcbench run', parsed the same way.
        scenarios = cli.selected(args)
        round_time, rounds = {"quick": (0.02, 5), "full": (0.1, 15)}[args.profile]
        settings = Settings(round_time=args.round_time or round_time, rounds=args.rounds or rounds)
    except (ScenarioError, cli.UsageError) as exc:
        print(f"overhead: error: {exc}", file=sys.stderr)
        return 2
    totals = dict.fromkeys(PHASES, 0.0)
    t0 = time.perf_counter()
    for s in scenarios:
        try:
            for key, value in measure(s, settings).items():
                totals[key] += value
        except HarnessError as exc:
            print(f"overhead: {s.id} failed: {exc}", file=sys.stderr)
            return 1
    whole = time.perf_counter() - t0
    timed = totals["timed rounds: IPC (worker span)"]
    print(
        f"{len(scenarios)} scenarios, {settings.rounds} rounds of ~{settings.round_time * 1000:.0f} ms each"
    )
    print(table(totals, whole))
    print(f"harness overhead (everything but the IPC inside timed rounds): {1 - timed / whole:.1%}")
    return 0


def from_run(path: Path) -> int:
    try:
        data = json.loads(path.read_text())
        wall = float(data["ipcbench"]["wall_s"])
        # Each datum is a round's duration over its batch (``iterations``; 1 in old files).
        timed = sum(sum(b["stats"]["data"]) * b["stats"].get("iterations", 1) for b in data["benchmarks"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"overhead: error: {path}: not a saved ipcbench run with round data ({exc})", file=sys.stderr)
        return 2
    print(f"{len(data['benchmarks'])} benchmarks; timed rounds {timed:.2f} s of {wall:.2f} s wall")
    print(f"harness overhead (everything outside timed rounds): {1 - timed / wall:.1%}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="overhead.py", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--run", type=Path, metavar="JSON", help="read a saved ipcbench run instead of measuring")
    cli.add_selection(p)
    p.add_argument("--rounds", type=int)
    p.add_argument("--round-time", type=float)
    args = p.parse_args(argv)
    return from_run(args.run) if args.run else from_rig(args)


if __name__ == "__main__":
    sys.exit(main())
