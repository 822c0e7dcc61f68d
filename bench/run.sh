#!/bin/sh
# run.sh — `make bench`: the in-process matching benchmark at 100k and 1M
# volunteers. Figures go to stdout and to bench/results/match-bench.txt.
set -eu
mkdir -p bench/results
build/bench/match-bench "$@" | tee bench/results/match-bench.txt
