#!/bin/sh
# report.sh — the comparison table and plots from bench/compare.sh's result
# lines.
#
#   bench/report.sh RESULTS [DIR]
#
# RESULTS holds lines "result system=S volunteers=N town=T rps=R p50_us=X
# p99_us=Y". Prints one table, for each size and town: every system's
# requests/s, p50 and p99, and how many times kobled's requests/s that is
# ("kobled x": 12.0 means kobled answers 12 times as many); sizes ascending,
# towns in the order they were measured. The /healthz and
# PING_INLINE rows compare the other way round (kobled as a share of Redis:
# the target is 0.8 or more). With gnuplot installed, draws
# DIR/throughput.png (requests/s against volunteers, one panel per town) and
# DIR/latency.png (p50 and p99 against volunteers).
set -eu
results=$1
out=${2:-$(dirname "$results")}
[ -s "$results" ] || { echo "report.sh: no results in $results" >&2; exit 1; }

# Fields into tab-separated columns: system volunteers town rps p50 p99.
tsv=$(mktemp /tmp/koble-report-XXXXXX)
trap 'rm -f "$tsv" "$tsv".*' EXIT
awk '/^result / { delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    printf "%s\t%s\t%s\t%s\t%s\t%s\n", f["system"], f["volunteers"], f["town"], f["rps"],
        f["p50_us"], f["p99_us"] }' "$results" >"$tsv"

awk -F'\t' '
function size(n) { if (n >= 1000000) return n / 1000000 "M"; if (n >= 1000) return n / 1000 "k"; return n }
# Three significant digits at least: under 1 request/s is a real figure here.
function rate(r) { return sprintf(r < 10 ? "%.2f" : r < 100 ? "%.1f" : "%.0f", r) }
function order(s) { return index(" kobled kobled-whatif redis-geosearch redis-lua postgis kobled-healthz redis-ping ", " " s " ") }
function label(s) {
    if (s == "kobled") return "kobled (HTTP)"
    if (s == "kobled-whatif") return "kobled what-if"
    if (s == "redis-geosearch") return "Redis GEOSEARCH"
    if (s == "redis-lua") return "Redis Lua"
    if (s == "postgis") return "PostGIS (pgbench)"
    if (s == "kobled-healthz") return "kobled /healthz"
    if (s == "redis-ping") return "Redis PING_INLINE"
    return s
}
{ row[NR] = $0; if (!($3 in town)) town[$3] = ++towns; if ($1 == "kobled") kobled[$2 "/" $3] = $4; if ($1 == "redis-ping") ping = $4 }
END {
    printf "%-19s %10s  %-11s %12s %10s %10s %9s\n", "system", "volunteers", "town",
        "requests/s", "p50 us", "p99 us", "kobled x"
    for (i = 1; i <= NR; i++) {
        split(row[i], f, "\t")
        ratio = "-"
        if (f[1] == "kobled-healthz" && ping > 0) ratio = sprintf("%.2f of Redis", f[4] / ping)
        else if (f[1] != "redis-ping" && (f[2] "/" f[3]) in kobled && f[4] > 0)
            ratio = sprintf("%.1f", kobled[f[2] "/" f[3]] / f[4])
        key = sprintf("%09d %03d %03d", f[2] > 0 ? f[2] : 999999999, town[f[3]], order(f[1]))
        print key "\t" sprintf("%-19s %10s  %-11s %12s %10.0f %10.0f %9s", label(f[1]),
            f[2] > 0 ? size(f[2]) : "-", f[3], rate(f[4]), f[5], f[6], ratio) | "sort | cut -f2"
    }
}' "$tsv"

command -v gnuplot >/dev/null || { echo "gnuplot not installed: no plots"; exit 0; }
towns=$(awk -F'\t' '$2 > 0 && !seen[$3]++ { print $3 }' "$tsv")
systems="kobled kobled-whatif redis-geosearch redis-lua postgis"
[ -n "$towns" ] || exit 0
ntowns=$(echo "$towns" | wc -l)
for s in $systems; do
    for t in $towns; do
        awk -F'\t' -v s="$s" -v t="$t" '$1 == s && $3 == t { print $2, $4, $5, $6 }' "$tsv" |
            sort -n >"$tsv.$s.$t"
    done
done
plot() { # file, title, ylabel, mode (throughput or latency), height, key placement
    {
        echo "set terminal pngcairo size $((ntowns * 480)),$5 font ',10'"
        echo "set output '$1'"
        echo "set multiplot layout 1,$ntowns title '$2'"
        echo "set logscale xy; set grid; set format y '%g'; $6"
        echo "set xlabel 'volunteers'; set ylabel '$3'; set format x '%.0s%c'"
        for t in $towns; do
            echo "set title '$t'"
            clauses="" color=0
            for s in $systems; do
                color=$((color + 1))
                f="$tsv.$s.$t"
                [ -s "$f" ] || continue
                if [ "$4" = throughput ]; then
                    c="'$f' using 1:2 with linespoints lw 2 lc $color title '$s'"
                else
                    c="'$f' using 1:(\$3/1000) with linespoints lw 2 lc $color title '$s p50', '$f' using 1:(\$4/1000) with linespoints dt 2 lc $color title '$s p99'"
                fi
                clauses="${clauses:+$clauses, }$c"
            done
            echo "plot $clauses"
        done
        echo "unset multiplot"
    } | gnuplot 2>&1 | grep -v "empty x range" >&2 || true
}
plot "$out/throughput.png" "match requests/s against volunteers (top 10, same needs)" \
    "requests/s" throughput 420 "set key bottom left font ',8'"
plot "$out/latency.png" "match latency against volunteers: p50 solid, p99 dashed" \
    "latency (ms)" latency 500 "set key below font ',8' maxrows 2"
echo
echo "plots: $out/throughput.png $out/latency.png"
