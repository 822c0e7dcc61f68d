#!/usr/bin/env bash
# coldstart.sh — kobled's start-up on a large snapshot, from exec to the
# `ready` log line, in a fresh process each time.
#
#   bench/coldstart.sh [--volunteers N] [--runs R] [--dir DIR]
#
# The first time, build/bench/durable-bench --data-dir leaves a snapshot
# of N generated volunteers (default 1M, seed 42) in DIR (default
# bench/out/coldstart-N; kept for later runs). Each run starts
# build/kobled on DIR (--redis none, loopback, any port), times it until
# it logs event=ready, prints that with kobled's own snapshot_loaded ms,
# then stops it with SIGTERM and waits for it. KOBLED_WRAP is put before
# the command (e.g. KOBLED_WRAP="taskset -c 0"); with KOBLED_STOP=KILL
# kobled is killed instead, so that a wrapper such as
# KOBLED_WRAP="perf stat -o FILE -e instructions" counts the start-up
# alone (the signal goes to kobled, the wrapper's child). Build first
# (make).
set -euo pipefail
cd "$(dirname "$0")/.."

volunteers=1000000
runs=3
dir=
while [ $# -gt 0 ]; do
    case "$1" in
    --volunteers) volunteers=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "usage: bench/coldstart.sh [--volunteers N] [--runs R] [--dir DIR]" >&2; exit 2 ;;
    esac
done
dir=${dir:-bench/out/coldstart-$volunteers}

if ! ls "$dir"/snapshot-*.kbs >/dev/null 2>&1; then
    mkdir -p "$(dirname "$dir")"
    build/bench/durable-bench --volunteers "$volunteers" --data-dir "$dir"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for run in $(seq 1 "$runs"); do
    fifo=$tmp/log.$run
    mkfifo "$fifo"
    t0=$(date +%s%N)
    # shellcheck disable=SC2086 # KOBLED_WRAP is a command prefix, split on purpose
    ${KOBLED_WRAP:-} build/kobled --listen 127.0.0.1:0 --redis none --data-dir "$dir" \
        --snapshot-bytes 0 2>"$fifo" &
    pid=$!
    loaded="?" t1=
    while IFS= read -r line; do
        case "$line" in
        *event=snapshot_loaded*) loaded=${line##*ms=} ;;
        *event=ready*) t1=$(date +%s%N); break ;;
        *level=error*) echo "$line" >&2 ;;
        esac
    done <"$fifo"
    # Keep draining the log so kobled never blocks on a full pipe.
    cat "$fifo" >/dev/null &
    drain=$!
    kobled=$pid
    if [ -n "${KOBLED_WRAP:-}" ]; then kobled=$(pgrep -P "$pid" -x kobled || echo "$pid"); fi
    kill "-${KOBLED_STOP:-TERM}" "$kobled"
    wait "$pid" || true
    wait "$drain" || true
    if [ -z "$t1" ]; then
        echo "run $run: kobled exited before it was ready" >&2
        exit 1
    fi
    awk -v r="$run" -v ns=$((t1 - t0)) -v l="$loaded" \
        'BEGIN { printf "run %d: exec to ready %.3f s (snapshot_loaded ms=%s)\n", r, ns / 1e9, l }'
done
