#!/bin/sh
# run.sh — `make fuzz`: runs each libFuzzer target for SECONDS on its
# corpus, one after another, and prints libFuzzer's final figures.
#
#   tests/fuzz/run.sh SECONDS build/fuzz/fuzz_http ...
#
# New inputs go to build/fuzz/corpus/<target> (the seeds in
# tests/fuzz/corpus/<target> are only read), crashes to
# build/fuzz/crashes/<target>/, the whole log to build/fuzz/<target>.log.
# A crash found: minimise it, fix it, and add it to
# tests/fuzz/corpus/<target>/ as crash-<what> so `make test` replays it.
# The targets' own stderr is closed (recovery logs every damaged file it
# is fed); libFuzzer and the sanitizers report on a copy of it.
set -u
secs=$1
shift
found=0
for bin in "$@"; do
    t=${bin##*/fuzz_}
    out=build/fuzz
    mkdir -p "$out/corpus/$t" "$out/crashes/$t"
    dict=tests/fuzz/json.dict
    [ "$t" = http ] && dict=tests/fuzz/http.dict
    echo "== fuzz_$t for ${secs}s"
    "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -max_len=8192 \
        -close_fd_mask=2 -print_final_stats=1 -dict="$dict" \
        -artifact_prefix="$out/crashes/$t/" "$out/corpus/$t" "tests/fuzz/corpus/$t" \
        >"$out/$t.log" 2>&1
    rc=$?
    grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$out/$t.log" | tail -n 1
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$out/$t.log"
    echo "corpus: $(ls "$out/corpus/$t" | wc -l) files in $out/corpus/$t"
    if [ "$rc" -ne 0 ] || ls "$out/crashes/$t" | grep -q .; then
        echo "fuzz_$t: CRASH, see $out/$t.log and $out/crashes/$t/"
        found=1
    fi
done
exit "$found"
