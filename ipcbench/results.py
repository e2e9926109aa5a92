"""The one loader of saved runs: pytest-benchmark JSON with ipcbench fields -> a tidy DataFrame.

Every consumer (report, compare, history, export) reads results through :func:`load`, which either
returns one row per benchmark or raises :class:`LoadError` with one sentence that names the file and
what is wrong with it.  pandas is imported here, never by ``import ipcbench``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipcbench import schema, specs
from ipcbench.scenario import shape_label

if TYPE_CHECKING:
    import pandas as pd

#: Scenario columns: together they identify a benchmark across runs.
SCENARIO_COLUMNS = (
    "mechanism",
    "pattern",
    "processes",
    "producers",
    "consumers",
    "payload_bytes",
    "start_method",
    "placement",
)
#: pytest-benchmark stats copied into columns: seconds per message (operation, start), see
#: :mod:`ipcbench.schema` version 2; ``rounds`` is a count.
STAT_COLUMNS = ("min", "max", "mean", "stddev", "median", "iqr", "q1", "q3", "rounds")


class LoadError(ValueError):
    """A results file that cannot be read; the message is one line meant for the user."""


def _fail(path: Path, why: str) -> LoadError:
    return LoadError(f"{path}: {why}")


def read_json(path: Path) -> dict[str, Any]:
    """Read and check one file's outer structure (no pandas needed)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, "is a directory, not a results file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if not text.strip():
        raise _fail(path, "is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        body = text.strip()
        cut = body[:1] in "{[" and body[-1:] not in "}]"
        what = "is truncated JSON (was the run cut short?)" if cut else "is not JSON"
        raise _fail(path, f"{what} (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise _fail(path, "is not pytest-benchmark JSON (no 'benchmarks' list)")
    if not isinstance(data.get("machine_info", {}), dict):
        raise _fail(path, "is not pytest-benchmark JSON ('machine_info' is not an object)")
    return data


def _number(path: Path, where: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, f"{where} is not a finite number ({value!r})")
    if positive and value <= 0:
        raise _fail(path, f"{where} must be positive ({value!r})")
    return float(value)


def _check_benchmark(path: Path, i: int, bench: Any) -> dict[str, Any] | None:
    """A flat row for one ipcbench benchmark, None for a foreign (non-ipcbench) one."""
    if not isinstance(bench, dict):
        raise _fail(path, f"benchmark #{i} is not an object")
    info = bench.get("extra_info")
    if not isinstance(info, dict) or "ipcbench_schema" not in info:
        return None
    version = info["ipcbench_schema"]
    if version not in schema.READABLE_VERSIONS:
        raise _fail(
            path,
            f"benchmark #{i} has ipcbench schema {version!r}; this ipcbench reads versions "
            f"{', '.join(map(str, schema.READABLE_VERSIONS))} (upgrade ipcbench, or re-run the benchmarks)",
        )
    missing = [k for k in schema.REQUIRED_KEYS if k not in info]
    if missing:
        raise _fail(path, f"benchmark #{i} lacks ipcbench field(s) {', '.join(missing)}")
    stats = bench.get("stats")
    if not isinstance(stats, dict):
        raise _fail(path, f"benchmark #{i} ({info['scenario']}) has no stats")
    row: dict[str, Any] = {"scenario": str(info["scenario"])}
    for key in SCENARIO_COLUMNS:
        if key == "placement":
            # Runs from before placement existed were not pinned.
            row[key] = str(info.get(key, "none"))
        elif key in ("mechanism", "pattern", "start_method"):
            if not isinstance(info.get(key), str):
                raise _fail(path, f"benchmark #{i} field {key} is not a string ({info.get(key)!r})")
            row[key] = info[key]
        elif key in info:
            # One-sided patterns (shared_state, locks, bulk, startup) have no consumers.
            positive = key != "consumers" or info.get(key) != 0
            row[key] = int(_number(path, f"benchmark #{i} field {key}", info[key], positive=positive))
    row.setdefault("producers", row["processes"] // 2)
    row.setdefault("consumers", row["processes"] - row["producers"])
    row["shape"] = shape_label(row["producers"], row["consumers"])
    for key in ("messages", "msgs_per_s", "bytes_per_s"):
        row[key] = _number(path, f"benchmark #{i} field {key}", info[key], positive=True)
    for key in STAT_COLUMNS:
        if key in stats:
            # Round times: the median must be positive for a rate to exist; the others non-negative.
            value = _number(path, f"benchmark #{i} stats.{key}", stats[key], positive=key == "median")
            if value < 0:
                raise _fail(path, f"benchmark #{i} stats.{key} is negative ({value!r})")
            row[key] = value
    if "median" not in row:
        raise _fail(path, f"benchmark #{i} ({info['scenario']}) has no median in its stats")
    data = stats.get("data")
    if data is not None:
        if not isinstance(data, list):
            raise _fail(path, f"benchmark #{i} stats.data is not a list")
        row["data"] = [_number(path, f"benchmark #{i} stats.data", x, positive=True) for x in data]
    else:
        row["data"] = None
    if version == 1:
        # Version 1 kept seconds per round, each round a batch of ``messages``: per message now.
        for key in STAT_COLUMNS:
            if key in row and key != "rounds":
                row[key] /= row["messages"]
        if row["data"] is not None:
            row["data"] = [x / row["messages"] for x in row["data"]]
    rtt = info.get("rtt_ns")
    if info["pattern"] == "latency" and (
        not isinstance(rtt, dict) or any(k not in rtt for k in schema.RTT_KEYS)
    ):
        raise _fail(path, f"benchmark #{i} ({info['scenario']}) lacks rtt_ns percentiles")
    # Every pattern's per-operation percentiles, each under its own prefix (``rtt_p50_ns``, ``op_p50_ns``).
    for key in dict.fromkeys(spec.times for spec in specs.SPECS.values() if spec.times):
        if isinstance(info.get(key), dict):
            row.update(_percentile_columns(path, f"benchmark #{i} {key}", info[key], key.removesuffix("_ns")))
    for key in ("lost_updates", "updates_expected"):
        if key in info:
            row[key] = int(_number(path, f"benchmark #{i} field {key}", info[key]))
    row["oversubscribed"] = bool(info.get("oversubscribed", False))
    warnings = info.get("warnings") or []
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise _fail(path, f"benchmark #{i} field warnings is not a list of strings")
    row["warnings"] = warnings
    row["extra_info"] = info
    return row


def _percentile_columns(path: Path, where: str, figures: dict[str, Any], prefix: str) -> dict[str, float]:
    """``{prefix}_{key}_ns`` columns, NaN for a tail percentile without enough samples behind it
    (null in the file, or, in files from before that rule, a count below it); ``{prefix}_count``."""
    count = figures.get("count")
    out: dict[str, float] = {}
    if count is not None:
        out[f"{prefix}_count"] = _number(path, f"{where}.count", count)
    for k, v in figures.items():
        if k == "count":
            continue
        short = count is not None and count < schema.TAIL_MIN_SAMPLES.get(k, 0)
        out[f"{prefix}_{k}_ns"] = math.nan if v is None or short else _number(path, f"{where}.{k}", v)
    return out


def _run_fields(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    def obj(parent: dict[str, Any], key: str) -> dict[str, Any]:
        value = parent.get(key)
        return value if isinstance(value, dict) else {}

    def names(value: Any) -> list[str]:
        return [str(v) for v in value] if isinstance(value, list) else []

    machine = obj(data, "machine_info")
    facts, cpu = obj(machine, "ipcbench"), obj(machine, "cpu")
    commit, run = obj(data, "commit_info"), obj(data, "ipcbench")
    load = facts.get("load_avg")
    load_1m = (
        _number(path, "machine_info.ipcbench.load_avg[0]", load[0])
        if isinstance(load, list) and load
        else None
    )
    return {
        "file": str(path),
        "datetime": data.get("datetime"),
        "host": machine.get("node"),
        "cpu_model": facts.get("cpu_model") or cpu.get("brand_raw"),
        "cores_logical": facts.get("cores_logical"),
        "cores_physical": facts.get("cores_physical"),
        "python": facts.get("python") or machine.get("python_version"),
        "commit": commit.get("id"),
        "commit_time": commit.get("time"),
        # The ipcbench that measured (older files lack it).
        "ipcbench_version": facts.get("ipcbench_version"),
        "ipcbench_commit": facts.get("ipcbench_commit"),
        "ipcbench_dirty": facts.get("ipcbench_dirty"),
        "complete": run.get("complete", True),
        "profile": run.get("profile"),
        # Optional facts the report shows; older or hand-made files may lack them.
        "cpus_usable": facts.get("cpus_usable"),
        "load_1m": load_1m,
        "start_methods": ", ".join(names(facts.get("start_methods"))) or None,
        "default_start_method": facts.get("default_start_method"),
        "platform": facts.get("platform") or machine.get("system"),
        "failed": names(run.get("failed")),
        "not_run": names(run.get("not_run")),
        # Scenarios of optional peers whose module was missing: skipped, not failed (absent in old files).
        "not_installed": names(list(obj(run, "not_installed"))),
        "wall_s": run.get("wall_s"),
    }


def load_rows(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Rows without pandas, for light consumers."""
    rows: list[dict[str, Any]] = []
    paths = list(paths)
    if not paths:
        raise LoadError("no results files given")
    for p in paths:
        path = Path(p)
        data = read_json(path)
        run = _run_fields(path, data)
        found = 0
        for i, bench in enumerate(data["benchmarks"]):
            row = _check_benchmark(path, i, bench)
            if row is not None:
                found += 1
                rows.append({**run, "run": path.stem, **row})
        if not found:
            raise _fail(path, "holds no ipcbench benchmarks (pytest-benchmark JSON of something else)")
    return rows


def load(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One tidy row per benchmark of every file, or :class:`LoadError`.

    Columns: the run (``file``, ``run``, ``datetime``, ``host``, ``cpu_model``, ``cores_logical``,
    ``python``, ``commit``, ``ipcbench_version``, ``ipcbench_commit``, ``ipcbench_dirty``, ``complete``,
    ``cpus_usable``, ``load_1m``, ``start_methods``, ``default_start_method``, ``platform``, ``failed``,
    ``not_run``, ``not_installed``, ``wall_s``), the scenario
    (``scenario``, :data:`SCENARIO_COLUMNS` and ``shape`` such as ``4p-3to1``),
    ``messages`` (the batch of one round), ``msgs_per_s``, ``bytes_per_s``, the stats in seconds per
    message (:data:`STAT_COLUMNS`), ``data`` (seconds per message of each round, or None),
    ``rtt_p50_ns`` .. ``rtt_max_ns`` for latency (NaN where too few round trips stand behind a
    percentile) and ``rtt_count``, the same ``op_*`` for start-up,
    ``oversubscribed``, ``warnings`` and the raw ``extra_info``.
    """
    import pandas as pd

    return pd.DataFrame(load_rows(paths))
