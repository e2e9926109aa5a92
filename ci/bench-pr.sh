#!/usr/bin/env bash
# Regression gate for a pull request: the target branch and the pull request, each run with its own
# code, alternately on this machine (absolute figures do not carry across machines, and alternating
# makes a drift of the machine's speed hit both sides alike), then compared scenario by scenario.
#
#   bash ci/bench-pr.sh [RUN_ARGS...] [-- COMPARE_ARGS...]
#
# RUN_ARGS go to every `ipcbench run` (default: the quick profile), e.g. a selection or
# `--plugin bench/my_channel.py --mechanism my_channel`; COMPARE_ARGS go to `ipcbench compare`, e.g.
# `--config bench/gate.toml` (from `ipcbench noise --repeats REPEATS -o bench/gate.toml`: thresholds
# sized for directories of that many runs, not for two files).  Relative paths in both are taken from the root of each side's own
# tree: a plugin file or a config of the pull request is measured against the target branch's own.
#
# Environment (GitHub Actions sets the first three on a pull_request run):
#   GITHUB_BASE_REF     the target branch: origin/<it> if fetched (fetch-depth: 0), else the local branch
#   RUNNER_TEMP         where results go: baseline/ and current/ (one N.json per run), compare.md and
#                       the exports for trackers; baseline/ and current/ must not hold results already
#   GITHUB_STEP_SUMMARY the compare's Markdown is appended to it (optional: always printed here too)
#   REPEATS             runs a side (default 5); compare tests a directory of runs run by run
#   PYTHON              the interpreter that has ipcbench (default python3)
#   BENCH_PYTHONPATH    directories of each side's tree put first on PYTHONPATH, ':'-separated,
#                       relative to its root (default "."; "src" for a src layout)
#
# Each side runs `python -m ipcbench` from the root of its own tree, that tree first on PYTHONPATH:
# in ipcbench's own repository the target branch's ipcbench measures the target branch; elsewhere the
# installed ipcbench measures each side's plugin and package.  The target branch is checked out in a
# git worktree under RUNNER_TEMP, removed on every path out, signals included.
#
# Exit status: 0 no regression, 1 a regression (or a run of the pull request failed a benchmark),
# 2 unusable input (bad settings, an unknown branch, a run of the target branch that failed);
# 128+N when stopped by signal N.
set -euo pipefail

PROG=ci/bench-pr.sh
#: Seconds a stopped `ipcbench run` gets to stop its workers (it promises 5) before it is killed.
STOP_DEADLINE=15

fail() {
    echo "$PROG: error: $*" >&2
    exit 2
}

[ -n "${GITHUB_BASE_REF:-}" ] || fail "GITHUB_BASE_REF is not set: name the target branch"
[ -n "${RUNNER_TEMP:-}" ] || fail "RUNNER_TEMP is not set: name a directory for the results"
REPEATS=${REPEATS:-5}
[[ $REPEATS =~ ^[1-9][0-9]*$ ]] || fail "REPEATS must be a positive whole number, not '$REPEATS'"
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || fail "PYTHON: no interpreter '$PYTHON' on PATH"
BENCH_PYTHONPATH=${BENCH_PYTHONPATH:-.}

run_args=()
compare_args=()
seen_separator=false
for arg in "$@"; do
    if ! $seen_separator && [ "$arg" = "--" ]; then
        seen_separator=true
    elif $seen_separator; then
        compare_args+=("$arg")
    else
        run_args+=("$arg")
    fi
done

case $RUNNER_TEMP in
    /*) out=$RUNNER_TEMP ;;
    *) out=$PWD/$RUNNER_TEMP ;;
esac
baseline="$out/baseline"
current="$out/current"

top=$(git rev-parse --show-toplevel 2>/dev/null) || fail "not inside a git repository: $PWD"
cd "$top"
# A pull request's checkout has origin/<base>; a local repository may have only the branch itself.
if base=$(git rev-parse --verify --quiet "refs/remotes/origin/$GITHUB_BASE_REF^{commit}"); then
    base_name="origin/$GITHUB_BASE_REF"
elif base=$(git rev-parse --verify --quiet "refs/heads/$GITHUB_BASE_REF^{commit}"); then
    base_name="$GITHUB_BASE_REF"
else
    fail "neither origin/$GITHUB_BASE_REF nor $GITHUB_BASE_REF is a branch here (checkout with fetch-depth: 0)"
fi

for dir in "$baseline" "$current"; do
    # Results left from an earlier gate would be compared as runs of this one.
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
        fail "$dir already holds results: give an empty RUNNER_TEMP"
    fi
done
mkdir -p "$baseline" "$current" 2>/dev/null || fail "cannot make directories in RUNNER_TEMP: $out"

scratch=""
child=""

cleanup() {
    if [ -n "$scratch" ]; then
        git worktree remove --force "$scratch/base" >/dev/null 2>&1 || true
        rm -rf "$scratch"
        git worktree prune || true
        scratch=""
    fi
}

exited() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    [[ $state == Z* ]]
}

# A signal to this script alone (a CI runner cancelling the job, `timeout`, `kill`) is passed on to
# the running ipcbench as SIGTERM (a background job of a script ignores SIGINT), which stops its
# workers and exits; then the worktree goes.
stop() {
    trap '' INT TERM HUP
    if [ -n "$child" ]; then
        kill -s TERM "$child" 2>/dev/null || true
        local deadline=$((SECONDS + STOP_DEADLINE))
        while ! exited "$child" && [ "$SECONDS" -lt "$deadline" ]; do
            sleep 0.1
        done
        exited "$child" || kill -s KILL "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    cleanup
    trap - EXIT
    exit $((128 + $1))
}

trap cleanup EXIT
trap 'stop 2' INT
trap 'stop 15' TERM
trap 'stop 1' HUP

# `python -m ipcbench ARGS...` from the root of tree $1, that tree first on PYTHONPATH; in the
# background, waited for, so that a signal is handled at once rather than when the run ends.
ipcbench_in() {
    local tree=$1 path="" entry entries
    shift
    IFS=: read -ra entries <<<"$BENCH_PYTHONPATH"
    for entry in "${entries[@]}"; do
        [ "$entry" = "." ] && entry="" || entry="/$entry"
        path+="${path:+:}$tree$entry"
    done
    (cd "$tree" && PYTHONPATH="$path${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m ipcbench "$@") &
    child=$!
    local rc=0
    wait "$child" || rc=$?
    child=""
    return "$rc"
}

summary() {
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        cat >>"$GITHUB_STEP_SUMMARY"
    else
        cat >/dev/null
    fi
}

run_failed() {
    local side=$1 i=$2 rc=$3
    local line="ipcbench: run $i of $REPEATS of $side failed (exit $rc): no comparison; its output is in the log"
    echo "$PROG: $line" >&2
    echo "$line" | summary
}

scratch=$(mktemp -d "$out/ipcbench-base.XXXXXX")
git worktree add --quiet --detach "$scratch/base" "$base" || fail "cannot check $base_name out in a worktree"
echo "$PROG: $base_name ($(git rev-parse --short "$base")) against $(git rev-parse --short HEAD), $REPEATS runs each"

for i in $(seq "$REPEATS"); do
    echo "$PROG: run $i of $REPEATS: $base_name"
    rc=0
    ipcbench_in "$scratch/base" run "${run_args[@]}" -o "$baseline/$i.json" || rc=$?
    if [ "$rc" -ne 0 ]; then
        run_failed "$base_name" "$i" "$rc"
        exit 2
    fi
    echo "$PROG: run $i of $REPEATS: the pull request"
    rc=0
    ipcbench_in "$top" run "${run_args[@]}" -o "$current/$i.json" || rc=$?
    if [ "$rc" -ne 0 ]; then
        run_failed "the pull request" "$i" "$rc"
        # 1: a benchmark of the pull request failed (a channel lost or mangled a message); else unusable.
        [ "$rc" -eq 1 ] && exit 1
        exit 2
    fi
done
cleanup

rc=0
ipcbench_in "$top" compare "$baseline" "$current" --format markdown "${compare_args[@]}" \
    >"$out/compare.md" || rc=$?
cat "$out/compare.md"
summary <"$out/compare.md"

# For trackers of figures over time (github-action-benchmark, Bencher): the pull request's first run.
for export in "throughput.json --format github-action-benchmark" \
    "latency.json --format github-action-benchmark --measure latency" \
    "bencher.json --format bencher"; do
    read -r name options <<<"$export"
    rm -f "$out/$name"
    # shellcheck disable=SC2086  # the options are words
    ipcbench_in "$top" export $options "$current/1.json" -o "$out/$name" ||
        echo "$PROG: warning: export to $name failed" >&2
done
exit "$rc"
