#!/bin/sh
# run.sh — run Criterion test binaries one after another and sum them up.
# Each binary prints its own "Synthesis:" line; the last line here is the
# plain "N passed, N failed" total that CI reads.
set -u
passed=0 failed=0 broken=0
for t in "$@"; do
    echo "== $t"
    out=$("$t" --jobs 2 2>&1); rc=$?
    printf '%s\n' "$out" | grep -v '^\[----\]' | tail -n 25
    line=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -n 1)
    p=$(printf '%s' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    c=$(printf '%s' "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${c:-0}))
    if [ -z "$line" ] || [ "$rc" -ne 0 ]; then broken=$((broken + 1)); fi
done
echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ]
