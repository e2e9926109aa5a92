"""``ipcbench compare BASELINE CURRENT``: the regression gate's command line.

The statistics live in :mod:`ipcbench.stats`, the rules and verdicts in :mod:`ipcbench.gate`, the runs
and their comparison in :mod:`ipcbench.runs`, the tables in :mod:`ipcbench.render`.  Exit status: 0 no
regression, 1 a regression, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ipcbench import errors, results
from ipcbench.errors import EXIT_OK, EXIT_REGRESSION
from ipcbench.gate import (
    DEFAULT_ALPHA,
    DEFAULT_THRESHOLD,
    VERDICTS,
    CompareError,
    Figure,
    Threshold,
    figure_of,
    parse_threshold,
    rules_from,
    slowdown,
    threshold_arg,
)
from ipcbench.render import render_markdown, render_text, to_json
from ipcbench.runs import REFERENCE_MECHANISM, compare_runs, load_side

__all__ = ["VERDICTS", "CompareError", "Figure", "Threshold", "figure_of", "parse_threshold", "slowdown"]


def alpha_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"alpha must be between 0 and 1, not {text}")
    return value


def add_threshold_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--threshold [NAME=]PCT``, shared by ``compare`` and ``history``."""
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        type=threshold_arg,
        metavar="[NAME=]PCT",
        help=f"how much slower is {what} (default {DEFAULT_THRESHOLD:g}%%); NAME=PCT for one pattern "
        "or mechanism (a mechanism's beats a pattern's); repeatable",
    )


def add_alpha_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--alpha",
        type=alpha_arg,
        default=None,
        help=f"the family's error rate: the chance that two runs of the same code are called different "
        f"anywhere (default {DEFAULT_ALPHA:g})",
    )


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument(
        "baseline",
        metavar="BASELINE",
        help="results JSON of the reference run (tested trial by trial), or a directory of repeated runs "
        "(tested run by run)",
    )
    p.add_argument("current", metavar="CURRENT", help="results JSON of the run to judge, or a directory")
    add_threshold_option(p, "a regression")
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML: alpha, threshold, [thresholds] NAME = PCT, [scenarios] ID = PCT (ipcbench noise -o)",
    )
    add_alpha_option(p)
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument(
        "--all", action="store_true", help="list the unchanged scenarios too, not only what changed"
    )
    p.add_argument(
        "--normalize",
        action="store_true",
        help=f"divide each figure by the same run's {REFERENCE_MECHANISM} figure (compare across machines)",
    )
    p.add_argument(
        "--strict-machine",
        action="store_true",
        help="different machines are an error (exit 2), not a warning",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="print the comparison and exit 0 even on regression (2 still means unusable input)",
    )
    return p


def cmd_compare(args: argparse.Namespace) -> int:
    try:
        rules = rules_from(args.config, args.threshold, args.alpha)
        base, cur = load_side(args.baseline), load_side(args.current)
        comparison = compare_runs(base, cur, rules, args.normalize)
    except (results.LoadError, CompareError) as exc:
        return errors.usage("compare", exc)
    if comparison.machine:
        if args.strict_machine:
            machines = "; ".join(comparison.machine)
            return errors.usage(
                "compare", f"--strict-machine: the runs come from different machines ({machines})"
            )
        print(
            "ipcbench compare: WARNING: different machines: " + "; ".join(comparison.machine), file=sys.stderr
        )
    if args.format == "json":
        print(json.dumps(to_json(comparison), indent=2))
    elif args.format == "markdown":
        print(render_markdown(comparison, args.all))
    else:
        print(render_text(comparison, args.all))
    if comparison.regressions and not args.report_only:
        names = ", ".join(p.scenario for p in comparison.regressions)
        print(f"ipcbench compare: regression in {names}", file=sys.stderr)
        return EXIT_REGRESSION
    return EXIT_OK
