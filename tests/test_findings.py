"""What the report says, on small hand-made frames: the recommendation, crossovers, the cost model and
per-operation arithmetic."""

from __future__ import annotations

import pytest
from synthetic import frame

from ipcbench import catalog, findings, fmt


def cells(table: findings.Table, column: str) -> list[str]:
    i = table.headers.index(column)
    return [row[i] for row in table.rows]


def tp(mechanism: str, rate: float, **more: object) -> dict[str, object]:
    return {"mechanism": mechanism, "pattern": "throughput", "msgs_per_s": rate, **more}


# --- the recommendation -------------------------------------------------------------------------------


def test_kinds_name_baselines_and_hand_made_channels() -> None:
    kinds = {name: e.kind for name, e in catalog.entries().items()}
    assert {n for n, k in kinds.items() if k == catalog.BASELINE} == {"os_pipe", "socketpair", "memcpy"}
    assert {n for n, k in kinds.items() if k == catalog.HAND_MADE} == {"shm_ring", "shm_numpy"}
    assert kinds["queue"] == kinds["faster_fifo"] == kinds["lock"] == catalog.IMPORTABLE


def test_recommendation_names_only_importable_mechanisms() -> None:
    df = frame(
        tp("shm_ring", 480_000),
        tp("socketpair", 300_000),
        tp("os_pipe", 260_000),
        tp("pipe_bytes", 200_000),
        tp("queue", 100_000),
    )
    best, refs = findings.recommendations(df)
    assert cells(best, "fastest") == ["pipe_bytes"]
    assert cells(best, "vs runner-up") == ["2× vs queue"]
    assert "shm_ring" not in best.lead and "pipe_bytes is fastest in 1 of 1" in best.lead
    by_name = dict(zip(cells(refs, "reference"), cells(refs, "vs fastest"), strict=True))
    assert by_name == {
        "shm_ring": "2.4× faster than pipe_bytes",
        "socketpair": "1.5× faster than pipe_bytes",
        "os_pipe": "1.3× faster than pipe_bytes",
    }
    assert dict(zip(cells(refs, "reference"), cells(refs, "kind"), strict=True))["shm_ring"] == "hand-made"


def test_latency_references_compare_round_trips() -> None:
    lat = {"pattern": "latency"}
    df = frame(
        {"mechanism": "pipe_bytes", "rtt_p50_ns": 40_000, **lat},
        {"mechanism": "os_pipe", "rtt_p50_ns": 80_000, **lat},
    )
    best, refs = findings.recommendations(df)
    assert cells(best, "fastest") == ["pipe_bytes"]
    assert cells(refs, "vs fastest") == ["2× slower than pipe_bytes"]


def test_placements_are_never_one_median() -> None:
    df = frame(
        tp("pipe_bytes", 200_000, placement="none"),
        tp("queue", 100_000, placement="none"),
        tp("pipe_bytes", 50_000, placement="spread"),
        tp("queue", 150_000, placement="spread"),
    )
    assert df["series"].nunique() == 2
    best, _ = findings.recommendations(df)
    assert sorted(zip(cells(best, "run"), cells(best, "fastest"), strict=True)) == [
        ("box 2026-01-01 00:00 · placement none", "pipe_bytes"),
        ("box 2026-01-01 00:00 · placement spread", "queue"),
    ]


# --- crossovers ---------------------------------------------------------------------------------------


def test_a_crossover_is_found_between_the_sizes_where_the_order_flips() -> None:
    df = frame(
        tp("pipe", 100_000, payload_bytes=8),
        tp("pipe", 10_000, payload_bytes=1024),
        tp("queue", 50_000, payload_bytes=8),
        tp("queue", 20_000, payload_bytes=1024),
        # A hand-made channel far above both is not a crossover anyone can act on.
        tp("shm_ring", 60_000, payload_bytes=8),
        tp("shm_ring", 90_000, payload_bytes=1024),
    )
    (found,) = findings.crossovers(df)
    assert (found.faster_below, found.faster_above) == ("pipe", "queue")
    assert 8 < found.payload_bytes < 1024
    assert 10_000 < found.msgs_per_s < 100_000
    assert not found.within_spread


# --- the cost model -----------------------------------------------------------------------------------

SIZES = [8, 64, 1024, 8192, 65536, 1 << 20, 16 << 20, 64 << 20]


def latency(mech: str, sizes: list[int], rtt) -> list[dict[str, object]]:
    return [
        {"mechanism": mech, "pattern": "latency", "payload_bytes": s, "rtt_p50_ns": rtt(s)} for s in sizes
    ]


def test_the_fixed_cost_is_the_small_message_cost() -> None:
    # 48 µs + 1 ns per byte, each point off by ±3% as a real run is: the large payloads' few percent
    # are milliseconds, which an unweighted fit pays for with the small-payload cost.
    wobble = [1.03, 0.97, 1.0, 1.03, 0.97, 1.0, 0.97, 1.03]
    rows = latency("pipe_bytes", SIZES, lambda s: (48_000 + s) * wobble[SIZES.index(s)])
    fit = findings.fit_line([r["payload_bytes"] for r in rows], [r["rtt_p50_ns"] for r in rows])
    assert fit.alpha_ns == pytest.approx(48_000, rel=0.05)
    assert fit.beta_ns_per_byte == pytest.approx(1.0, rel=0.05)
    assert fit.worst_error < 0.05 and fit.fits
    table = findings.cost_model(frame(*rows))
    assert cells(table, "α (fixed cost)") == [fmt.duration_ns(fit.alpha_ns)]
    assert cells(table, "fit")[0].startswith("worst point off by ")
    assert "R²" not in str(table)


def test_a_figure_beyond_the_measured_sizes_says_it_is_a_prediction() -> None:
    table = findings.cost_model(frame(*latency("pipe", [8, 1024, 65536], lambda s: 50_000 + 2 * s)))
    (at,) = cells(table, "model at 1MiB")
    assert at == "2.15 ms, predicted 16× beyond the largest size measured"
    assert cells(table, "measured") == ["8B–64KiB (3 sizes)"]
    inside = findings.cost_model(frame(*latency("pipe", [8, 1 << 20, 4 << 20], lambda s: 50_000 + 2 * s)))
    assert cells(inside, "model at 1MiB") == ["2.15 ms"]


def test_a_line_that_does_not_fit_is_dropped() -> None:
    # Flat, then a cliff: no straight line is within 25% of every point.
    rows = latency("shm", SIZES, lambda s: 20_000 if s < 65536 else 20_000_000)
    table = findings.cost_model(frame(*rows))
    assert cells(table, "α (fixed cost)") == ["—"]
    assert cells(table, "fit")[0].startswith("no line fits")
    assert cells(table, "model at 1MiB") == ["—"]


def test_two_sizes_are_not_a_fit() -> None:
    table = findings.cost_model(frame(*latency("pipe", [8, 1024], lambda s: 50_000 + s)))
    assert cells(table, "fit") == ["not fitted: needs ≥3 sizes"]
    assert cells(table, "α (fixed cost)") == ["—"]


# --- per-operation arithmetic ---------------------------------------------------------------------


def test_time_per_operation_is_what_one_worker_sees() -> None:
    # Four workers together do 4M increments/s: each spends 1 µs per increment, not 250 ns.
    df = frame({"mechanism": "value_lock", "pattern": "shared_state", "producers": 4, "msgs_per_s": 4e6})
    table = findings.pattern_table(df)
    assert cells(table, "time per operation (one worker)") == ["1 µs"]
    assert cells(table, "operations/s (all workers)") == ["4M op/s"]


def test_start_up_is_one_start_not_one_batch() -> None:
    # A round of 300 starts takes 18.6 ms; one start (its own p50) 62 µs.
    row = {"mechanism": "first_pipe", "pattern": "startup", "producers": 2, "msgs_per_s": 300 / 0.0186}
    table = findings.pattern_table(frame({**row, "median": 0.0186, "op_p50_ns": 62_000}))
    assert cells(table, "one start (p50)") == ["62 µs"]
    assert "operations/s (all workers)" not in table.headers


def test_bulk_rows_are_told_apart_by_payload() -> None:
    df = frame(
        *(
            {"mechanism": "array_memoryview", "pattern": "bulk", "payload_bytes": s, "msgs_per_s": 1e9 / s}
            for s in (1024, 1 << 20, 64 << 20)
        )
    )
    table = findings.pattern_table(df)
    assert cells(table, "payload") == ["1KiB", "1MiB", "64MiB"]
    assert len(set(table.rows)) == 3
    # What tells the rows apart reads left-aligned, the figures right-aligned.
    align = dict(zip(table.headers, map(table.alignment, range(len(table.headers))), strict=True))
    assert align["mechanism"] == align["payload"] == "left"
    assert align["operations/s (all workers)"] == align["bytes/s"] == align["spread"] == "right"


def test_lost_updates_are_counts() -> None:
    info = {"lost_updates": 233_205, "updates_expected": 400_000}
    row = {"mechanism": "value_unlocked", "pattern": "shared_state", "msgs_per_s": 1e6, "extra_info": info}
    table = findings.pattern_table(frame(row))
    assert cells(table, "lost updates") == ["233,205"]


def test_every_benchmark_table_gives_start_up_per_start() -> None:
    df = frame(
        {"mechanism": "process_start", "pattern": "startup", "msgs_per_s": 214, "op_p50_ns": 3.1e6},
        tp("pipe_bytes", 243_500, payload_bytes=1024),
    )
    table = findings.all_benchmarks(df)
    rows = {row[0].split("-")[0]: row for row in table.rows}
    assert rows["process_start"][1:5] == ("", "", "3.1 ms", "")
    assert rows["pipe_bytes"][1:3] == ("244k msg/s", "249 MB/s")
    assert [table.alignment(i) for i in (0, 1, 8, 9)] == ["left", "right", "right", "left"]
