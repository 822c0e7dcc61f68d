#!/bin/sh
# pg-baseline.sh — the PostgreSQL 15 + PostGIS baseline of issue 5.
#
#   bench/pg-baseline.sh [--volunteers N] [--queries Q] [--towns A,B,C]
#                        [--duration S] [--clients C] [--seed S]
#
# Starts a throwaway cluster (initdb into a temp dir, Unix socket in that
# dir, no TCP; fsync off, as kobled runs the comparison with --fsync no),
# pinned to the first CPU while pgbench runs on the second. As root the
# server runs as nobody (PostgreSQL refuses root). Loads the same generated
# volunteers as the other baselines (koble-gen, same seed) and Q needs at
# the centre of each town (koble-gen --needs-at), builds a GiST index on the
# location, then per town runs pgbench with bench/pg-match.sql (the hard
# constraints and score of DESIGN.md "Matching" in SQL, top 10) for S
# seconds with C clients, after one unlogged second of warm-up.
# requests/s is pgbench's tps; p50/p99 come from its per-transaction log.
# Prints a table and, per town, the line bench/compare.sh collects:
#   result system=postgis volunteers=N town=T rps=R p50_us=X p99_us=Y
# Exits 0 with a "skipped" line when PostgreSQL 15 or PostGIS is missing.
set -eu
volunteers=100000 queries=1000 towns=Copenhagen,Odense,Nakskov duration=5 clients=4 seed=42
while [ $# -gt 0 ]; do
    case $1 in
    --volunteers) volunteers=$2 ;;
    --queries) queries=$2 ;;
    --towns) towns=$2 ;;
    --duration) duration=$2 ;;
    --clients) clients=$2 ;;
    --seed) seed=$2 ;;
    *) echo "usage: pg-baseline.sh [--volunteers N] [--queries Q] [--towns A,B] [--duration S]" \
        "[--clients C] [--seed S]" >&2; exit 2 ;;
    esac
    shift 2
done

pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
share=$("$pgbin/pg_config" --sharedir 2>/dev/null || echo /usr/share/postgresql/15)
if [ ! -x "$pgbin/initdb" ] || [ ! -x "$pgbin/pgbench" ]; then
    echo "postgis baseline skipped: PostgreSQL 15 not found in $pgbin" \
        "(deploy/install-deps.sh --bench installs postgresql-15)"
    exit 0
fi
if [ ! -f "$share/extension/postgis.control" ]; then
    echo "postgis baseline skipped: PostGIS not installed for PostgreSQL 15" \
        "(deploy/install-deps.sh --bench installs postgresql-15-postgis-3)"
    exit 0
fi

# Server on the first CPU this shell may use, pgbench on the second.
. bench/servers.sh
cpus

dir=$(mktemp -d /tmp/koble-pg-XXXXXX)
as_owner=""
if [ "$(id -u)" = 0 ]; then
    chown nobody "$dir"
    as_owner="runuser -u nobody --"
fi
chmod 755 "$dir"
stop() {
    $as_owner "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 1' INT TERM

# initdb and pg_ctl must not run as root; psql and pgbench connect as the
# cluster's superuser "koble" over the socket in $dir (trust, loopback only).
(cd "$dir" && $as_owner "$pgbin/initdb" -D "$dir/data" -U koble -A trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1) || { cat "$dir/initdb.log" >&2; exit 1; }
# shellcheck disable=SC2086 # $pin_server and $as_owner are words, or nothing
$pin_server $as_owner "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
    "-c listen_addresses='' -k $dir -p 5432 -c fsync=off -c synchronous_commit=off \
     -c full_page_writes=off -c shared_buffers=512MB -c work_mem=16MB -c max_connections=32 \
     -c jit=off -c max_parallel_workers_per_gather=0" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
psql() { "$pgbin/psql" -h "$dir" -p 5432 -U koble -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
version=$(psql -At -c "SELECT current_setting('server_version') || ', PostGIS ' ||
    (SELECT default_version FROM pg_available_extensions WHERE name = 'postgis')")

# JSON lines go into raw(j) verbatim: CSV with quote and delimiter bytes that
# never occur in them.
copy_raw="COPY raw (j) FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
psql -f bench/pg-schema.sql
t0=$(date +%s.%N)
build/bench/koble-gen --seed "$seed" --volunteers "$volunteers" --organisations 0 \
    --activities 0 --needs 0 | psql -c "$copy_raw"
psql -f bench/pg-vols.sql
k=0
for town in $(echo "$towns" | tr , ' '); do
    k=$((k + 1))
    build/bench/koble-gen --seed "$seed" --volunteers 0 --organisations 0 --activities 0 \
        --needs "$queries" --needs-at "$town" | psql -c "$copy_raw"
    psql -v town=$k -f bench/pg-needs.sql
done
t1=$(date +%s.%N)
size=$(psql -At -c "SELECT pg_size_pretty(pg_total_relation_size('vols'))")
echo "koble PostGIS baseline: PostgreSQL $version, Unix socket, fsync off, seed $seed;" \
    "pgbench, $clients clients, $duration s per town"
[ -n "$pin_client" ] && echo "postgres pinned to CPU $server_cpu, pgbench to CPU $client_cpu"
printf '\n%s volunteers: loaded and indexed in %.1f s, table + indexes %s\n' "$volunteers" \
    "$(echo "$t1 - $t0" | bc)" "$size"
printf '  %-20s %10s %9s %9s %9s %9s\n' town queries/s p50_us p99_us max_us failed

k=0
for town in $(echo "$towns" | tr , ' '); do
    k=$((k + 1))
    bench() { # seconds, then pgbench's own options
        secs=$1
        shift
        (cd "$dir" && $pin_client "$pgbin/pgbench" -h "$dir" -p 5432 -U koble -n -M prepared \
            -c "$clients" -j 1 -T "$secs" -D town=$k -D needs="$queries" \
            -f "$OLDPWD/bench/pg-match.sql" "$@" postgres)
    }
    bench 1 >/dev/null 2>&1 # warm-up: caches, prepared statements
    rm -f "$dir"/pgbench_log.*
    bench "$duration" --log --log-prefix="$dir/pgbench_log" >"$dir/pgbench.out" 2>&1 ||
        { cat "$dir/pgbench.out" >&2; exit 1; }
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$dir/pgbench.out")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
    # Per-transaction log: client, transaction, latency in µs, ...
    cat "$dir"/pgbench_log.* | awk '{ print $3 }' | sort -n >"$dir/lat"
    n=$(wc -l <"$dir/lat")
    pct() { awk -v n="$n" -v q="$1" 'NR == (int(n * q) < 1 ? 1 : int(n * q)) { print; exit }' \
        "$dir/lat"; }
    p50=$(pct 0.50) p99=$(pct 0.99) max=$(tail -1 "$dir/lat")
    printf '  %-20s %10.1f %9s %9s %9s %9s\n' "$town" "$tps" "$p50" "$p99" "$max" "${failed:-0}"
    echo "result system=postgis volunteers=$volunteers town=$town rps=$tps p50_us=$p50" \
        "p99_us=$p99" >>"$dir/results"
done
cat "$dir/results"
