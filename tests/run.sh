#!/bin/sh
# run.sh — run Criterion test binaries one after another and sum them up.
# Each binary prints its own "Synthesis:" line; the last line here is the
# plain "N passed, N failed" total that CI reads.
#
# Sanitized builds (make test-asan) run with the options below: every
# report stops the process. Criterion counts a test as passed when only its
# exit (LeakSanitizer) fails afterwards, and kobled's reports land in its log
# (tests/harness.c copies them to the test's stderr), so any report in a
# binary's output fails the run here. The options do nothing to
# unsanitized binaries.
set -u
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:exitcode=86:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=0:exitcode=86:print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-exitcode=86}"
report='ERROR: [A-Za-z]*Sanitizer|runtime error: |SUMMARY: [A-Za-z]*Sanitizer'
passed=0 failed=0 broken=0 reports=0
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
    n=$(printf '%s\n' "$out" | grep -cE "$report")
    if [ "$n" -gt 0 ]; then
        reports=$((reports + n))
        echo "-- sanitizer reports in $t:"
        printf '%s\n' "$out" | grep -E -A 30 "$report" | head -n 300
    fi
done
echo
[ "$reports" -eq 0 ] || echo "sanitizer report lines: $reports"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$reports" -eq 0 ]
