"""``ipcbench noise RESULTS...``: how much this machine's figures move, and what the gate can detect here.

From repeated runs of the same code (or one run's trials), per scenario:

* the spread of its trials within a run (the standard deviation of log figures, which is close to the
  coefficient of variation), pooled over the runs;
* with two runs or more, what whole runs add: the runs' means of trials vary by more than their trials
  predict when a run as a whole is lucky or not (placement, the host's state), and the trials of one
  compare cannot see that;
* the smallest change a compare of two files with ``--trials`` trials a side can call significant on
  this machine, both kinds of noise included, at the gate's ``alpha`` for a lone change among the family
  of every scenario (as :func:`ipcbench.stats.mdc`);
* a threshold: that change with a margin of 20% for the spread of a pair's own estimate of its noise
  (so that the scenario is judged, not called too noisy, in most compares), and so that a whole run's
  luck does not pass for a regression.

With ``--repeats K`` the change and the threshold are those of a compare of two *directories* of ``K``
runs a side, as the pull-request script runs them: its samples are whole runs (each run's level, on one
host speed), so their spread is measured directly, as the spread of the given runs' levels, and needs
three runs or more.  Two directories resolve far smaller changes than two files, and thresholds sized
for files would let a directory compare pass what it could have caught.

``-o FILE`` writes the thresholds as the TOML that ``compare --config FILE`` reads (``[scenarios]``), and,
from two runs or more, what whole runs add (``[run_sds]``), which a compare of two files cannot see.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import statistics
from collections.abc import Sequence
from pathlib import Path

from ipcbench import errors, host, results, stats
from ipcbench.errors import EXIT_OK
from ipcbench.gate import DEFAULT_ALPHA, CompareError, Figure, costs, percent
from ipcbench.runs import load_run

#: A pair's own noise estimate from 5 + 5 trials varies by ~25%; the threshold leaves this much room.
MARGIN = 1.2
#: ``--repeats``: runs needed to measure the spread of whole runs' levels.
LEAST_RUNS = 3


@dataclasses.dataclass(frozen=True)
class Noise:
    scenario: str
    metric: str
    runs: int
    trials: int
    #: Standard deviations of log figures: trials within a run (pooled), and what whole runs add beyond
    #: what their trials predict (None with one run).
    trial_sd: float
    run_sd: float | None
    #: Percent slower: what a compare of two files can resolve on this machine, drift included.
    mdc: float
    threshold: float


def estimate(figs: Sequence[Figure], n_trials: int, level: float, repeats: int | None = None) -> Noise:
    """One scenario's noise from its figure in each run (each figure's samples are its trials); what a
    compare of two files of ``n_trials`` resolves, or of two directories of ``repeats`` runs."""
    first = figs[0]
    groups = [costs(f.samples, first.higher_is_better) for f in figs]
    trial_sd, df = stats.pooled_sd(groups)
    if df < 1:
        raise CompareError(f"{first.scenario}: one figure per run and one run: no spread to measure")
    run_sd = None
    if len(groups) >= 2:
        # The runs' means vary by their trials' share (sd² / n) plus whatever whole runs add.
        means = [statistics.fmean(g) for g in groups]
        predicted = trial_sd**2 * statistics.fmean(1 / len(g) for g in groups)
        run_sd = math.sqrt(max(0.0, statistics.variance(means) - predicted))
    if repeats is None:
        # Two files' difference of means: each side's trials, and each side's whole-run offset.  A
        # compare given this file knows both spreads as measured here, over every run's trials (``df``
        # of them), not from its own few trials: the gate's test with these as its variance.
        mdc = percent(stats.mdc(trial_sd, df, n_trials, n_trials, level, run_sd or 0.0))
    else:
        # A directory's sample is each run's level, as compare merges them (ipcbench.runs.merged).
        levels = costs([f.steady for f in figs], first.higher_is_better)
        if len(levels) < LEAST_RUNS:
            raise CompareError(f"{first.scenario}: in {len(levels)} run(s); --repeats needs {LEAST_RUNS}")
        mdc = percent(stats.mdc(statistics.stdev(levels), len(levels) - 1, repeats, repeats, level))
    threshold = max(1, math.ceil(min(mdc * MARGIN, 1e6)))
    return Noise(
        first.scenario,
        first.metric,
        len(figs),
        sum(len(f.samples) for f in figs),
        trial_sd,
        run_sd,
        mdc,
        threshold,
    )


def measure(
    paths: Sequence[Path], alpha: float, n_trials: int | None, repeats: int | None = None
) -> tuple[list[Noise], int]:
    """Per scenario in every file; the trial count the estimates are for (given, or the files')."""
    if repeats is not None and len(paths) < LEAST_RUNS:
        raise CompareError(
            f"--repeats: the spread of whole runs needs {LEAST_RUNS} runs or more, not {len(paths)}"
        )
    # Every run's trials on one host speed, as the gate judges them (ipcbench.host).
    moved, _ = host.common([load_run(p).figures for p in paths])
    by_sid: dict[str, list[Figure]] = {}
    for figures in moved:
        for sid, fig in figures.items():
            by_sid.setdefault(sid, []).append(fig)
    counts = [len(f.samples) for figs in by_sid.values() for f in figs]
    n = n_trials or max(2, round(statistics.median(counts)))
    level = alpha / max(len(by_sid), 1)
    out = []
    for figs in by_sid.values():
        try:
            out.append(estimate(figs, n, level, repeats))
        except CompareError:
            continue
    if not out:
        raise CompareError("no scenario has a spread to measure: give runs with trials, or several runs")
    return out, n


def sides(n: int, repeats: int | None) -> str:
    """What the figures are for: ``two files of 3 trials`` or ``two directories of 5 runs``."""
    return f"two files of {n} trials" if repeats is None else f"two directories of {repeats} runs"


def to_toml(
    noise: Sequence[Noise], alpha: float, n: int, sources: Sequence[Path], repeats: int | None = None
) -> str:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    lines = [
        f"# ipcbench noise, {now}, from {len(sources)} file(s): {', '.join(p.name for p in sources)}",
        f"# thresholds for compares of {sides(n, repeats)} at alpha {alpha:g} over {len(noise)} scenarios:",
        f"# each the smallest change a compare resolves here (trials, whole runs' luck) x {MARGIN:g}.",
        "# Per scenario: trial spread, what whole runs add, the resolvable change.",
        f"alpha = {alpha!r}",
        "",
        "[scenarios]",
    ]
    for x in noise:
        run = "-" if x.run_sd is None else f"{x.run_sd * 100:.1f}%"
        lines.append(f"# {x.trial_sd * 100:.1f}% trials, {run} runs, resolves {x.mdc:.0f}%")
        lines.append(f'"{x.scenario}" = "{x.threshold}%"')
    measured = [(x.scenario, x.run_sd) for x in noise if x.run_sd is not None]
    if measured:
        # What a whole run adds, measured: compares of two files use it instead of the default guess.
        lines += ["", "[run_sds]"]
        lines += [f'"{sid}" = "{run_sd * 100:.2f}%"' for sid, run_sd in measured]
    return "\n".join(lines) + "\n"


def render(noise: Sequence[Noise], n: int, alpha: float, repeats: int | None = None) -> str:
    headers = ["scenario", "metric", "runs", "trials", "trial sd", "run sd", "resolves", "threshold"]
    rows = [headers] + [
        [
            x.scenario,
            x.metric,
            str(x.runs),
            str(x.trials),
            f"{x.trial_sd * 100:.1f}%",
            "-" if x.run_sd is None else f"{x.run_sd * 100:.1f}%",
            f"{x.mdc:.0f}%",
            f"{x.threshold}%",
        ]
        for x in sorted(noise, key=lambda x: x.threshold)
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    body = [
        "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    thresholds = [x.threshold for x in noise]
    return "\n".join(
        [
            f"{len(noise)} scenarios; a compare of {sides(n, repeats)} at alpha {alpha:g} (a lone change "
            f"among {len(noise)}) resolves, per scenario, the change shown; spreads are of log figures (~CV)",
            *body,
            f"median threshold {statistics.median(thresholds):g}%; {sum(t <= 10 for t in thresholds)} of "
            f"{len(thresholds)} scenarios can be judged at 10%",
        ]
    )


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="results JSON of repeated runs")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the thresholds (TOML) here")
    p.add_argument(
        "--alpha", type=float, default=DEFAULT_ALPHA, help=f"the gate's family error rate ({DEFAULT_ALPHA:g})"
    )
    p.add_argument(
        "--trials", type=int, default=None, help="trials a side the compares will have (default: the files')"
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        metavar="K",
        help="size for compares of two directories of K runs a side (the PR script's REPEATS), not files",
    )
    return p


def cmd_noise(args: argparse.Namespace) -> int:
    try:
        if not 0 < args.alpha < 1:
            raise CompareError(f"--alpha must be between 0 and 1, not {args.alpha}")
        if args.trials is not None and args.trials < 2:
            raise CompareError(f"--trials must be at least 2, not {args.trials}")
        if args.repeats is not None and args.repeats < 2:
            raise CompareError(f"--repeats must be at least 2, not {args.repeats}")
        noise, n = measure(args.results, args.alpha, args.trials, args.repeats)
        if args.output:
            text = to_toml(noise, args.alpha, n, args.results, args.repeats)
            args.output.write_text(text, encoding="utf-8")
    except (results.LoadError, CompareError) as exc:
        return errors.usage("noise", exc)
    except OSError as exc:
        return errors.usage("noise", f"cannot write {args.output}: {exc.strerror or exc}")
    print(render(noise, n, args.alpha, args.repeats))
    if args.output:
        print(f"wrote {args.output} (ipcbench compare --config {args.output})")
    return EXIT_OK
