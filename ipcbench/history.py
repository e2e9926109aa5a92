"""``ipcbench history RESULTS_DIR``: the key figures of many saved runs over time, and where they stepped.

Runs are ordered by the time of the commit they measured, then by when they ran.  For every scenario
the figure that matters (msgs/s for throughput, the p50 round trip for latency, one start for start-up;
the same :func:`ipcbench.compare.figure_of` that the gate uses) is followed from run to run.

Step detection, simple on purpose so that anyone can check it by eye: a *step* is at run ``i`` when
the median of runs ``i .. i+k-1`` is worse than the median of runs ``i-k .. i-1`` by more than the
threshold, *and* the median of every run from ``i`` to the latest is worse by more than the threshold
too (the figure stepped down and stayed down; a bad patch that recovered is not a step).  Of
neighbouring runs that all qualify, the one with the largest change (the earliest of equals) is
reported.  Medians of ``k`` runs make one noisy run unable to cause or hide a step.

And, as ``compare`` judges, the step must be significant: each run is one sample (its median of the
trials the host left alone, or of all if it disturbed every one, each trial put on one host speed by
the reading beside it, see :mod:`ipcbench.host`; the medians rule reads those too), the runs before
``i`` are tested against the runs from ``i`` on (one-sided, on log figures), that p is multiplied by
the number of places a step could have been (Bonferroni over the splits), and Benjamini-Hochberg
decides over every scenario with enough runs at ``--alpha``.  Honest runs of unchanged code differ by
more than a 10% threshold all the time; without this the medians rule alone finds steps in them.

The test is judged beside each run's host level (the median reading of all its trials), by least
squares on both (:func:`ipcbench.stats.step_given`): on days the host grew busier run by run, some
figures (start-up, four workers sharing a counter on two CPUs) slowed by more than their trials' own
readings said, and ten honest runs of one such day showed 11 steps judged without it, 1 with it.  A
step that comes exactly where the host's level stepped is not told apart from it, and not called.
Runs without readings are judged by Student's t alone.

Writes ``index.html`` (self-contained: the charts are embedded), ``history.md`` and one PNG per
mechanism.  matplotlib (Agg) and pandas load only inside the command.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ipcbench import errors, fmt, host, progress, results, stats, table
from ipcbench.axes import log_axis
from ipcbench.compare import add_alpha_option, add_threshold_option
from ipcbench.errors import EXIT_OK
from ipcbench.gate import CompareError, Figure, Rules, costs, rules_from, slowdown
from ipcbench.runs import Run, load_run

DEFAULT_WINDOW = 3


@dataclasses.dataclass(frozen=True)
class Step:
    scenario: str
    mechanism: str
    metric: str
    unit: str
    #: Index of the first run after the step.
    index: int
    before: float
    after: float
    #: Slowdown factor (> 1 is worse, for every metric's direction).
    slowdown: float
    threshold: float
    #: The test's p, times the number of splits the series allowed, and after the family's adjustment.
    p_value: float = 1.0
    q_value: float = 1.0


def detect_steps(
    values: Sequence[float], higher_is_better: bool, threshold_pct: float, k: int
) -> list[tuple[int, float, float, float]]:
    """``(i, median before, median after, slowdown)`` for each step (rule in the module docstring)."""
    factor = 1 + threshold_pct / 100
    hits: list[tuple[int, float, float, float]] = []
    for i in range(k, len(values) - k + 1):
        before = statistics.median(values[i - k : i])
        after = statistics.median(values[i : i + k])
        rest = statistics.median(values[i:])
        r = slowdown(before, after, higher_is_better)
        if r > factor and slowdown(before, rest, higher_is_better) > factor:
            hits.append((i, before, after, r))
    steps: list[tuple[int, float, float, float]] = []
    last = -2
    for hit in hits:
        if hit[0] == last + 1 and steps:
            if hit[3] > steps[-1][3]:
                steps[-1] = hit
        else:
            steps.append(hit)
        last = hit[0]
    return steps


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _order_key(run: Run) -> tuple[dt.datetime, dt.datetime, str]:
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    ran = _time(run.facts.get("datetime")) or never
    return (_time(run.facts.get("commit_time")) or ran, ran, run.path)


def load_runs(directory: Path) -> tuple[list[Run], list[str]]:
    """Every readable run in the directory, in order; unreadable files are skipped and named."""
    if not directory.is_dir():
        raise CompareError(f"{directory}: not a directory of results")
    runs, skipped = [], []
    files = sorted(directory.glob("*.json"))
    with progress.counting("history", "loading run", len(files)) as tick:
        for n, path in enumerate(files, 1):
            tick(n, path.name)
            try:
                runs.append(load_run(path))
            except (results.LoadError, CompareError) as exc:
                skipped.append(str(exc))
    if not runs:
        why = f" ({len(skipped)} unreadable, e.g. {skipped[0]})" if skipped else ""
        raise CompareError(f"{directory}: no readable results files{why}")
    return sorted(runs, key=_order_key), skipped


def series(runs: Sequence[Run], one_host: bool = True) -> dict[str, list[tuple[int, Figure]]]:
    """Scenario id -> (run index, figure) for the runs that have it.  With ``one_host``, every run's
    trials put on one host speed (:mod:`ipcbench.host`), as a step is judged (by each figure's
    ``steady`` level); the charts, which draw the figures as measured, need not."""
    out: dict[str, list[tuple[int, Figure]]] = {}
    maps = [run.figures for run in runs]
    moved = host.common(maps)[0] if one_host else maps
    for i, figures in enumerate(moved):
        for sid, fig in figures.items():
            out.setdefault(sid, []).append((i, fig))
    return out


def step_p_value(series: Sequence[Figure], i: int, k: int, hosts: Sequence[float | None] = ()) -> float:
    """One-sided p that the runs from ``i`` on are worse than the runs before it, times the number of
    splits a series of this length allows (``len - 2k + 1``).

    With every run's host level (:func:`ipcbench.host.run_level`), the step is judged beside it: a
    step the host's own change explains as well is not one.
    """
    up = series[0].higher_is_better
    y = costs([f.steady for f in series], up)
    if len(hosts) == len(series) and all(h is not None for h in hosts):
        fit = stats.step_given(y, [n >= i for n in range(len(y))], [h for h in hosts if h is not None])
        if fit is None:
            return 1.0
        step, se, df = fit
        # An exact fit (no error left): the step's sign alone decides.
        p = stats.t_sf(step / se, df) if se > 0 else (0.0 if step > 0 else 1.0)
    else:
        test = stats.t_test(y[:i], y[i:])
        if test is None:
            return 1.0
        p = test.p_greater()
    return min(1.0, p * (len(series) - 2 * k + 1))


def find_steps(runs: Sequence[Run], rules: Rules, k: int) -> list[Step]:
    """Candidate steps by the medians rule, kept when significant after the family's control."""
    candidates: dict[str, list[Step]] = {}
    levels = [host.run_level(run.figures) for run in runs]
    for sid, points in sorted(series(runs).items()):
        if len(points) < 2 * k:
            continue
        first = points[0][1]
        t = rules.threshold_for(first.mechanism, first.pattern, sid).percent
        figs = [f for _, f in points]
        values = [f.steady for f in figs]
        candidates[sid] = [
            Step(
                sid,
                first.mechanism,
                first.metric,
                first.unit,
                points[pos][0],
                before,
                after,
                r,
                t,
                step_p_value(figs, pos, k, [levels[n] for n, _ in points]),
            )
            for pos, before, after, r in detect_steps(values, first.higher_is_better, t, k)
        ]
    # The family: every scenario with enough runs for a step; one hypothesis each, its best candidate.
    sids = list(candidates)
    best = [min((s.p_value for s in candidates[sid]), default=1.0) for sid in sids]
    q_values = stats.benjamini_hochberg(best)
    accepted = [p for p, q in zip(best, q_values, strict=True) if q is not None and q < rules.alpha]
    cut = max(accepted, default=-1.0)
    return [
        dataclasses.replace(s, q_value=q or 1.0)
        for sid, q in zip(sids, q_values, strict=True)
        for s in candidates[sid]
        if s.p_value <= cut
    ]


def run_label(i: int, run: Run) -> str:
    return f"#{i} {fmt.commit(run.facts.get('commit'))}"


#: Inches around each panel: its title above; the run labels, turned 60°, and the x ticks below.
PANEL_HEIGHT, PANEL_TOP, PANEL_BOTTOM, PANEL_LEFT, PANEL_RIGHT, FIG_WIDTH = 3.2, 0.35, 0.75, 0.65, 0.15, 9.0


def charts(runs: Sequence[Run], steps: Sequence[Step]) -> dict[str, bytes]:
    """One PNG per mechanism: a panel per metric, a line per scenario, steps marked.

    Fixed margins instead of a layout engine, and tick labels in plain text instead of mathtext: on
    a quick run's 34 mechanisms, solving the layout and typesetting ``10^5`` took most of the time.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as Canvas

    by_mech: dict[str, dict[str, list[tuple[str, list[tuple[int, Figure]]]]]] = {}
    for sid, points in sorted(series(runs, one_host=False).items()):
        fig0 = points[0][1]
        by_mech.setdefault(fig0.mechanism, {}).setdefault(_metric_label(fig0), []).append((sid, points))
    marks = {(s.scenario, s.index) for s in steps}
    labels = [run_label(i, r) for i, r in enumerate(runs)]
    out: dict[str, bytes] = {}
    for n, (mech, panels) in enumerate(by_mech.items(), 1):
        progress.step("history", "chart", n, len(by_mech), mech)
        height = PANEL_HEIGHT * len(panels)
        fig = Canvas(figsize=(FIG_WIDTH, height))
        axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
        fig.subplots_adjust(
            left=PANEL_LEFT / FIG_WIDTH,
            right=1 - PANEL_RIGHT / FIG_WIDTH,
            top=1 - PANEL_TOP / height,
            bottom=PANEL_BOTTOM / height,
            hspace=(PANEL_TOP + PANEL_BOTTOM) / (PANEL_HEIGHT - PANEL_TOP - PANEL_BOTTOM),
        )
        for ax, (metric, lines) in zip(axes, sorted(panels.items()), strict=True):
            for sid, points in lines:
                label = sid.removeprefix(f"{mech}-")
                xs, ys = [i for i, _ in points], [f.value for _, f in points]
                ax.plot(xs, ys, marker="o", markersize=3, label=label)
                hit = [(i, f.value) for i, f in points if (sid, i) in marks]
                if hit:
                    ax.plot(*zip(*hit, strict=True), "v", color="red", markersize=10, zorder=5)
            ax.set_title(f"{mech}: {metric}", y=1.0, pad=6)  # a fixed place: no search around the ticks
            log_axis(ax, "y")
            ax.set_xticks(range(len(runs)), labels, rotation=60, fontsize=6, ha="right")
            ax.legend(fontsize=6, loc="best")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        out[mech] = buf.getvalue()
    return out


def _metric_label(fig: Figure | Step) -> str:
    return fig.metric if fig.metric == fig.unit else f"{fig.metric} ({fig.unit})"


def _fmt(value: float) -> str:
    return fmt.si(value)


def _steps(steps: Sequence[Step], runs: Sequence[Run]) -> table.Table:
    rows = [
        (
            s.scenario,
            _metric_label(s),
            run_label(s.index, runs[s.index]),
            _fmt(s.before),
            _fmt(s.after),
            f"{(s.slowdown - 1) * 100:+.0f}% slower",
            fmt.p_value(s.q_value),
        )
        for s in steps
    ]
    return table.Table(STEP_HEADERS, tuple(rows), align=table.aligned(STEP_HEADERS, range(3, 7)))


STEP_HEADERS = ("scenario", "metric", "from run", "median before", "median after", "change", "q")
RUN_HEADERS = ("run", "file", "host", "commit time", "ran")


def _runs(runs: Sequence[Run]) -> table.Table:
    rows = [
        (
            run_label(i, r),
            Path(r.path).name,
            str(r.facts.get("host")),
            str(r.facts.get("commit_time")),
            str(r.facts.get("datetime")),
        )
        for i, r in enumerate(runs)
    ]
    return table.Table(RUN_HEADERS, tuple(rows))


def rule_text(rules: Rules, k: int) -> str:
    return (
        f"A step is at run i when the median of runs i..i+{k - 1} is worse than the median of runs "
        f"i-{k}..i-1 by more than the threshold ({rules.describe()}) and the median of every run from i "
        "to the latest is worse by more than the threshold too (it stepped down and stayed down), and "
        "the runs from i on are significantly worse than the runs before it (one-sided test on the log "
        "figures, one sample per run, judged beside each run's host speed where runs saved it, times "
        f"the number of possible splits; Benjamini-Hochberg q < {rules.alpha:g} over every scenario with "
        f"{2 * k} runs or more). "
        "Worse means fewer msgs/s or ops/s, or a longer round trip or start-up."
    )


def render_markdown(
    runs: Sequence[Run],
    steps: Sequence[Step],
    skipped: Sequence[str],
    rules: Rules,
    k: int,
    images: Sequence[str],
) -> str:
    lines = ["# ipcbench history", "", f"{len(runs)} runs, oldest first. {rule_text(rules, k)}", ""]
    if len(runs) < 2 * k:
        lines += [f"Too few runs for step detection (it needs at least {2 * k}).", ""]
    lines += [f"## Steps ({len(steps)})", ""]
    lines += [table.markdown(_steps(steps, runs)).rstrip("\n")] if steps else ["No step found."]
    lines += ["", "## Charts", ""] + [f"![{Path(p).stem}]({p})" for p in images]
    lines += ["", "## Runs", "", table.markdown(_runs(runs)).rstrip("\n")]
    if skipped:
        lines += ["", "## Skipped (unreadable)", ""] + [f"- {s}" for s in skipped]
    return "\n".join(lines) + "\n"


def render_html(
    runs: Sequence[Run],
    steps: Sequence[Step],
    skipped: Sequence[str],
    rules: Rules,
    k: int,
    pngs: dict[str, bytes],
) -> str:
    e = table.escape
    parts = [f"<p>{len(runs)} runs, oldest first. {e(rule_text(rules, k))}</p>"]
    if len(runs) < 2 * k:
        parts.append(f"<p>Too few runs for step detection (it needs at least {2 * k}).</p>")
    parts.append(f"<h2>Steps ({len(steps)})</h2>")
    parts.append(table.html(_steps(steps, runs)) if steps else "<p>No step found.</p>")
    parts.append("<h2>Charts</h2>")
    for mech, png in pngs.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<h3>{e(mech)}</h3><img alt="{e(mech)} trend" src="data:image/png;base64,{data}">')
    parts += ["<h2>Runs</h2>", table.html(_runs(runs))]
    if skipped:
        parts += ["<h2>Skipped (unreadable)</h2><ul>"] + [f"<li>{e(s)}</li>" for s in skipped] + ["</ul>"]
    return table.page("ipcbench history", parts)


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("directory", metavar="RESULTS_DIR", type=Path, help="a directory of results JSON files")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("report/history"),
        metavar="DIR",
        help="where to write index.html, history.md and the charts (default report/history)",
    )
    add_threshold_option(p, "a step")
    add_alpha_option(p)
    p.add_argument(
        "--window",
        type=int,
        default=DEFAULT_WINDOW,
        metavar="K",
        help=f"runs on each side of a step whose medians are compared (default {DEFAULT_WINDOW})",
    )
    return p


def cmd_history(args: argparse.Namespace) -> int:
    try:
        if args.window < 1:
            raise CompareError(f"--window must be at least 1, not {args.window}")
        rules = rules_from(None, args.threshold, args.alpha)
        runs, skipped = load_runs(args.directory)
        rules.check_keys(
            {str(getattr(f, k)) for r in runs for f in r.figures.values() for k in ("mechanism", "pattern")}
        )
        steps = find_steps(runs, rules, args.window)
        out: Path = args.output
        out.mkdir(parents=True, exist_ok=True)
        pngs = charts(runs, steps)
        names = []
        for mech, png in pngs.items():
            (out / f"{mech}.png").write_bytes(png)
            names.append(f"{mech}.png")
        (out / "history.md").write_text(
            render_markdown(runs, steps, skipped, rules, args.window, names), encoding="utf-8"
        )
        (out / "index.html").write_text(
            render_html(runs, steps, skipped, rules, args.window, pngs), encoding="utf-8"
        )
    except CompareError as exc:
        return errors.usage("history", exc)
    except OSError as exc:
        return errors.usage("history", f"cannot write {args.output}: {exc.strerror or exc}")
    for why in skipped:
        print(f"ipcbench history: skipped {why}", file=sys.stderr)
    print(f"{len(runs)} runs, {len(steps)} step(s); wrote {out / 'index.html'} and {out / 'history.md'}")
    for s in steps:
        print(
            f"  step: {s.scenario} {s.metric} at {run_label(s.index, runs[s.index])}: "
            f"{_fmt(s.before)} -> {_fmt(s.after)} {s.unit} ({(s.slowdown - 1) * 100:+.0f}% slower)"
        )
    return EXIT_OK
