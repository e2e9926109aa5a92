"""Saved runs for the gate: one file, a directory of repeated runs, and the comparison of two of them.

Files are read through :func:`ipcbench.results.load_rows`, without pandas.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ipcbench import canary, fmt, host, progress, results
from ipcbench.gate import (
    NOISY,
    VERDICTS,
    CompareError,
    Figure,
    Judged,
    Pair,
    Rules,
    decide,
    figure_of,
    lonely,
    prepare,
)

#: A file whose host slowed at least this share of its trials gets a warning: on a 2-vCPU VM, the one
#: compare in ten that called 21 honest scenarios regressions had a side whose host slowed 71% of them.
DISTURBED_WARN = 0.5
#: The raw baseline mechanism that ``--normalize`` divides by.
REFERENCE_MECHANISM = "os_pipe"
#: Machine facts that make absolute figures incomparable when they differ.
MACHINE_KEYS = ("host", "cpu_model", "cores_logical", "cores_physical")
FACT_KEYS = (
    "host",
    "cpu_model",
    "cores_logical",
    "cores_physical",
    "python",
    "commit",
    "commit_time",
    "datetime",
    "complete",
    "profile",
)


@dataclasses.dataclass(frozen=True)
class Run:
    """One loaded results file (or a directory of them): its facts and its figures by scenario id."""

    path: str
    facts: Mapping[str, Any]
    figures: Mapping[str, Figure]
    rows: Mapping[str, Mapping[str, Any]]
    notes: tuple[str, ...] = ()
    #: What one sample is: a trial of one run, or (a directory of repeated runs) one run's figure.
    sample: str = "trials"
    #: The repeated runs a directory merged (empty for one file).
    parts: tuple[Run, ...] = ()

    def label(self) -> str:
        f = self.facts
        commit = fmt.commit(f.get("commit"), 10)
        return (
            f"{self.path} ({f.get('host')}, {f.get('cpu_model')}, {f.get('cores_logical')} CPUs, "
            f"Python {f.get('python')}, {commit}, {f.get('datetime')})"
        )


def load_run(path: str | Path) -> Run:
    """Through the one loader; duplicate scenarios keep the last and say so.

    Plain rows, not the loader's DataFrame: a figure needs a few fields of each row, and building a
    frame per file made loading a directory of quick runs cost ~0.2 s a file.
    """
    rows: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for row in results.load_rows([path]):
        sid = str(row["scenario"])
        if sid in rows:
            notes.append(f"{path}: {sid} appears more than once; the last one is used")
        rows[sid] = {str(k): v for k, v in row.items()}
    first = next(iter(rows.values()))
    facts = {k: first.get(k) for k in FACT_KEYS}
    if facts.get("complete") is False:
        notes.append(f"{path} is an incomplete run: what it lacks shows as new or gone")
    slowed, trials = canary.tally(rows.values())
    if trials and slowed >= DISTURBED_WARN * trials:
        notes.append(
            f"WARNING: the host slowed {slowed} of {trials} trials of {path} (see ipcbench.canary): the "
            "gate puts every trial on one host speed, but a run this disturbed is noisier than its "
            "readings can explain; rerun it on a quieter machine before trusting a verdict"
        )
    return Run(str(path), facts, {sid: figure_of(r) for sid, r in rows.items()}, rows, tuple(notes))


def load_side(path: str | Path) -> Run:
    """A results file, or a directory of repeated runs of the same code (every ``*.json`` in it).

    With a directory, each run's figure (its median of trials) is one sample.  Not every trial of every
    run pooled: trials of one run share that run's host state and build, so pooled trials would count a
    run's own offset as many independent samples and call honest differences between runs significant.
    """
    path = Path(path)
    if not path.is_dir():
        return load_run(path)
    files = sorted(path.glob("*.json"))
    if not files:
        raise CompareError(f"{path}: a directory without results files (*.json)")
    runs = []
    with progress.counting("compare", f"loading {path}: run", len(files)) as tick:
        for n, f in enumerate(files, 1):
            tick(n, f.name)
            runs.append(load_run(f))
    if len(runs) == 1:
        return runs[0]
    rows: dict[str, Mapping[str, Any]] = {}
    for run in runs:
        for sid, row in run.rows.items():
            rows.setdefault(sid, row)
    notes = [n for r in runs for n in r.notes]
    hosts = {str(r.facts.get("host")) for r in runs}
    if len(hosts) > 1:
        notes.append(f"{path}: its runs come from several hosts ({', '.join(sorted(hosts))})")
    notes.append(
        f"{path}: {len(runs)} runs; each scenario is judged on the runs' figures, one sample per run"
    )
    figures = merged([r.figures for r in runs])
    return Run(str(path), runs[0].facts, figures, rows, tuple(notes), sample="runs", parts=tuple(runs))


def merged(parts: Sequence[Mapping[str, Figure]]) -> dict[str, Figure]:
    """Per scenario: the median of the runs' figures, and each run's level as a sample: its median of
    the trials the host left alone (of all, if it disturbed every one), on one host speed when the
    parts were put on one (:mod:`ipcbench.host`)."""
    out: dict[str, Figure] = {}
    for sid in dict.fromkeys(sid for part in parts for sid in part):
        figs = [part[sid] for part in parts if sid in part]
        p99s = [f.p99 for f in figs if f.p99 is not None]
        out[sid] = dataclasses.replace(
            figs[0],
            value=statistics.median(f.value for f in figs),
            samples=tuple(f.steady for f in figs),
            p99=statistics.median(p99s) if p99s else None,
            hosts=(),
            disturbed=(),
        )
    return out


def machine_differences(a: Run, b: Run) -> list[str]:
    out = []
    for key in MACHINE_KEYS:
        x, y = a.facts.get(key), b.facts.get(key)
        if x != y and not (missing(x) and missing(y)):
            out.append(f"{key}: {x} vs {y}")
    return out


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _reference_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row.get("pattern"), row.get("payload_bytes"), row.get("processes"), row.get("start_method"))


def normalized(run: Run) -> tuple[dict[str, Figure], set[str]]:
    """Figures divided by the same run's os_pipe figure of the same pattern, payload, processes and start
    method; the set names the scenarios that have no such reference (left raw).  Repeated runs are
    normalized run by run, each by its own reference, and then merged."""
    if run.parts:
        each = [normalized(part) for part in run.parts]
        missing_any = set().union(*(m for _, m in each))
        both = merged([{k: v for k, v in figs.items() if k not in missing_any} for figs, _ in each])
        return {**run.figures, **both}, missing_any
    refs: dict[tuple[Any, ...], Figure] = {}
    for sid, row in run.rows.items():
        if row.get("mechanism") == REFERENCE_MECHANISM and row.get("producers") == row.get("consumers"):
            refs[_reference_key(row)] = run.figures[sid]
    out: dict[str, Figure] = {}
    lacking: set[str] = set()
    for sid, fig in run.figures.items():
        ref = refs.get(_reference_key(run.rows[sid]))
        if ref is None or ref.value <= 0:
            out[sid] = fig
            lacking.add(sid)
        else:
            out[sid] = fig.scaled(ref.value, f"x {REFERENCE_MECHANISM}")
    return out, lacking


@dataclasses.dataclass(frozen=True)
class Comparison:
    baseline: Run
    current: Run
    rules: Rules
    pairs: tuple[Pair, ...]
    machine: tuple[str, ...]
    notes: tuple[str, ...]
    normalize: bool = False

    @property
    def regressions(self) -> list[Pair]:
        return [p for p in self.pairs if p.regression]

    @property
    def family(self) -> int:
        """How many scenarios the family-wise decision covered (both sides, a test possible)."""
        return sum(p.p_value is not None for p in self.pairs)

    def counts(self) -> dict[str, int]:
        return {v: sum(p.verdict == v for p in self.pairs) for v in VERDICTS}

    def geometric_mean(self) -> float | None:
        """Of the slowdowns of every scenario in both runs (> 1: slower on the whole)."""
        logs = [math.log(p.slowdown) for p in self.pairs if p.slowdown and math.isfinite(p.slowdown)]
        return math.exp(statistics.fmean(logs)) if logs else None

    def rule_text(self) -> str:
        unit = self.baseline.sample  # "trials", or "runs" for directories of repeated runs
        runs = (
            f" plus a whole run's own share ({self.rules.run_sd * 100:g}% unless a config says)"
            if unit == "trials"
            else ""
        )
        return (
            f"regression = slower by more than the threshold ({self.rules.describe()}) AND significant: "
            f"one-sided t-test on the log per-{unit[:-1]} figures{runs} (each trial's figure on one "
            "host speed by the fixed loop its workers timed, where every trial saved one), each "
            "scenario's variance shrunk "
            f"towards the family's, Benjamini-Hochberg q < {self.rules.alpha:g} over the {self.family} "
            f"scenarios judged; a scenario whose figure moves more between reruns than its threshold is "
            f"{NOISY} and never gates"
        )


def compare_runs(base: Run, cur: Run, rules: Rules, normalize: bool = False) -> Comparison:
    if base.sample != cur.sample:
        raise CompareError(
            "compare a directory of repeated runs with another directory, or a file with a file "
            "(their samples are runs and trials, which do not mix)"
        )
    ids_b, ids_c = set(base.figures), set(cur.figures)
    if not ids_b & ids_c:
        raise CompareError(f"{base.path} and {cur.path} have no scenario in common")
    known = {
        str(r.get(k)) for run in (base, cur) for r in run.rows.values() for k in ("mechanism", "pattern")
    }
    rules.check_keys(known)
    notes = [*base.notes, *cur.notes]
    figs_b, figs_c = dict(base.figures), dict(cur.figures)
    raw: set[str] = set()
    if normalize:
        # A ratio to a mechanism of the same run already cancels the run's host: no readings needed.
        figs_b, miss_b = normalized(base)
        figs_c, miss_c = normalized(cur)
        raw = miss_b | miss_c
    else:
        figs_b, figs_c, put = on_one_host(base, cur)
        if put is not None:
            notes.append(f"host speed: {put.describe()}")
    order = sorted(ids_b | ids_c, key=_order)
    both = [sid for sid in order if sid in ids_b and sid in ids_c]
    judged: list[Judged] = []
    for sid in both:
        b, c = (base.figures[sid], cur.figures[sid]) if sid in raw else (figs_b[sid], figs_c[sid])
        # A file's samples are trials of one run: a whole run's own share of noise comes on top.
        run_sd = rules.run_sd_for(sid) if base.sample == "trials" else 0.0
        judged.append(prepare(b, c, rules.threshold_for(b.mechanism, b.pattern, sid), run_sd))
    decided = dict(zip(both, decide(judged, rules.alpha, base.sample), strict=True))
    pairs: list[Pair] = []
    for sid in order:
        if sid in decided:
            pair = decided[sid]
            if sid in raw:  # one side cannot be normalized: compared raw rather than mixing units
                why = f"raw: no {REFERENCE_MECHANISM} reference"
                pair = dataclasses.replace(pair, note="; ".join(filter(None, [why, pair.note])))
            pairs.append(pair)
        else:
            fig = figs_b[sid] if sid in ids_b else figs_c[sid]
            t = rules.threshold_for(fig.mechanism, fig.pattern, sid)
            pairs.append(lonely(fig, "gone" if sid in ids_b else "new", t))
    if normalize and raw:
        notes.append(
            f"--normalize: {len(raw)} scenario(s) lack a same-run {REFERENCE_MECHANISM} figure of the same "
            "pattern, payload, processes and start method on one side; those are compared raw"
        )
    return Comparison(
        base, cur, rules, tuple(pairs), tuple(machine_differences(base, cur)), tuple(notes), normalize
    )


def on_one_host(base: Run, cur: Run) -> tuple[dict[str, Figure], dict[str, Figure], host.Common | None]:
    """Both sides' figures on one host speed: a file's trials, or every trial of a directory's runs
    (then merged again, each run's level one sample)."""
    if base.sample == "trials":
        (b, c), put = host.common([base.figures, cur.figures])
        return b, c, put
    parts = [p.figures for p in (*base.parts, *cur.parts)]
    moved, put = host.common(parts)
    cut = len(base.parts)
    return merged(moved[:cut]), merged(moved[cut:]), put


def _order(sid: str) -> tuple[str, str]:
    parts = sid.split("-")
    return (parts[1] if len(parts) > 1 else "", sid)
