#!/bin/sh
# compare.sh — issue 5's side-by-side: kobled over HTTP against what a team
# would build instead, on the same generated data, the same needs, the same
# machine.
#
#   bench/compare.sh [--sizes 10000,100000] [--towns Copenhagen,Odense,Nakskov]
#                    [--duration S] [--connections C] [--queries Q] [--rounds R]
#                    [--out DIR]
#
# For each number of volunteers:
#   kobled     a fresh kobled (--fsync no, no Redis, no snapshots) pinned to
#              the first CPU; koble-load on the second loads the volunteers
#              over HTTP, then per town stores Q needs at the town centre and
#              asks GET /v1/needs/{id}/matches?limit=10 on C connections;
#   kobled-whatif
#              the same needs as bodies of POST /v1/match?limit=10 (ranked,
#              not stored), on the same kobled;
#   redis-geosearch, redis-lua
#              build/bench/redis-baseline --town (its own pinned redis-server;
#              one query at a time, see that file);
#   postgis    bench/pg-baseline.sh (its own pinned cluster, pgbench, C clients).
# Then the cost of the HTTP loop itself: kobled's /healthz with koble-load
# against redis-benchmark -t ping_inline, each server on the first CPU and
# the client on the second, C connections each.
# kobled's measurements and PING_INLINE run R times (3 by default), round
# after round over the towns, and the round with the median requests/s is
# the result, its errors the sum of all rounds': a minute in which the
# machine runs slow (a VM's neighbours) then moves one round, not the
# figure. The baselines, hundreds of times slower, run once.
# Every measurement leaves a line "result system=... volunteers=N town=T
# rps=R p50_us=X p99_us=Y" in DIR/compare.txt; bench/report.sh turns them
# into the table and the plots.
# shellcheck disable=SC2086 # $pin_server and $pin_client are words, or nothing
set -eu
sizes=10000,100000 towns=Copenhagen,Odense,Nakskov duration=3 connections=4 queries=1000
rounds=3
out=bench/results
while [ $# -gt 0 ]; do
    case $1 in
    --sizes) sizes=$2 ;;
    --towns) towns=$2 ;;
    --duration) duration=$2 ;;
    --connections) connections=$2 ;;
    --queries) queries=$2 ;;
    --rounds) rounds=$2 ;;
    --out) out=$2 ;;
    *) echo "usage: compare.sh [--sizes N,N] [--towns A,B] [--duration S] [--connections C]" \
        "[--queries Q] [--rounds R] [--out DIR]" >&2; exit 2 ;;
    esac
    shift 2
done
. bench/servers.sh
cpus
kobled_pid="" kobled_dir="" redis_pid=""
mkdir -p "$out"
results=$out/compare.txt
: >"$results"
measured=$(mktemp /tmp/koble-rounds-XXXXXX)
trap 'stop_kobled 2>/dev/null; stop_redis 2>/dev/null; rm -f "$measured"' EXIT
trap 'exit 1' INT TERM

# koble-load's summary line as a result line: system, volunteers, town.
load_result() {
    awk -v sys="$1" -v n="$2" -v town="$3" '/^mix=/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        printf "result system=%s volunteers=%s town=%s rps=%s p50_us=%s p99_us=%s errors=%d\n",
            sys, n, town, f["rps"], f["p50_us"], f["p99_us"], f["http_errors"] + f["transport_errors"]
    }'
}

# Of the result lines of one measurement's rounds on stdin, the median's
# (the lower middle of an even number), with every round's errors added up.
median_result() {
    awk '{ line[NR] = $0; for (i = 2; i <= NF; i++) { split($i, kv, "=")
               if (kv[1] == "rps") r[NR] = kv[2] + 0; if (kv[1] == "errors") e += kv[2] } }
    END { if (!NR) exit
          for (i = 1; i <= NR; i++) { below = 0
              for (j = 1; j <= NR; j++) below += r[j] < r[i] || (r[j] == r[i] && j < i)
              if (below == int((NR - 1) / 2)) m = i }
          sub(/ errors=[0-9]+/, "", line[m])
          printf "%s errors=%d rounds=%d\n", line[m], e, NR }'
}

# A round's result line, kept in $measured and shown as "round N: ...".
keep_round() {
    tee -a "$measured" | sed "s/^result /round $1: /"
}

# The median of the rounds kept for system $1 at size $2 in town $3.
median_of() {
    grep "^result system=$1 volunteers=$2 town=$3 " "$measured" | median_result |
        tee -a "$results"
}

echo "koble comparison: sizes $sizes, towns $towns, $duration s per measurement," \
    "$connections connections (Redis baselines: 1), $queries needs per town," \
    "kobled and PING_INLINE: median of $rounds rounds"
[ -n "$pin_client" ] && echo "servers pinned to CPU $server_cpu, clients to CPU $client_cpu"
for size in $(echo "$sizes" | tr , ' '); do
    echo
    echo "== $size volunteers: kobled over HTTP"
    start_kobled no 0 $pin_server
    url=http://127.0.0.1:$kobled_port
    $pin_client build/bench/koble-load --url "$url" --connections 8 --pipeline 16 --mix load \
        --volunteers "$size" --strict 2>/dev/null | sed -n '/^load,/,$p'
    for round in $(seq "$rounds"); do
        for town in $(echo "$towns" | tr , ' '); do
            $pin_client build/bench/koble-load --url "$url" --connections "$connections" \
                --mix match --town "$town" --needs "$queries" --duration "$duration" \
                --warmup 1 --strict 2>/dev/null | load_result kobled "$size" "$town" |
                keep_round "$round"
            $pin_client build/bench/koble-load --url "$url" --connections "$connections" \
                --mix whatif --town "$town" --needs "$queries" --duration "$duration" \
                --warmup 1 --strict 2>/dev/null | load_result kobled-whatif "$size" "$town" |
                keep_round "$round"
        done
    done
    stop_kobled
    for town in $(echo "$towns" | tr , ' '); do
        median_of kobled "$size" "$town"
        median_of kobled-whatif "$size" "$town"
    done
    echo
    echo "== $size volunteers: Redis"
    build/bench/redis-baseline --volunteers "$size" --queries "$queries" --town "$towns" \
        --duration "$duration" | tee "$out/redis.out"
    grep '^result' "$out/redis.out" >>"$results"
    echo
    echo "== $size volunteers: PostGIS"
    bench/pg-baseline.sh --volunteers "$size" --queries "$queries" --towns "$towns" \
        --duration "$duration" --clients "$connections" | tee "$out/pg.out"
    grep '^result' "$out/pg.out" >>"$results" || true
    rm -f "$out/redis.out" "$out/pg.out"
done

echo
echo "== the HTTP loop: kobled /healthz against redis-benchmark PING_INLINE"
start_kobled no 0 $pin_server
for round in $(seq "$rounds"); do
    $pin_client build/bench/koble-load --url "http://127.0.0.1:$kobled_port" \
        --connections "$connections" --mix healthz --duration "$duration" --warmup 1 \
        2>/dev/null | load_result kobled-healthz 0 - | keep_round "$round"
done
stop_kobled
median_of kobled-healthz 0 -
if command -v redis-benchmark >/dev/null; then
    start_redis $pin_server
    for round in $(seq "$rounds"); do
        # -n: about as many requests as koble-load's duration at 60k/s.
        $pin_client redis-benchmark -h 127.0.0.1 -p "$redis_port" -t ping_inline \
            -c "$connections" -n $((duration * 60000)) --csv 2>/dev/null |
            awk -F'"' '$2 == "PING_INLINE" { printf "result system=redis-ping volunteers=0 " \
                "town=- rps=%s p50_us=%.0f p99_us=%.0f errors=0\n", $4, $10 * 1000, $14 * 1000 }' |
            keep_round "$round"
    done
    stop_redis
    median_of redis-ping 0 -
else
    echo "redis-benchmark not installed: PING_INLINE comparison skipped"
fi
echo
bench/report.sh "$results" "$out"
