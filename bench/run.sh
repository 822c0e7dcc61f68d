#!/bin/sh
# run.sh — `make bench` (quick, a few minutes) and `make bench-full`
# (`run.sh full`: up to 1M volunteers). First every program's own table
# (in-process matching, durability, assignment, routing, events, upserts),
# then bench/compare.sh: kobled over HTTP against the Redis and PostGIS
# baselines on the same data, ending with the one comparison table (also in
# bench/results/table.txt) and the plots bench/results/throughput.png and
# latency.png. Everything printed also goes to bench/results/bench.txt (not
# in git). Servers are started by the programs themselves on free loopback
# ports (or a private Unix socket for PostgreSQL) and stopped again.
set -eu
mode=${1:-quick}
mkdir -p bench/results
out=bench/results/bench.txt
. bench/servers.sh
kobled_pid="" kobled_dir=""
trap 'stop_kobled 2>/dev/null' EXIT

# Acknowledged upserts over HTTP with 64 connections, for one fsync policy:
# a fresh kobled (default snapshots) and koble-load for 5 s, first with
# nothing pinned, then (with two CPUs or more) with kobled's loop thread on
# one CPU and koble-load on another. The loop is what a PUT waits for; its
# thread pool, started for recovery before the pinning, stays free to run
# the fsyncs elsewhere. On a 2-core machine where those run decides the
# figure (bench/README.md, "Durability").
upserts() {
    start_kobled "$1" -
    echo "upserts, fsync $1, 64 connections, nothing pinned:"
    build/bench/koble-load --url "http://127.0.0.1:$kobled_port" --connections 64 --duration 5 \
        --warmup 1 --mix put 2>/dev/null | sed -n '/requests\/s/,$p'
    stop_kobled
    cpus
    [ -n "$pin_client" ] || return 0
    start_kobled "$1" -
    taskset -pc "$server_cpu" "$kobled_pid" >/dev/null
    echo "upserts, fsync $1, 64 connections, kobled's loop thread on CPU $server_cpu," \
        "koble-load on CPU $client_cpu:"
    $pin_client build/bench/koble-load --url "http://127.0.0.1:$kobled_port" --connections 64 \
        --duration 5 --warmup 1 --mix put 2>/dev/null | sed -n '/requests\/s/,$p'
    stop_kobled
}

{
    echo "koble benchmarks ($mode), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores:" \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    if [ "$mode" = full ]; then
        build/bench/match-bench --volunteers 100000,1000000 --queries 2000
        echo
        build/bench/durable-bench --volunteers 1000000
        echo
        build/bench/assign-bench --volunteers 20000,200000 --needs 2000,20000 \
            --scipy bench/results/assign-instance.txt
    else
        build/bench/match-bench --volunteers 100000 --queries 400
        echo
        build/bench/durable-bench --volunteers 100000
        echo
        build/bench/assign-bench --volunteers 20000 --needs 2000 \
            --scipy bench/results/assign-instance.txt
    fi
    echo
    build/bench/route-bench --subscriptions 100000 --needs 5000
    echo
    build/bench/events-bench --latency 1000 --backlog 50000 --fsync no
    for policy in always everysec no; do
        echo
        upserts "$policy"
    done
    echo
    if [ "$mode" = full ]; then
        bench/compare.sh --sizes 10000,100000,1000000 --duration 5 --queries 2000
    else
        bench/compare.sh --sizes 10000,100000 --duration 3 --queries 1000
    fi
} 2>&1 | tee "$out"
# The comparison table: from its header to the line naming the plots.
sed -n '/^system .*kobled x$/,/^plots:/p' "$out" >bench/results/table.txt
