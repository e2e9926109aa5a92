"""The report's first section: what the figures were measured on, and the reasons to distrust some.

pandas is imported by the caller: this module only reads the prepared frame.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ipcbench import canary, schema
from ipcbench.frame import num
from ipcbench.stability import SPREAD_WARN
from ipcbench.table import Table

if TYPE_CHECKING:
    import pandas as pd

#: A machine whose 1-minute load at start is at least this share of its usable CPUs is "loaded".
LOAD_WARN = 0.5


def machine_table(df: pd.DataFrame) -> Table:
    """One column per run: what the figures were measured on."""
    runs = df.drop_duplicates("file")

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return str(value)

    def cores(r: Any) -> str:
        return f"{cell(r['cores_physical'])} physical / {cell(r['cores_logical'])} logical"

    def load(r: Any) -> str:
        load = num(r["load_1m"])
        return "—" if load is None else f"{load:.2f} (1-minute average)"

    def commit(r: Any) -> str:
        return cell(r["commit"])[:12]

    def made_by(r: Any) -> str:
        # A clone's commit, and "modified" when its tree had uncommitted changes; None in older files.
        source = cell(r.get("ipcbench_commit"))[:12]
        if source != "—" and r.get("ipcbench_dirty") is True:
            source += ", modified"
        return cell(r.get("ipcbench_version")) + ("" if source == "—" else f" ({source})")

    def state(r: Any) -> str:
        if r["complete"]:
            return "complete"
        missing = len(r["failed"]) + len(r["not_run"])
        return f"INCOMPLETE ({missing} scenarios missing)"

    fields: list[tuple[str, Any]] = [
        ("host", lambda r: cell(r["host"])),
        ("when", lambda r: cell(r["datetime"])),
        ("CPU model", lambda r: cell(r["cpu_model"])),
        ("cores", cores),
        ("usable CPUs", lambda r: cell(r["cpus_usable"])),
        ("Python", lambda r: cell(r["python"])),
        ("platform", lambda r: cell(r["platform"])),
        (
            "start methods",
            lambda r: f"{cell(r['start_methods'])} (default {cell(r['default_start_method'])})",
        ),
        ("load at start", load),
        ("commit", commit),
        ("ipcbench", made_by),
        ("profile", lambda r: cell(r["profile"])),
        ("benchmarks", lambda r: str(int((df["file"] == r["file"]).sum()))),
        ("run state", state),
        ("file", lambda r: cell(r["file"])),
    ]
    rows = tuple((name, *(fn(r) for _, r in runs.iterrows())) for name, fn in fields)
    headers = ("", *(str(s) for s in runs["series"].str.split(" · ").str[0]))
    return Table(headers, rows)


def not_installed(df: pd.DataFrame) -> list[str]:
    """One line per run that skipped optional peers because their module was missing (no warning:
    the run is complete without them)."""
    out: list[str] = []
    runs = df.drop_duplicates("file")
    for _, r in runs.iterrows():
        ids = r["not_installed"]
        if not ids:
            continue
        where = f" in {r['file']}" if len(runs) > 1 else ""
        out.append(f"Not measured{where}, {schema.not_installed_line(ids)}.")
    return out


#: What each placement means for the figures, said once on the page rather than on every benchmark.
PLACEMENT_TEXT = {
    "packed": (
        "every worker of a scenario pinned to one CPU, where they take turns: the figures are the work "
        "of one CPU, steadier between reruns than any other placement (which is why quick runs, which "
        "gate pull requests, use it), not what cores in parallel reach; measure with --placement none "
        "or spread for that"
    ),
    "spread": "workers pinned one per CPU in turn",
    "none": "workers placed by the operating system",
}


def placements(df: pd.DataFrame) -> list[str]:
    """One line per placement the results hold, when any of them was pinned."""
    if "placement" not in df:
        return []
    found = [str(p) for p in df["placement"].dropna().unique()]
    if found == ["none"]:
        return []
    return [f"Placement {p}: {PLACEMENT_TEXT.get(p, p)}." for p in sorted(found)]


def warnings(df: pd.DataFrame) -> list[str]:
    """The reasons to distrust some figures, most serious first."""
    out: list[str] = []
    for _, r in df.drop_duplicates("file").iterrows():
        if not r["complete"]:
            missing = [*r["failed"], *r["not_run"]]
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            out.append(
                f"Incomplete run {r['file']}: {len(missing)} scenarios have no figures"
                + (f" ({shown})" if shown else "")
                + "."
            )
        cpus = num(r["cpus_usable"]) or num(r["cores_logical"])
        load = num(r["load_1m"])
        if load is not None and cpus and load >= LOAD_WARN * cpus:
            out.append(
                f"Loaded machine: {r['host']} had a 1-minute load of {load:.2f} on {cpus:.0f} CPUs when "
                f"{r['file']} started; other work shared the CPUs and slowed some figures."
            )
    if "extra_info" in df and (slowed := canary.summary([{"extra_info": x} for x in df["extra_info"]])):
        out.append(f"Host disturbed: {slowed}; the figures here pool every trial's rounds.")
    over = df[df["oversubscribed"]]
    if len(over):
        out.append(
            f"Oversubscribed: {len(over)} of {len(df)} benchmarks ran more processes than the CPUs "
            "their placement gave them "
            f"(up to {int(over['processes'].max())} processes); they measure contention as much as IPC."
        )
    high = df[df["spread"] >= SPREAD_WARN]
    if len(high):
        worst = high.sort_values("spread").iloc[-1]
        out.append(
            f"High spread: in {len(high)} of {len(df)} benchmarks the time per message of their rounds "
            f"(every trial's, pooled) has a standard deviation of {SPREAD_WARN:.0%} or more of its median "
            f"(worst {worst['spread']:.0%}, {worst['scenario']}); differences smaller than the spread are "
            "not findings."
        )
    return out
