#!/usr/bin/env bash
# The regression chain once, end to end, on a small selection: run -> report -> compare against the
# committed baseline -> export.  The compare is report-only: this machine is shared and noisy, so a
# "regression" here is printed, never a red build; only unusable input (exit 2) fails.
# PYTHON picks the interpreter (default python3), e.g. PYTHON=.venv/bin/python bash ci/chain.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
out="$(mktemp -d "${TMPDIR:-/tmp}/ipcbench-chain.XXXXXX")"
trap 'rm -rf "$out"' EXIT

# The same selection and settings as results/baseline.json, so every scenario has a partner.
"$PY" -m ipcbench run --mechanism pipe_bytes --mechanism queue --mechanism os_pipe --payload 1KiB \
    --processes 2 --rounds 5 --round-time 0.01 -o "$out/current.json"

"$PY" -m ipcbench report "$out/current.json" -o "$out/report"

"$PY" -m ipcbench compare results/baseline.json "$out/current.json" --report-only --format markdown

"$PY" -m ipcbench export --format github-action-benchmark "$out/current.json" -o "$out/throughput.json"
"$PY" -m ipcbench export --format github-action-benchmark --measure latency "$out/current.json" \
    -o "$out/latency.json"
"$PY" -m ipcbench export --format bencher "$out/current.json" -o "$out/bencher.json"
echo "chain: run, report, compare and export all worked"
