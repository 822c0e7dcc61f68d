# shellcheck shell=sh disable=SC2034 # the variables set here are read by the caller
# servers.sh — sourced by bench/run.sh and bench/compare.sh: start and stop
# kobled and redis-server on free loopback ports for shell benchmarks (the C
# programs use bench/servers.c). Every function returns through variables.

# free_port: a free loopback TCP port in $port (the kernel's choice).
free_port() {
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
}

# start_kobled FSYNC SNAPSHOT_BYTES [PIN...]: a fresh kobled (no Redis) on a
# free port with its own data dir, run under PIN (e.g. taskset -c 0); sets
# kobled_pid, kobled_port, kobled_dir. SNAPSHOT_BYTES 0 turns snapshots off
# (a fork in the middle of a measurement measures the fork), "-" keeps the
# default.
start_kobled() {
    fsync=$1 snap=$2
    shift 2
    kobled_dir=$(mktemp -d /tmp/koble-bench-XXXXXX)
    if [ "$snap" = - ]; then
        set -- "$@" build/kobled
    else
        set -- "$@" build/kobled --snapshot-bytes "$snap"
    fi
    "$@" --listen 127.0.0.1:0 --data-dir "$kobled_dir" --redis none \
        --fsync "$fsync" 2>"$kobled_dir/log" &
    kobled_pid=$!
    kobled_port=""
    for _ in $(seq 100); do
        kobled_port=$(sed -n 's/.*event=listening addr=127.0.0.1:\([0-9]*\).*/\1/p' \
            "$kobled_dir/log")
        [ -n "$kobled_port" ] && curl -fs "http://127.0.0.1:$kobled_port/healthz" >/dev/null &&
            return 0
        sleep 0.1
    done
    echo "kobled did not start:" >&2
    cat "$kobled_dir/log" >&2
    return 1
}

stop_kobled() {
    kill "$kobled_pid" 2>/dev/null || true
    wait "$kobled_pid" 2>/dev/null || true
    rm -rf "$kobled_dir"
}

# start_redis [PIN...]: redis-server without persistence on a free port;
# sets redis_pid and redis_port once it answers PING.
start_redis() {
    free_port
    redis_port=$port
    "$@" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir /tmp >/dev/null 2>&1 &
    redis_pid=$!
    for _ in $(seq 100); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "redis-server did not start" >&2
    return 1
}

stop_redis() {
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
}

# cpus: the first two CPUs this process may use, in server_cpu and
# client_cpu, and pin_server / pin_client ("taskset -c N", or empty with one CPU).
cpus() {
    # shellcheck disable=SC2046 # one word per CPU
    set -- $(awk '/^Cpus_allowed_list/ { n = split($2, r, ",")
        for (i = 1; i <= n; i++) { m = split(r[i], ab, "-")
            for (c = ab[1]; c <= ab[m]; c++) printf "%d ", c } }' /proc/self/status)
    server_cpu=${1:-} client_cpu=${2:-} pin_server="" pin_client=""
    if [ -n "$client_cpu" ]; then
        pin_server="taskset -c $server_cpu"
        pin_client="taskset -c $client_cpu"
    fi
}
