"""``ipcbench export``: a saved run in the formats of the trackers people already use.

* ``github-action-benchmark``: its custom tools, a list of ``{name, unit, value, extra}``.  One file is
  one tool, so ``--measure throughput`` (the default) writes msgs/s for ``customBiggerIsBetter`` and
  ``--measure latency`` writes the p50 in µs for ``customSmallerIsBetter``.  Its ``pytest`` tool
  tracks pytest-benchmark's ``ops``: messages/s from ipcbench schema 2 on (a batch/s before).
* ``bencher``: Bencher Metric Format, ``{name: {measure: {value, lower_value, upper_value}}}`` with
  the ``throughput`` measure (msgs/s; bounds: the slowest and fastest round) for throughput scenarios and
  ``latency`` (ns; bounds: the minimum and the p99 round trip) for latency and start-up scenarios.

Without ``-o`` (or with ``-o -``) the JSON goes to standard output and nothing else does, so a pipe or
``bencher run --adapter json "ipcbench export …"`` reads it as it is; messages go to standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ipcbench import errors, fmt, results, specs, storage
from ipcbench.errors import EXIT_OK
from ipcbench.gate import CompareError, figure_of

FORMATS = ("github-action-benchmark", "bencher")
MEASURES = ("throughput", "latency")


def _rows(path: str) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in results.load([path]).to_dict("records")]


def _context(row: Mapping[str, Any]) -> str:
    commit = str(row.get("commit") or "")[:10]
    return (
        f"host: {row.get('host')}, {row.get('cpu_model')}, {row.get('cores_logical')} CPUs; commit {commit}"
    )


def github_action_benchmark(rows: Sequence[Mapping[str, Any]], measure: str) -> list[dict[str, Any]]:
    """Entries for ``customBiggerIsBetter`` (throughput) or ``customSmallerIsBetter`` (latency)."""
    out = []
    for row in rows:
        fig = figure_of(row)
        if fig.higher_is_better != (measure == "throughput"):
            continue
        data = row.get("data")
        rounds = len(data) if isinstance(data, list) else int(row.get("rounds") or 0)
        extra = [f"rounds: {rounds}"]
        if fig.higher_is_better and specs.of(fig.pattern).sized:
            extra.append(f"bytes/s: {fmt.si(float(row['bytes_per_s']))}")
        if fig.p99 is not None:
            extra.append(f"p99: {fmt.plain(fig.p99)} {fig.unit}")
        if row.get("oversubscribed"):
            extra.append("oversubscribed")
        extra.append(_context(row))
        out.append({"name": fig.scenario, "unit": fig.unit, "value": fig.value, "extra": "\n".join(extra)})
    return out


def bencher(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Bencher Metric Format: throughput in msgs/s, latency in ns."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        fig = figure_of(row)
        if fig.higher_is_better:
            lo, hi = (min(fig.samples), max(fig.samples)) if fig.samples else (fig.value, fig.value)
            metric = {
                "value": fig.value,
                "lower_value": min(lo, fig.value),
                "upper_value": max(hi, fig.value),
            }
            out[fig.scenario] = {"throughput": metric}
        else:
            # Times in their spec's unit (µs, ms) back to the nanoseconds they were saved in.
            spec = specs.of(fig.pattern)
            value = fig.value / spec.scale
            low = row.get(spec.percentile("min") or "")
            high = fig.p99 / spec.scale if fig.p99 is not None else value
            lower = float(low) if isinstance(low, int | float) and low == low else value
            out[fig.scenario] = {
                "latency": {"value": value, "lower_value": min(lower, value), "upper_value": max(high, value)}
            }
    return out


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("results", metavar="RESULTS", help="a results JSON file")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument(
        "--measure",
        choices=MEASURES,
        default="throughput",
        help="github-action-benchmark only: throughput (customBiggerIsBetter, default) or latency "
        "(customSmallerIsBetter)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="file to write (new; never overwritten); '-' or none: standard output, for pipes and "
        "tools that read a command's output (bencher run --adapter json)",
    )
    return p


def _write_stdout(data: Any) -> None:
    """The JSON alone on standard output, so ``| python -m json.tool`` or a tracker reads it as is."""
    try:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise  # the reader left: the CLI's own handler ends quietly
    except OSError as exc:
        raise storage.StorageError(f"cannot write to standard output: {exc.strerror or exc}") from None


def cmd_export(args: argparse.Namespace) -> int:
    try:
        rows = _rows(args.results)
        data: Any = bencher(rows) if args.format == "bencher" else github_action_benchmark(rows, args.measure)
        if not data:
            raise CompareError(f"{args.results} has no {args.measure} scenarios")
        if args.output in (None, "-"):
            _write_stdout(data)
        else:
            storage.check_writable(Path(args.output))
            storage.write_new(Path(args.output), data)
    except (results.LoadError, CompareError, storage.StorageError) as exc:
        return errors.usage("export", exc)
    where = "standard output" if args.output in (None, "-") else args.output
    # On stderr: standard output may be the export itself.
    print(f"wrote {len(data)} benchmarks ({args.format}) to {where}", file=sys.stderr)
    return EXIT_OK
