"""A comparison as text, Markdown or JSON: what changed first, sorted by size, then what could not be
judged; every scenario only on request (asv's ``--only-changed --sort``, pyperf's ``compare_to --table``
with its geometric mean)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ipcbench import fmt, table
from ipcbench.gate import NOISY, Pair
from ipcbench.runs import REFERENCE_MECHANISM, Comparison, Run, missing

HEADERS = ["scenario", "metric", "baseline", "current", "ratio", "q", "rerun ±", "MDC", "verdict", "note"]
#: Columns aligned right in the text and Markdown tables.
NUMERIC = range(2, 8)
VERDICT = HEADERS.index("verdict")


def fmt_value(value: float | None, unit: str) -> str:
    """A figure whose unit is in its own column: rates with an SI prefix (``244k``), times plain."""
    if value is None:
        return "-"
    return fmt.si(value) if unit.endswith("/s") else fmt.plain(value)


def _cells(p: Pair) -> list[str]:
    return [
        p.scenario,
        p.metric if p.metric == p.unit else f"{p.metric} {p.unit}",
        fmt_value(p.baseline, p.unit),
        fmt_value(p.current, p.unit),
        "-" if p.ratio is None else f"x{p.ratio:.2f}",
        "-" if p.q_value is None else fmt.p_value(p.q_value),
        _percent(p.spread),
        _percent(p.mdc),
        p.verdict.upper() if p.regression else "too noisy" if p.verdict == "noisy" else p.verdict,
        p.note,
    ]


def _percent(value: float | None) -> str:
    return "-" if value is None or math.isinf(value) else f"{value:.0f}%"


def sections(c: Comparison, show_all: bool) -> list[tuple[str, list[Pair]]]:
    """(title, pairs) in the order they are shown; empty sections are left out."""

    def size(p: Pair) -> float:
        return abs(math.log(p.slowdown)) if p.slowdown and math.isfinite(p.slowdown) else math.inf

    slower = sorted((p for p in c.pairs if p.verdict == "slower"), key=size, reverse=True)
    faster = sorted((p for p in c.pairs if p.verdict == "faster"), key=size, reverse=True)
    out = [
        ("changed, largest first", slower + faster),
        (NOISY, [p for p in c.pairs if p.verdict == "noisy"]),
        ("in one run only", [p for p in c.pairs if p.verdict in ("new", "gone")]),
    ]
    if show_all:
        out.append(("unchanged", [p for p in c.pairs if p.verdict == "same"]))
    return [(title, pairs) for title, pairs in out if pairs]


def summary(c: Comparison) -> str:
    counts = c.counts()
    text = f"{len(c.pairs)} scenarios: " + ", ".join(
        f"{n} {NOISY if v == 'noisy' else v}" for v, n in counts.items() if n
    )
    gm = c.geometric_mean()
    if gm is not None:
        text += f"\ngeometric mean of the slowdowns: x{gm:.3f} (> 1: slower on the whole)"
    if counts["noisy"]:
        text += (
            f"\n{counts['noisy']} {NOISY}: more trials or a larger threshold would judge them; "
            "ipcbench noise says what this machine can judge"
        )
    regs = c.regressions
    if regs:
        text += f"\nREGRESSION in {len(regs)}: " + ", ".join(p.scenario for p in regs)
    else:
        text += "\nno regression"
    return text


def warnings(c: Comparison) -> list[str]:
    out = []
    if c.machine:
        out.append(
            "WARNING: the two runs come from different machines (" + "; ".join(c.machine) + "): absolute "
            "figures do not carry across machines; consider --normalize"
        )
    return out + list(c.notes)


def _table(pairs: Sequence[Pair], markup: bool = False) -> table.Table:
    """The pairs of one section; ``markup``: a regression's verdict in bold (Markdown)."""
    rows = []
    for p in pairs:
        cells = _cells(p)
        if markup and p.regression:
            cells[VERDICT] = f"**{cells[VERDICT]}**"
        rows.append(tuple(cells))
    return table.Table(tuple(HEADERS), tuple(rows), align=table.aligned(HEADERS, NUMERIC))


def render_text(c: Comparison, show_all: bool = False) -> str:
    lines = [f"baseline: {c.baseline.label()}", f"current:  {c.current.label()}"]
    lines += [f"rule: {c.rule_text()}"]
    if c.normalize:
        lines.append(f"figures normalized by each run's own {REFERENCE_MECHANISM} figure")
    lines += warnings(c)
    for title, pairs in sections(c, show_all):
        lines += ["", f"{title} ({len(pairs)}):", table.text(_table(pairs))]
    if not show_all:
        lines += ["", "(--all lists the unchanged scenarios too)"]
    lines += ["", summary(c)]
    return "\n".join(lines)


def render_markdown(c: Comparison, show_all: bool = False) -> str:
    regs = c.regressions
    head = "### ipcbench compare: " + (f"{len(regs)} regression(s)" if regs else "no regression")
    lines = [head, ""]
    notes = warnings(c)
    lines += [
        f"> **{table.md_escape(w)}**" if w.startswith("WARNING") else f"> {table.md_escape(w)}" for w in notes
    ]
    if notes:
        lines.append("")
    lines += [
        f"- baseline: `{table.md_escape(c.baseline.label())}`",
        f"- current: `{table.md_escape(c.current.label())}`",
        f"- {table.md_escape(c.rule_text())}",
    ]
    for title, pairs in sections(c, show_all):
        lines += [
            "",
            f"#### {title} ({len(pairs)})",
            "",
            table.markdown(_table(pairs, markup=True)).rstrip("\n"),
        ]
    lines += ["", *summary(c).splitlines()]
    return "\n".join(lines)


def to_json(c: Comparison) -> dict[str, Any]:
    def run(r: Run) -> dict[str, Any]:
        return {"path": r.path, **{k: (None if missing(v) else v) for k, v in r.facts.items()}}

    return {
        "baseline": run(c.baseline),
        "current": run(c.current),
        "rules": {
            "alpha": c.rules.alpha,
            "threshold_percent": c.rules.default.percent,
            "thresholds": {t.key: t.percent for t in c.rules.specific},
            "scenario_thresholds": dict(c.rules.scenarios),
            "family": c.family,
            "sample": c.baseline.sample,
            "text": c.rule_text(),
        },
        "normalized": c.normalize,
        "machine_differences": list(c.machine),
        "notes": list(c.notes),
        "counts": c.counts(),
        "geometric_mean_slowdown": c.geometric_mean(),
        "regressions": [p.scenario for p in c.regressions],
        "pairs": [p.as_dict() for p in c.pairs],
    }
