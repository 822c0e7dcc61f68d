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
    build/bench/route-bench --subscriptions 100000 --needs 5000
    echo
    build/bench/events-bench --latency 1000 --backlog 50000 --fsync no
} 2>&1 | tee "$out"
