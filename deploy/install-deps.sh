#!/bin/sh
# install-deps.sh — install the Debian 12 packages koble needs to build,
# run and test. Installs only what is missing, so it is cheap to call from
# every `make run` and `make test`. Needs root (or sudo) when something is
# missing; does nothing otherwise.
#
#   install-deps.sh          what `make`, `make test` and `make run` need
#   install-deps.sh --bench  also the baselines and plots of `make bench`
#   install-deps.sh --fuzz   also clang and its runtime for `make fuzz`
set -eu

# Build and link: the six libraries DESIGN.md names, libsodium for token
# hashes (SHA-256, constant-time comparison), plus the toolchain.
BUILD="build-essential pkg-config libuv1-dev libhiredis-dev libjansson-dev
libxxhash-dev libcriterion-dev libhttp-parser-dev libsodium-dev"
# Run and test: a real Redis for the integration tests and `make run`
# (redis-server depends on redis-tools, which brings redis-cli), curl for
# the demo, python3-jsonschema to check responses against proto/.
# python3-scipy is the independent LP solver the assignment tests compare with.
RUN="redis-server curl python3 python3-jsonschema python3-yaml python3-scipy"
# Benchmarks: PostgreSQL + PostGIS (with pgbench) as a baseline, gnuplot
# for the plots, redis-benchmark from redis-tools.
BENCH="postgresql-15 postgresql-15-postgis-3 gnuplot-nox redis-tools"
# Fuzzing: libFuzzer lives in clang's runtime.
FUZZ="clang-14 libclang-rt-14-dev"

want="$BUILD $RUN"
for arg in "$@"; do
    case $arg in
    --bench) want="$want $BENCH" ;;
    --fuzz) want="$want $FUZZ" ;;
    *) echo "install-deps: unknown option $arg (use --bench or --fuzz)" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
