#!/bin/sh
# run.sh — `make bench` (quick, a few minutes) and `make bench-full`
# (`run.sh full`: 1M volunteers everywhere). Every program prints its own
# table; all of it also goes to bench/results/bench.txt (not in git).
# Servers the programs need (kobled, redis-server) they start themselves on
# free loopback ports and stop again.
set -eu
mode=${1:-quick}
mkdir -p bench/results
out=bench/results/bench.txt
# Acknowledged upserts over HTTP with 64 connections, for one fsync policy:
# a fresh kobled on a free port and data dir, koble-load for 5 s.
upserts() {
    dir=$(mktemp -d /tmp/koble-bench-XXXXXX)
    build/kobled --listen 127.0.0.1:0 --data-dir "$dir" --redis none --fsync "$1" 2>"$dir/log" &
    pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*event=listening addr=127.0.0.1:\([0-9]*\).*/\1/p' "$dir/log")
        [ -n "$port" ] && curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
        sleep 0.1
    done
    echo "upserts, fsync $1, 64 connections:"
    build/bench/koble-load --url "http://127.0.0.1:$port" --connections 64 --duration 5 \
        --warmup 1 --mix put 2>/dev/null | sed -n '/requests\/s/,$p'
    kill "$pid"
    wait "$pid" || true
    rm -rf "$dir"
}

{
    echo "koble benchmarks ($mode), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo
    if [ "$mode" = full ]; then
        build/bench/match-bench --volunteers 100000,1000000 --queries 2000
        echo
        build/bench/durable-bench --volunteers 1000000
    else
        build/bench/match-bench --volunteers 100000,1000000 --queries 400
        echo
        build/bench/durable-bench --volunteers 100000
    fi
    echo
    build/bench/redis-baseline --volunteers 100000 --queries 200
    echo
    if [ "$mode" = full ]; then
        build/bench/assign-bench --volunteers 20000,200000 --needs 2000,20000
    else
        build/bench/assign-bench --volunteers 20000 --needs 2000
    fi
    echo
    build/bench/route-bench --subscriptions 100000 --needs 5000
    echo
    build/bench/events-bench --latency 1000 --backlog 50000 --fsync no
    for policy in always everysec no; do
        echo
        upserts "$policy"
    done
} 2>&1 | tee "$out"
